//! [`Patch<M>`]: a partial update of a model as a request body (HTTP PATCH), with no second
//! struct to write: any subset of the model's fields, checked by the model's own types and
//! rules when applied, with FastAPI's 422 for what is wrong.

use std::marker::PhantomData;

use brisk::error::{Loc, ValidationError};
use brisk::extract::{FromRequest, Request, RequestContext};
use brisk::openapi::{DescribeInput, DocContext, Operation};
use brisk::{Json, Validate};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::Model;

/// The fields of `M` a client sent to change (FastAPI's `Model.model_dump(exclude_unset=True)`
/// pattern, without the second, all-optional class).
///
/// ```ignore
/// async fn patch_item(db: Db, Path(p): Path<ItemPath>, patch: Patch<Item>) -> Result<Json<Item>> {
///     let mut item = Item::objects().filter(Item::id().eq(p.item_id)).get_or_404(&db).await?;
///     patch.apply(&mut item)?; // 422 when a sent field breaks the model's types or rules
///     item.update(&db).await?;
///     Ok(Json(item))
/// }
/// ```
///
/// In the OpenAPI document its body is the model's schema with no required field. The body
/// must be a JSON object (else 422); fields the model does not have are ignored, as in a full
/// body; the primary key cannot be changed by a patch.
pub struct Patch<M> {
    fields: Map<String, Value>,
    _model: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for Patch<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Patch").field(&self.fields).finish()
    }
}

impl<M> Patch<M>
where
    M: Model + Serialize + DeserializeOwned + JsonSchema + Validate,
{
    /// A patch of these fields (for tests, or a patch built in code).
    pub fn new(fields: Map<String, Value>) -> Self {
        Patch { fields, _model: PhantomData }
    }

    /// The names of the fields sent.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// Changes the sent fields of `row`; nothing changes when any of them is invalid (422,
    /// every error listed, located in the body as the client sent it).
    pub fn apply(&self, row: &mut M) -> Result<(), brisk::Error> {
        let mut merged = match serde_json::to_value(&*row) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(brisk::Error::internal("a model must serialise as a JSON object")),
            Err(e) => return Err(brisk::Error::internal(e)),
        };
        let pk = M::META.primary_key().name;
        let kept = merged.get(pk).cloned();
        for (name, value) in &self.fields {
            merged.insert(name.clone(), value.clone());
        }
        if let Some(kept) = kept {
            merged.insert(pk.to_owned(), kept);
        }
        let bytes = serde_json::to_vec(&merged).map_err(brisk::Error::internal)?;
        let mut updated: M = brisk::validation::validate_json(&bytes)?;
        // Relations and links the JSON does not carry (loaded rows) are not part of a patch.
        std::mem::swap(row, &mut updated);
        Ok(())
    }
}

impl<M: Send + 'static> FromRequest for Patch<M> {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, brisk::Error> {
        match Json::<Value>::from_request(req, cx).await? {
            Json(Value::Object(fields)) => Ok(Patch { fields, _model: PhantomData }),
            Json(other) => Err(brisk::Error::validation(vec![ValidationError::new(
                "model_attributes_type",
                Loc::root("body"),
                "Input should be a valid dictionary or object to extract fields from",
                other,
            )])),
        }
    }
}

impl<M: JsonSchema + Validate> DescribeInput for Patch<M> {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        let schema = cx.partial_input_schema::<M>();
        let mut body = Operation::default();
        <Json<Value> as DescribeInput>::describe_input(cx, &mut body);
        if let Some(mut request_body) = body.request_body {
            if let Some(media) =
                request_body.content.get_mut("application/json").and_then(Value::as_object_mut)
            {
                media.insert("schema".into(), schema);
            }
            op.request_body = Some(request_body);
        }
    }
}
