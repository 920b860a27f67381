//! The next migration of an app (what `makemigrations` writes), and migration files on disk.

use std::path::{Path, PathBuf};

use super::autodetect::{detect, Questioner};
use super::file::{FileError, Migration};
use super::graph::Graph;
use super::operation::Operation;
use super::state::ProjectState;
use crate::error::Error;

/// The migration that takes `app` from what `graph` builds to what `declared` says, named
/// `0001_initial` or `NNNN_auto`, depending on the app's latest migration and on the latest of
/// every other app its foreign keys reach; `None` when nothing changed.
pub fn next_migration(
    graph: &Graph,
    declared: &ProjectState,
    app: &str,
    ask: &mut dyn Questioner,
) -> Result<Option<Migration>, Error> {
    let built = graph.state().map_err(|e| Error::Config(e.to_string()))?;
    let operations = detect(&built, declared, app, ask)?;
    if operations.is_empty() {
        return Ok(None);
    }
    let head = graph.head(app);
    let number = head.and_then(|m| m.name.get(..4)).and_then(|n| n.parse::<u32>().ok()).map_or(1, |n| n + 1);
    let name = if number == 1 { "0001_initial".to_owned() } else { format!("{number:04}_auto") };
    let mut dependencies: Vec<String> = head.map(Migration::key).into_iter().collect();
    for other in referenced_apps(&operations) {
        if other != app {
            if let Some(m) = graph.head(&other) {
                if !dependencies.contains(&m.key()) {
                    dependencies.push(m.key());
                }
            }
        }
    }
    Ok(Some(Migration { app: app.to_owned(), name, dependencies, operations }))
}

/// An empty next migration of `app` (`NNNN_data`), after its latest, for operations written
/// by hand: a `RunRust` data migration, a `RunSql` (`makemigrations --empty APP`).
pub fn empty_migration(graph: &Graph, app: &str) -> Migration {
    let head = graph.head(app);
    let number = head.and_then(|m| m.name.get(..4)).and_then(|n| n.parse::<u32>().ok()).map_or(1, |n| n + 1);
    Migration {
        app: app.to_owned(),
        name: format!("{number:04}_data"),
        dependencies: head.map(Migration::key).into_iter().collect(),
        operations: Vec::new(),
    }
}

/// The apps whose models these operations point at.
fn referenced_apps(ops: &[Operation]) -> Vec<String> {
    let app_of = |label: &str| label.split_once('.').map(|(a, _)| a.to_owned());
    let mut apps = Vec::new();
    let mut add = |label: &str| {
        if let Some(app) = app_of(label) {
            if !apps.contains(&app) {
                apps.push(app);
            }
        }
    };
    for op in ops {
        match op {
            Operation::CreateModel { model } => {
                model.fields.iter().filter_map(|f| f.references.as_deref()).for_each(&mut add)
            }
            Operation::AddField { field, .. } | Operation::AlterField { field, .. } => {
                field.references.as_deref().into_iter().for_each(&mut add)
            }
            Operation::AddManyToMany { field, .. } => add(&field.to),
            _ => {}
        }
    }
    apps
}

/// Writes `migration` under `root` (`root/migrations/<app>/<name>.toml`); returns the path.
pub fn write(root: &Path, migration: &Migration) -> std::io::Result<PathBuf> {
    let dir = root.join("migrations").join(&migration.app);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.toml", migration.name));
    std::fs::write(&path, migration.to_toml())?;
    Ok(path)
}

/// Every migration under `root/migrations/<app>/*.toml`.
pub fn load(root: &Path) -> Result<Vec<Migration>, FileError> {
    let io = |file: &Path, e: std::io::Error| FileError {
        file: file.display().to_string(),
        message: e.to_string(),
    };
    let base = root.join("migrations");
    let mut out = Vec::new();
    let apps = match std::fs::read_dir(&base) {
        Ok(apps) => apps,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(&base, e)),
    };
    for app in apps {
        let app = app.map_err(|e| io(&base, e))?.path();
        let Some(label) = app.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
        if !app.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&app).map_err(|e| io(&app, e))? {
            let path = file.map_err(|e| io(&app, e))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".toml"))
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            out.push(Migration::parse(&label, name, &text)?);
        }
    }
    out.sort_by_key(Migration::key);
    Ok(out)
}

/// Parses migrations embedded in the binary as `(app, name, text)`, sorted as [`load`] sorts
/// them. `embedded_migrations!()` calls it on what `brisk_build::embed_migrations` embedded.
pub fn parse_embedded(files: &[(&str, &str, &str)]) -> Result<Vec<Migration>, FileError> {
    let mut out = files
        .iter()
        .map(|(app, name, text)| Migration::parse(app, name, text))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(Migration::key);
    Ok(out)
}
