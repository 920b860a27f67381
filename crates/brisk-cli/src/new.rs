//! `brisk new PATH`: a new project from the embedded templates, in a folder that does not
//! exist yet (or is empty). The project is named after the folder.

use std::fs;
use std::path::{Path, PathBuf};

use crate::failure::Failure;
use crate::templates::{render, BriskSource, Values, TEMPLATES};

/// What `brisk new` was asked for.
pub struct NewProject {
    /// The folder to create; its last part is the project's name.
    pub path: PathBuf,
    /// A local brisk checkout to depend on instead of the published crates.
    pub brisk_path: Option<PathBuf>,
}

/// Writes the project and says what to do next on `out`.
pub fn run(request: &NewProject, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let name = project_name(&request.path)?;
    let krate = crate_name(&name)?;
    let source = match &request.brisk_path {
        Some(dir) => BriskSource::Checkout(checkout(dir)?),
        None => BriskSource::Published,
    };
    let created = prepare_folder(&request.path)?;
    let values = Values { name: name.clone(), krate, source };
    if let Err(e) = write_files(&request.path, &values) {
        if created {
            let _ = fs::remove_dir_all(&request.path);
        }
        return Err(e);
    }
    let from = match &values.source {
        BriskSource::Published => format!("brisk {} from crates.io", crate::templates::PUBLISHED_VERSION),
        BriskSource::Checkout(root) => format!("brisk from {}", root.display()),
    };
    let shown = request.path.display();
    let _ = writeln!(
        out,
        "Created {name} ({from}) in {shown}\n\nNext:\n    cd {shown}\n    cargo run     # serves on \
         http://127.0.0.1:8000, docs at /docs\n    cargo test\n    brisk dev     # serves, and \
         rebuilds and restarts on every change"
    );
    Ok(())
}

/// The project's name: the folder's last part (`.` means the working directory's name).
fn project_name(path: &Path) -> Result<String, Failure> {
    let named = match path.file_name() {
        Some(name) => Some(name.to_owned()),
        None => fs::canonicalize(path).ok().and_then(|p| p.file_name().map(|n| n.to_owned())),
    };
    let Some(name) = named else {
        return Err(Failure::usage(format!(
            "cannot name a project after {}: give the new folder's path, `brisk new my-site`",
            path.display()
        )));
    };
    name.into_string().map_err(|n| {
        Failure::usage(format!("{n:?} cannot be a project name: use letters, digits, `-` and `_`"))
    })
}

/// Crates a new project's package names may not take: Rust's own crates, the folders of
/// cargo's target directory, and the project's dependencies (a package cannot depend on a
/// crate of its own name).
const RESERVED: &[&str] = &[
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
    "brisk",
    "brisk_orm",
    "brisk_build",
    "brisk_cli",
    "serde",
    "serde_json",
    "schemars",
    "tokio",
];

/// Rust's keywords, which cannot name a crate.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static",
    "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual",
    "where", "while", "yield",
];

/// The crate name (`my_site`) of package `name` (`my-site`), which is also the app label of
/// its models and the prefix of their tables; a sentence when cargo or Rust would refuse it.
pub fn crate_name(name: &str) -> Result<String, Failure> {
    let refuse = |why: &str| Failure::usage(format!("`{name}` cannot be a project name: {why}"));
    if name.is_empty() {
        return Err(refuse("it is empty"));
    }
    if name.len() > 64 {
        return Err(refuse("it is longer than 64 characters"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(refuse(&format!("`{c}` is not allowed; use letters, digits, `-` and `_`")));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(refuse("it must start with a letter"));
    }
    let krate = name.replace('-', "_");
    if KEYWORDS.contains(&krate.as_str()) {
        return Err(refuse("it is a Rust keyword; choose another name"));
    }
    if RESERVED.contains(&krate.as_str()) {
        return Err(refuse(
            "a crate of that name is already in every project (Rust's, or a dependency); choose another name",
        ));
    }
    Ok(krate)
}

/// The absolute root of the brisk checkout `dir`, checked to hold the three crates.
fn checkout(dir: &Path) -> Result<PathBuf, Failure> {
    let root = fs::canonicalize(dir).map_err(|e| {
        Failure::usage(format!("--brisk-path {}: {e}; give the folder of a brisk checkout", dir.display()))
    })?;
    for krate in ["brisk", "brisk-orm", "brisk-build"] {
        if !root.join("crates").join(krate).join("Cargo.toml").is_file() {
            return Err(Failure::usage(format!(
                "--brisk-path {} is not a brisk checkout: it has no crates/{krate}/Cargo.toml",
                dir.display()
            )));
        }
    }
    Ok(root)
}

/// Makes sure `path` can take the project: it does not exist (then it is created: `true`) or
/// is an empty folder (`false`).
fn prepare_folder(path: &Path) -> Result<bool, Failure> {
    match fs::read_dir(path) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Failure::failed(format!(
                    "{} already exists and is not empty: choose another name, or empty it first",
                    path.display()
                )));
            }
            Ok(false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(path)
                .map_err(|e| Failure::failed(format!("cannot create {}: {e}", path.display())))?;
            Ok(true)
        }
        Err(_) if path.exists() => Err(Failure::failed(format!(
            "{} already exists and is not a folder: choose another name",
            path.display()
        ))),
        Err(e) => Err(Failure::failed(format!("cannot read {}: {e}", path.display()))),
    }
}

fn write_files(root: &Path, values: &Values) -> Result<(), Failure> {
    for template in TEMPLATES {
        let file = root.join(render(template.path, values));
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| Failure::failed(format!("cannot create {}: {e}", parent.display())))?;
        }
        fs::write(&file, render(template.text, values))
            .map_err(|e| Failure::failed(format!("cannot write {}: {e}", file.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(name: &str) -> String {
        match crate_name(name) {
            Ok(k) => panic!("{name} accepted as {k}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn names_become_crate_names() {
        assert_eq!(crate_name("my-site").unwrap(), "my_site");
        assert_eq!(crate_name("blog2").unwrap(), "blog2");
        assert_eq!(crate_name("Notes_App").unwrap(), "Notes_App");
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        assert_eq!(refused("2fast"), "`2fast` cannot be a project name: it must start with a letter");
        assert!(refused("my site").contains("` ` is not allowed"));
        assert!(refused("café").contains("`é` is not allowed"));
        assert!(refused("fn").contains("Rust keyword"));
        assert!(refused("brisk-orm").contains("already in every project"));
        assert!(refused("test").contains("already in every project"));
        assert!(refused(&"a".repeat(65)).contains("longer than 64"));
    }

    #[test]
    fn an_occupied_folder_is_refused_and_left_alone() {
        let dir = std::env::temp_dir().join(format!("brisk-new-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        assert!(!prepare_folder(&dir).unwrap(), "an empty folder is used as it is");
        fs::write(dir.join("keep.txt"), "mine").unwrap();
        let e = prepare_folder(&dir).unwrap_err();
        assert!(e.message.contains("already exists and is not empty"), "{}", e.message);
        let e = prepare_folder(&dir.join("keep.txt")).unwrap_err();
        assert!(e.message.contains("is not a folder"), "{}", e.message);
        assert_eq!(fs::read_to_string(dir.join("keep.txt")).unwrap(), "mine");
        fs::remove_dir_all(&dir).unwrap();
    }
}
