//! Migrations, the foundation: the project state (what the database holds, as data), the
//! operations and their effect on it, the TOML files they are written in, and the graph that
//! orders them. The change detector, the executor and the `makemigrations` / `migrate`
//! commands are built on these; until they are, `Database::create_tables` makes the tables.

pub mod ddl;
pub mod executor;
pub mod file;
pub mod graph;
pub mod operation;
pub mod state;

pub use ddl::{steps, Fill, Step};
pub use executor::{Applied, Migrator};
pub use file::{FileError, Migration};
pub use graph::{Graph, GraphError};
pub use operation::{Operation, StateError};
pub use state::{Constraint, FieldState, ManyToManyState, ModelState, ProjectState};

#[cfg(test)]
mod tests;
