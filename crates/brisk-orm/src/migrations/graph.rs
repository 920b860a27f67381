//! The migration graph: migrations ordered by their dependencies, with the errors a set of
//! files can have (a missing dependency, a cycle, two heads in one app).

use std::collections::{BTreeMap, BTreeSet};

use super::file::Migration;
use super::state::ProjectState;

/// A set of migration files that cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// A dependency names a migration that does not exist.
    MissingDependency {
        /// The file that names it.
        file: String,
        /// The missing `app/name`.
        dependency: String,
    },
    /// Migrations depend on each other in a circle.
    Cycle {
        /// The circle, `app/name` each, the first repeated at the end.
        path: Vec<String>,
    },
    /// Two migrations of one app that nothing depends on: they must be merged or one must
    /// depend on the other.
    Conflict {
        /// The app.
        app: String,
        /// The two (or more) heads.
        heads: Vec<String>,
    },
    /// Replaying the operations failed: a file does something its state does not allow.
    State {
        /// The file.
        file: String,
        /// Which operation (from 1).
        operation: usize,
        /// Why.
        message: String,
    },
    /// A migration a library crate ships (brisk-auth's) does not parse.
    Shipped(String),
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphError::MissingDependency { file, dependency } => {
                write!(f, "{file} depends on {dependency}, which does not exist")
            }
            GraphError::Cycle { path } => {
                write!(f, "migrations depend on each other in a circle: {}", path.join(" -> "))
            }
            GraphError::Conflict { app, heads } => write!(
                f,
                "the app {app} has {} latest migrations ({}): make one depend on the other",
                heads.len(),
                heads.join(", ")
            ),
            GraphError::State { file, operation, message } => {
                write!(f, "{file}, operation {operation}: {message}")
            }
            GraphError::Shipped(message) => write!(f, "a migration shipped with a library: {message}"),
        }
    }
}

impl std::error::Error for GraphError {}

/// Migrations ordered so that each comes after everything it depends on.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// By `app/name`.
    nodes: BTreeMap<String, Migration>,
    /// Every migration, in an order that honours the dependencies (ties by app, then name).
    order: Vec<String>,
}

impl Graph {
    /// Orders `migrations` with those the linked library crates ship (brisk-auth's: see
    /// [`ship_migrations!`](crate::ship_migrations)), or says why they cannot be. A shipped
    /// migration that `migrations` has too is taken from `migrations`.
    pub fn new(migrations: Vec<Migration>) -> Result<Graph, GraphError> {
        let mut nodes: BTreeMap<String, Migration> = migrations.into_iter().map(|m| (m.key(), m)).collect();
        for m in super::shipped::shipped().map_err(|e| GraphError::Shipped(e.to_string()))? {
            nodes.entry(m.key()).or_insert(m);
        }
        for m in nodes.values() {
            for dep in &m.dependencies {
                if !nodes.contains_key(dep) {
                    return Err(GraphError::MissingDependency { file: m.path(), dependency: dep.clone() });
                }
            }
        }
        // Depth-first, each node after its dependencies; a node met again while on the
        // stack closes a cycle.
        let mut order = Vec::new();
        let mut done = BTreeSet::new();
        for key in nodes.keys() {
            let mut stack = Vec::new();
            visit(&nodes, key, &mut done, &mut stack, &mut order)?;
        }
        let graph = Graph { nodes, order };
        graph.check_heads()?;
        Ok(graph)
    }

    fn check_heads(&self) -> Result<(), GraphError> {
        let depended: BTreeSet<&String> = self.nodes.values().flat_map(|m| m.dependencies.iter()).collect();
        let mut heads: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (key, m) in &self.nodes {
            if !depended.contains(key) {
                heads.entry(&m.app).or_default().push(key.clone());
            }
        }
        match heads.into_iter().find(|(_, h)| h.len() > 1) {
            Some((app, heads)) => Err(GraphError::Conflict { app: app.to_owned(), heads }),
            None => Ok(()),
        }
    }

    /// Every migration in dependency order.
    pub fn ordered(&self) -> impl Iterator<Item = &Migration> {
        self.order.iter().filter_map(|k| self.nodes.get(k))
    }

    /// The migration `app/name`.
    pub fn get(&self, key: &str) -> Option<&Migration> {
        self.nodes.get(key)
    }

    /// The latest migration of `app`, if it has any.
    pub fn head(&self, app: &str) -> Option<&Migration> {
        self.ordered().filter(|m| m.app == app).last()
    }

    /// The state after every migration: what the database holds once all are applied.
    pub fn state(&self) -> Result<ProjectState, GraphError> {
        self.state_until(|_| true)
    }

    /// The state after the migrations `applied` accepts, replayed in order.
    pub fn state_until(&self, applied: impl Fn(&Migration) -> bool) -> Result<ProjectState, GraphError> {
        let mut state = ProjectState::default();
        for m in self.ordered().filter(|m| applied(m)) {
            for (i, op) in m.operations.iter().enumerate() {
                op.state_forwards(&mut state).map_err(|e| GraphError::State {
                    file: m.path(),
                    operation: i + 1,
                    message: e.0,
                })?;
            }
        }
        Ok(state)
    }
}

fn visit(
    nodes: &BTreeMap<String, Migration>,
    key: &str,
    done: &mut BTreeSet<String>,
    stack: &mut Vec<String>,
    order: &mut Vec<String>,
) -> Result<(), GraphError> {
    if done.contains(key) {
        return Ok(());
    }
    if let Some(at) = stack.iter().position(|k| k == key) {
        let mut path: Vec<String> = stack[at..].to_vec();
        path.push(key.to_owned());
        return Err(GraphError::Cycle { path });
    }
    stack.push(key.to_owned());
    if let Some(m) = nodes.get(key) {
        let mut deps = m.dependencies.clone();
        deps.sort();
        for dep in deps {
            visit(nodes, &dep, done, stack, order)?;
        }
    }
    stack.pop();
    done.insert(key.to_owned());
    order.push(key.to_owned());
    Ok(())
}
