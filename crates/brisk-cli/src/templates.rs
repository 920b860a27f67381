//! The files `brisk new` writes, embedded in the binary (no network, no template engine):
//! `templates/*.tmpl` with `{{name}}` (the package), `{{crate}}` (its crate name and app
//! label) and the three brisk dependencies' sources filled in.

/// A file of the new project: where it goes (relative to the project) and its template.
pub struct Template {
    /// The path in the project, `/`-separated.
    pub path: &'static str,
    /// The text, with `{{...}}` placeholders.
    pub text: &'static str,
}

/// Every file of a new project. The migration's folder is the app label, filled in like the
/// text.
pub const TEMPLATES: &[Template] = &[
    Template { path: "Cargo.toml", text: include_str!("../templates/Cargo.toml.tmpl") },
    Template { path: "build.rs", text: include_str!("../templates/build.rs.tmpl") },
    Template { path: "src/main.rs", text: include_str!("../templates/main.rs.tmpl") },
    Template { path: "src/lib.rs", text: include_str!("../templates/lib.rs.tmpl") },
    Template { path: "src/models.rs", text: include_str!("../templates/models.rs.tmpl") },
    Template {
        path: "migrations/{{crate}}/0001_initial.toml",
        text: include_str!("../templates/0001_initial.toml.tmpl"),
    },
    Template { path: "tests/api.rs", text: include_str!("../templates/api_test.rs.tmpl") },
    Template { path: "tests/migrations.rs", text: include_str!("../templates/migrations_test.rs.tmpl") },
    Template { path: "README.md", text: include_str!("../templates/README.md.tmpl") },
    Template { path: ".gitignore", text: include_str!("../templates/gitignore.tmpl") },
    Template { path: "rustfmt.toml", text: include_str!("../templates/rustfmt.toml.tmpl") },
];

/// Where the project's brisk crates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BriskSource {
    /// The published version on crates.io.
    Published,
    /// A local checkout of the brisk repository (its root folder, absolute).
    Checkout(std::path::PathBuf),
}

/// The published version a new project asks for.
pub const PUBLISHED_VERSION: &str = "0.1";

impl BriskSource {
    /// The inside of the dependency's inline table for crate `krate` (`brisk`, `brisk-orm`,
    /// `brisk-build`): `version = "0.1"` or `path = "/.../crates/brisk"`.
    pub fn dependency(&self, krate: &str) -> String {
        match self {
            BriskSource::Published => format!("version = {}", toml_string(PUBLISHED_VERSION)),
            BriskSource::Checkout(root) => {
                let path = root.join("crates").join(krate);
                format!("path = {}", toml_string(&path.to_string_lossy()))
            }
        }
    }
}

/// The values of the placeholders.
pub struct Values {
    /// The package's name (`my-site`).
    pub name: String,
    /// Its crate name, which is also the app label of its models (`my_site`).
    pub krate: String,
    /// Where brisk comes from.
    pub source: BriskSource,
}

/// `text` with every placeholder replaced.
pub fn render(text: &str, values: &Values) -> String {
    text.replace("{{name}}", &values.name)
        .replace("{{crate}}", &values.krate)
        .replace("{{brisk}}", &values.source.dependency("brisk"))
        .replace("{{brisk_orm}}", &values.source.dependency("brisk-orm"))
        .replace("{{brisk_build}}", &values.source.dependency("brisk-build"))
}

/// A TOML basic string: quoted, with `"`, `\` and control characters escaped (a Windows
/// path, a folder with a quote in its name).
pub fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(source: BriskSource) -> Values {
        Values { name: "my-site".into(), krate: "my_site".into(), source }
    }

    #[test]
    fn every_placeholder_is_known() {
        let values = values(BriskSource::Published);
        for t in TEMPLATES {
            let rendered = render(t.text, &values);
            assert!(!rendered.contains("{{"), "{} keeps a placeholder:\n{rendered}", t.path);
            assert!(!render(t.path, &values).contains("{{"), "{}", t.path);
        }
    }

    #[test]
    fn dependencies_name_a_version_or_a_checkout() {
        let published = render(TEMPLATES[0].text, &values(BriskSource::Published));
        assert!(published.contains(r#"brisk = { version = "0.1", features = ["cli"] }"#), "{published}");
        assert!(published.contains(r#"brisk-build = { version = "0.1" }"#), "{published}");
        let local = values(BriskSource::Checkout("/src/brisk".into()));
        let local = render(TEMPLATES[0].text, &local);
        assert!(local.contains(r#"brisk-orm = { path = "/src/brisk/crates/brisk-orm" }"#), "{local}");
        assert!(local.contains(r#"name = "my-site""#), "{local}");
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string(r#"C:\src\"x""#), r#""C:\\src\\\"x\"""#);
        assert_eq!(toml_string("a\u{1}b"), r#""a\u0001b""#);
    }
}
