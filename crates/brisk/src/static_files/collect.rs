//! `collectstatic`: every static file of the app and its batteries gathered into one folder,
//! each also under a content-hashed name, with a manifest and `.gz` / `.br` copies of what
//! compresses, so a release serves them with a year of caching and no compression work.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::manifest::{hashed_name, Manifest, MANIFEST};
use super::StaticFiles;

/// What [`collect`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// The folder.
    pub output: PathBuf,
    /// Files collected (each written twice: its name and its hashed name).
    pub files: usize,
    /// Compressed copies written (`.gz` and `.br`).
    pub compressed: usize,
}

/// Gathers `files` into `output`: the batteries' embedded files, then the app's folder (whose
/// files win at the same path), each under its own name and its hashed name, the manifest
/// `staticfiles.json`, and `.gz` / `.br` copies of text files that get smaller. Files already
/// in `output` are overwritten, others kept.
pub fn collect(files: &StaticFiles, output: &Path) -> std::io::Result<Collected> {
    let mut sources: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (namespace, list) in &files.inner().namespaces {
        for (name, bytes) in list.iter() {
            sources.insert(format!("{namespace}/{name}"), bytes.to_vec());
        }
    }
    if let Some(dir) = &files.inner().dir {
        if dir.is_dir() {
            let root = dir.canonicalize()?;
            walk(&root, &root, &mut sources)?;
        }
    }
    let mut manifest = Manifest::default();
    let mut compressed = 0;
    for (path, bytes) in &sources {
        let hashed = hashed_name(path, bytes);
        for name in [path.as_str(), hashed.as_str()] {
            let target = output.join(name);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, bytes)?;
            if compressible(path) && bytes.len() >= 256 {
                compressed += write_compressed(&target, bytes)?;
            }
        }
        manifest.paths.insert(path.clone(), hashed);
    }
    std::fs::create_dir_all(output)?;
    // Written last and renamed into place: a server never reads half a manifest.
    let text = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    let partial = output.join(format!("{MANIFEST}.partial"));
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, output.join(MANIFEST))?;
    Ok(Collected { output: output.to_owned(), files: sources.len(), compressed })
}

/// Every file under `dir`, by its path relative to `root`; symbolic links that lead out of
/// `root` are skipped.
fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Ok(real) = path.canonicalize() else { continue };
        if !real.starts_with(root) {
            continue;
        }
        if real.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let Some(relative) = relative.to_str() else { continue };
            out.insert(relative.replace('\\', "/"), std::fs::read(&real)?);
        }
    }
    Ok(())
}

/// Text worth compressing (images and fonts are compressed already).
fn compressible(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    matches!(
        ext.as_str(),
        "css" | "js" | "mjs" | "json" | "map" | "svg" | "html" | "txt" | "xml" | "wasm" | "ico"
    )
}

/// `target.gz` and `target.br` when smaller than `bytes`; how many were written.
fn write_compressed(target: &Path, bytes: &[u8]) -> std::io::Result<usize> {
    let mut written = 0;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    let gz = gz.finish()?;
    if gz.len() < bytes.len() {
        std::fs::write(with_suffix(target, "gz"), gz)?;
        written += 1;
    }
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut br, &params)?;
    if br.len() < bytes.len() {
        std::fs::write(with_suffix(target, "br"), br)?;
        written += 1;
    }
    Ok(written)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// The `collectstatic` management command.
#[cfg(feature = "cli")]
pub(crate) struct CollectStatic(pub(crate) StaticFiles);

#[cfg(feature = "cli")]
impl crate::cli::Command for CollectStatic {
    fn name(&self) -> &'static str {
        "collectstatic"
    }
    fn about(&self) -> &'static str {
        "Gathers the static files into one folder with hashed names, a manifest and .gz/.br copies"
    }
    fn args(&self, command: clap::Command) -> clap::Command {
        command.arg(
            clap::Arg::new("output")
                .long("output")
                .value_name("DIR")
                .help("Where to write them (default: STATIC_ROOT, else ./staticfiles)"),
        )
    }
    fn run<'a>(
        &'a self,
        args: &'a clap::ArgMatches,
        out: &'a mut (dyn std::io::Write + Send),
    ) -> crate::handler::BoxFuture<'a, Result<i32, crate::error::BoxError>> {
        Box::pin(async move {
            let output = match args.get_one::<String>("output") {
                Some(dir) => PathBuf::from(dir),
                None => std::env::var_os("STATIC_ROOT")
                    .map_or_else(|| PathBuf::from("staticfiles"), PathBuf::from),
            };
            let done = collect(&self.0, &output)
                .map_err(|e| format!("cannot collect the static files into {}: {e}", output.display()))?;
            writeln!(
                out,
                "{} static files collected into {} ({} compressed copies); serve them with STATIC_ROOT={}",
                done.files,
                done.output.display(),
                done.compressed,
                done.output.display()
            )?;
            Ok(0)
        })
    }
}
