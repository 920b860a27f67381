//! The items contract (`examples/showcase/CONTRACT.md`) as plain serde types, the `ItemIn`
//! rules checked by hand, and the same in-memory store as the showcase's
//! (`RwLock<BTreeMap>`, ids from 1 up). The Rust peers share it so that they all do the same
//! work per request as brisk; only the framework around it differs.

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

/// The body of `GET /json`.
#[derive(Serialize)]
pub struct Message {
    pub message: &'static str,
}

/// What `GET /json` answers.
pub const HELLO: Message = Message { message: "Hello, World!" };

/// An item as clients send it. Unknown fields are ignored.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ItemIn {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub price: f64,
    #[serde(default)]
    pub tax: Option<f64>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// An item as the server returns it: the input plus its id.
#[derive(Debug, Clone, Serialize)]
pub struct ItemOut {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub price: f64,
    pub tax: Option<f64>,
    pub tags: Vec<String>,
}

impl ItemOut {
    fn new(id: u64, item: ItemIn) -> Self {
        ItemOut {
            id,
            name: item.name,
            description: item.description,
            price: item.price,
            tax: item.tax,
            tags: item.tags,
        }
    }
}

/// One broken rule: the field and a sentence.
#[derive(Debug, Serialize)]
pub struct FieldError {
    pub loc: [&'static str; 2],
    pub msg: &'static str,
}

/// The body of a validation failure, FastAPI-like: `{"detail":[...]}`.
#[derive(Debug, Serialize)]
pub struct ValidationErrors {
    pub detail: Vec<FieldError>,
}

impl ItemIn {
    /// Checks the contract's rules; every broken rule is listed.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut detail = Vec::new();
        let mut fail = |field, msg| detail.push(FieldError { loc: ["body", field], msg });
        let name_len = self.name.chars().count();
        if name_len < 1 {
            fail("name", "String should have at least 1 character");
        }
        if name_len > 100 {
            fail("name", "String should have at most 100 characters");
        }
        if self.description.as_ref().is_some_and(|d| d.chars().count() > 1000) {
            fail("description", "String should have at most 1000 characters");
        }
        if !self.price.is_finite() {
            fail("price", "Input should be a finite number");
        } else if self.price <= 0.0 {
            fail("price", "Input should be greater than 0");
        }
        if let Some(tax) = self.tax {
            if !tax.is_finite() {
                fail("tax", "Input should be a finite number");
            } else if tax < 0.0 {
                fail("tax", "Input should be greater than or equal to 0");
            }
        }
        if self.tags.len() > 10 {
            fail("tags", "List should have at most 10 items");
        }
        if detail.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors { detail })
        }
    }
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    items: BTreeMap<u64, ItemIn>,
}

/// The items, ordered by id; ids are assigned from 1 up.
#[derive(Default)]
pub struct Store(RwLock<Inner>);

impl Store {
    /// Stores a new item and returns it with its id.
    pub fn create(&self, item: ItemIn) -> ItemOut {
        let mut inner = self.0.write().unwrap_or_else(|p| p.into_inner());
        inner.next_id += 1;
        let id = inner.next_id;
        inner.items.insert(id, item.clone());
        ItemOut::new(id, item)
    }

    /// The item `id`.
    pub fn get(&self, id: u64) -> Option<ItemOut> {
        let inner = self.0.read().unwrap_or_else(|p| p.into_inner());
        inner.items.get(&id).map(|item| ItemOut::new(id, item.clone()))
    }
}

/// `HOST:PORT` from the environment, as the showcase reads them (defaults 127.0.0.1:8000).
pub fn listen_addr() -> String {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, price: f64) -> ItemIn {
        ItemIn { name: name.into(), description: None, price, tax: None, tags: vec![] }
    }

    #[test]
    fn rules() {
        assert!(item("a", 1.0).validate().is_ok());
        assert_eq!(item("", 0.0).validate().unwrap_err().detail.len(), 2);
        assert!(item(&"x".repeat(101), 1.0).validate().is_err());
        assert!(item("a", f64::INFINITY).validate().is_err());
        let mut tagged = item("a", 1.0);
        tagged.tags = vec![String::new(); 11];
        assert!(tagged.validate().is_err());
    }

    #[test]
    fn store_assigns_ids_from_one() {
        let store = Store::default();
        assert_eq!(store.create(item("a", 1.0)).id, 1);
        assert_eq!(store.create(item("b", 1.0)).id, 2);
        assert_eq!(store.get(2).unwrap().name, "b");
        assert!(store.get(3).is_none());
    }
}
