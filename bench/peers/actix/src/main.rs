//! The items endpoints on actix-web 4, the way actix's docs teach: `#[get]`/`#[post]` handlers
//! with `web::Data`, `web::Path` and `web::Json` extractors, an `HttpServer` with one worker
//! (`workers(1)`: one single-threaded runtime serving requests). No `Logger` middleware, so no
//! access log. actix-web answers 400 for bad input by convention, and so do these handlers.

use actix_web::{get, post, web, App, HttpResponse, HttpServer, Responder};
use items::{ItemIn, Store};
use serde_json::json;

#[get("/plaintext")]
async fn plaintext() -> impl Responder {
    HttpResponse::Ok().content_type("text/plain").body("Hello, World!")
}

#[get("/json")]
async fn hello_json() -> impl Responder {
    web::Json(items::HELLO)
}

#[post("/items")]
async fn create_item(store: web::Data<Store>, item: web::Json<ItemIn>) -> HttpResponse {
    let item = item.into_inner();
    match item.validate() {
        Ok(()) => HttpResponse::Created().json(store.create(item)),
        Err(errors) => HttpResponse::BadRequest().json(errors),
    }
}

#[get("/items/{item_id}")]
async fn read_item(store: web::Data<Store>, item_id: web::Path<i64>) -> HttpResponse {
    let item_id = item_id.into_inner();
    if item_id <= 0 {
        return HttpResponse::BadRequest().json(json!({"detail": "item_id must be an integer greater than 0"}));
    }
    match store.get(item_id as u64) {
        Some(item) => HttpResponse::Ok().json(item),
        None => HttpResponse::NotFound().json(json!({"detail": "Item not found"})),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let store = web::Data::new(Store::default());
    HttpServer::new(move || {
        App::new()
            .app_data(store.clone())
            .service(plaintext)
            .service(hello_json)
            .service(create_item)
            .service(read_item)
    })
    .workers(1)
    .bind(items::listen_addr())?
    .run()
    .await
}
