//! Migrations, the foundation: the project state (what the database holds, as data), the
//! operations and their effect on it, the TOML files they are written in, and the graph that
//! orders them. The change detector, the executor and the `makemigrations` / `migrate`
//! commands are built on these; until they are, `Database::create_tables` makes the tables.

pub mod autodetect;
pub mod data;
pub mod ddl;
pub mod executor;
pub mod file;
pub mod graph;
pub mod operation;
pub mod shipped;
pub mod state;
pub mod writer;

pub use autodetect::{detect, NonInteractive, Questioner, Scripted};
pub use data::{DataFuture, DataMigration, DynRow, RustMigration};
pub use ddl::{steps, Fill, Step};
pub use executor::{Applied, Migrator};
pub use file::{FileError, Migration};
pub use graph::{Graph, GraphError};
pub use operation::{Operation, StateError};
pub use shipped::{shipped, HookFuture, PostMigrate, ShippedMigrations};
pub use state::{Constraint, FieldState, ManyToManyState, ModelState, ProjectState};
pub use writer::{empty_migration, load, next_migration, parse_embedded, write};

#[cfg(test)]
mod tests;
