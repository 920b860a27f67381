//! notes-web: server-rendered pages on brisk — Jinja templates with inheritance and a form
//! macro, a stylesheet from the static folder, sessions with flash messages, CSRF protection
//! on every form, validation errors shown beside the fields (a 422 page), and the notes kept
//! with brisk-orm (SQLite by default, `DATABASE_URL` for PostgreSQL).

pub mod models;

use brisk::extract::FormResult;
use brisk::prelude::*;
use brisk::routing::UrlFor;
use brisk::sessions::{Session, SessionConfig};
use brisk::static_files::StaticFiles;
use brisk::templates::{context, Template, Templates};
use brisk_orm::migrations::{Migration, Migrator};
use brisk_orm::prelude::*;

use models::{Note, NoteForm};

/// The folders of this example, wherever the binary runs from.
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

async fn home(url: UrlFor) -> Result<Redirect> {
    Ok(Redirect::to(url.path("notes.list", ())?))
}

async fn list(db: Db, tpl: Templates) -> Result<Template> {
    let notes = Note::objects().all(&db).await?;
    tpl.render("notes/list.html", context! { notes })
}

async fn new(tpl: Templates) -> Result<Template> {
    tpl.render("notes/new.html", context! { values => context! {}, errors => context! {} })
}

async fn create(
    db: Db,
    session: Session,
    url: UrlFor,
    tpl: Templates,
    form: FormResult<NoteForm>,
) -> Result<Response> {
    match form.into_inner() {
        Ok(form) => {
            let note = Note::objects().create(form.into_note(AutoId::default()), &db).await?;
            session.flash("success", "Note saved.");
            Ok(Redirect::to(url.path("notes.detail", [("id", note.id.value())])?).into_response())
        }
        Err(errors) => {
            let page = tpl.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "notes/new.html",
                context! { values => errors.values(), errors },
            )?;
            Ok(page.into_response())
        }
    }
}

async fn detail(db: Db, tpl: Templates, Path(id): Path<i64>) -> Result<Template> {
    let note = Note::objects().filter(Note::id().eq(id)).get_or_404(&db).await?;
    tpl.render("notes/detail.html", context! { note })
}

async fn edit(db: Db, tpl: Templates, Path(id): Path<i64>) -> Result<Template> {
    let note = Note::objects().filter(Note::id().eq(id)).get_or_404(&db).await?;
    tpl.render("notes/edit.html", context! { id, values => note, errors => context! {} })
}

async fn update(
    db: Db,
    session: Session,
    url: UrlFor,
    tpl: Templates,
    Path(id): Path<i64>,
    form: FormResult<NoteForm>,
) -> Result<Response> {
    let mut note = Note::objects().filter(Note::id().eq(id)).get_or_404(&db).await?.tracked();
    match form.into_inner() {
        Ok(form) => {
            note.title = form.title;
            note.body = form.body;
            note.save(&db).await?;
            session.flash("success", "Note updated.");
            Ok(Redirect::to(url.path("notes.detail", [("id", id)])?).into_response())
        }
        Err(errors) => {
            let page = tpl.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "notes/edit.html",
                context! { id, values => errors.values(), errors },
            )?;
            Ok(page.into_response())
        }
    }
}

async fn delete(db: Db, session: Session, url: UrlFor, Path(id): Path<i64>) -> Result<Redirect> {
    let note = Note::objects().filter(Note::id().eq(id)).get_or_404(&db).await?;
    note.delete(&db).await?;
    session.flash("success", format!("Deleted “{}”.", note.title));
    Ok(Redirect::to(url.path("notes.list", ())?))
}

/// The migrations under `migrations/`, embedded in the binary by `build.rs`.
pub fn migrations() -> Result<Vec<Migration>, String> {
    brisk_orm::embedded_migrations!().map_err(|e| e.to_string())
}

/// The app on `DATABASE_URL` (default `sqlite://notes.db`).
pub fn app() -> Result<App, String> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://notes.db".to_owned());
    app_with(Database::open(&url).map_err(|e| e.to_string())?)
}

/// The app on `db`: its pages, its static files, sessions (in the database) with CSRF
/// protection, and the migrations applied at start-up.
pub fn app_with(db: Database) -> Result<App, String> {
    let files = migrations()?;
    let migrator = Migrator::new(db.clone(), files.clone()).map_err(|e| e.to_string())?;
    let statics = StaticFiles::from_env(format!("{ROOT}/static")).map_err(|e| e.to_string())?;
    Ok(App::new()
        .title("notes-web")
        .route("/", get(home))
        .route("/notes", get(list).post(create).name("notes.list"))
        .route("/notes/new", get(new).name("notes.new"))
        .route("/notes/{id}", get(detail).name("notes.detail"))
        .route("/notes/{id}/edit", get(edit).post(update).name("notes.edit"))
        .route("/notes/{id}/delete", post(delete).name("notes.delete"))
        .templates(Templates::from_dir(format!("{ROOT}/templates")))
        .static_files("/static", statics)
        .install(db.clone())
        .install(brisk_orm::Migrations::new(db, files).source(ROOT))
        .sessions(SessionConfig::from_env())
        .on_startup(move || async move {
            migrator.migrate().await?;
            Ok(())
        }))
}
