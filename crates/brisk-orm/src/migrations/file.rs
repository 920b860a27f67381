//! Migration files: TOML, one per migration, `migrations/<app>/<NNNN>_<name>.toml`.
//!
//! TOML rather than JSON: a reviewer can leave `#` comments, RunSql reads as written inside
//! `'''` blocks, and a diff shows one key per line. The checksum is taken of the parsed
//! migration, so comments and spacing may change after a file is applied; its meaning may not.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::operation::Operation;

/// One migration: what it depends on and what it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Migration {
    /// Its app label (from its folder; not written in the file).
    #[serde(skip)]
    pub app: String,
    /// Its name (the file name without `.toml`; not written in the file).
    #[serde(skip)]
    pub name: String,
    /// Migrations to apply first: `"app/0001_initial"`.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// The operations, in order.
    #[serde(default)]
    pub operations: Vec<Operation>,
}

/// A file that cannot be read as a migration; the message names the file and, when it can,
/// the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file (`migrations/blog/0002_auto.toml`).
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for FileError {}

/// Whether `name` is a migration's name: four digits, `_`, then lowercase letters, digits and
/// `_` (`0002_add_views`).
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 5
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'_'
        && bytes[5..].iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

impl Migration {
    /// `app/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.app, self.name)
    }

    /// Where its file lives, relative to the project.
    pub fn path(&self) -> String {
        format!("migrations/{}/{}.toml", self.app, self.name)
    }

    /// Reads the migration `app/name` from its TOML text.
    pub fn parse(app: &str, name: &str, text: &str) -> Result<Migration, FileError> {
        let file = format!("migrations/{app}/{name}.toml");
        if !valid_name(name) {
            return Err(FileError {
                file,
                message: "a migration's name is four digits, _, then lowercase words (0002_add_views)".into(),
            });
        }
        let mut migration: Migration = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let message = e.message().trim_end().to_owned();
            FileError {
                file: file.clone(),
                message: match line {
                    Some(line) => format!("line {line}: {message}"),
                    None => message,
                },
            }
        })?;
        for dep in &migration.dependencies {
            if dep.split_once('/').is_none_or(|(a, n)| a.is_empty() || !valid_name(n)) {
                return Err(FileError {
                    file,
                    message: format!("the dependency {dep:?} is not \"app/NNNN_name\""),
                });
            }
        }
        migration.app = app.to_owned();
        migration.name = name.to_owned();
        Ok(migration)
    }

    /// The file's text.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!("# Written by brisk-orm's makemigrations. Once applied, change nothing but comments.\n{body}")
    }

    /// The SHA-256 of what the migration does (its parsed form), in hex: recorded when it is
    /// applied, compared on every run after.
    pub fn checksum(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&canonical).iter().map(|b| format!("{b:02x}")).collect()
    }
}
