//! Loading: `SITE_DIR` read into memory as URL path → bytes, plus the generated files, and the
//! ways loading a site can fail.
//!
//! Dotfiles and dot-directories (except `/.well-known/`) are never loaded: a stray `.env` or
//! `.git` in the build output stays private. Symlinks are followed only when they resolve inside
//! the site directory, and nesting deeper than [`MAX_DEPTH`] is not loaded (symlink loops).
//!
//! `SITE_DIR` may name several directories (`sites/marketing:sites/shared`): their trees are
//! overlaid into one, and a URL path that two of them provide stops the load, so what is served
//! never depends on the order they were listed in. The symlink rule holds per directory.
//!
//! Each step takes and returns the whole [`Files`] map, so a new load-time step (a transform
//! over the files) slots in between reading and building the answers in `Site::load`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::runtime_config;

/// Directory nesting deeper than this is not loaded (guards against symlink loops).
pub const MAX_DEPTH: usize = 32;

/// The site's files by URL path (`/dir/name.ext`).
pub type Files = HashMap<String, Bytes>;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--spa (env SPA) needs an index.html in SITE_DIR {0}")]
    SpaWithoutIndex(String),
    #[error("{url} is in two SITE_DIR directories: {first} and {second}")]
    Overlap {
        url: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("a page in SITE_DIR has a bad include")]
    Include(#[from] super::include::IncludeError),
    #[error("invalid Content-Security-Policy value")]
    BadCsp,
}

/// Every loadable file of the overlaid `roots`, keyed by URL path.
pub fn read_trees(roots: &[PathBuf]) -> Result<Files, LoadError> {
    let mut files = HashMap::new();
    let mut origin: HashMap<String, &Path> = HashMap::new();
    for root in roots {
        for (url, body) in read_tree(root)? {
            if let Some(first) = origin.insert(url.clone(), root) {
                return Err(LoadError::Overlap {
                    url,
                    first: first.to_path_buf(),
                    second: root.clone(),
                });
            }
            files.insert(url, body);
        }
    }
    Ok(files)
}

/// Every loadable file under `root`, keyed by URL path.
fn read_tree(root: &Path) -> Result<Files, LoadError> {
    let canonical_root = root.canonicalize().map_err(|source| LoadError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let mut files = HashMap::new();
    let mut stack = vec![(canonical_root.clone(), String::new(), 0usize)];
    while let Some((dir, url_prefix, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| LoadError::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| LoadError::Read {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                tracing::warn!(path = %path.display(), "skipping a file whose name is not UTF-8");
                continue;
            };
            if !is_servable_name(&name, depth) {
                continue;
            }
            // Follow symlinks only while they stay inside the site.
            let Ok(real) = path.canonicalize() else {
                tracing::warn!(path = %path.display(), "skipping a dangling symlink");
                continue;
            };
            if !real.starts_with(&canonical_root) {
                tracing::warn!(path = %path.display(), "skipping a symlink that leaves SITE_DIR");
                continue;
            }
            let url = format!("{url_prefix}/{name}");
            let meta = std::fs::metadata(&real).map_err(|source| LoadError::Read {
                path: path.clone(),
                source,
            })?;
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    stack.push((real, url, depth + 1));
                }
            } else if meta.is_file() {
                let body = std::fs::read(&real).map_err(|source| LoadError::Read {
                    path: path.clone(),
                    source,
                })?;
                files.insert(url, Bytes::from(body));
            }
        }
    }
    Ok(files)
}

/// Adds the files generated at start: `/runtime-config.js` from the `PUBLIC_*` variables, so a
/// static SPA learns its backend URL at run time.
pub fn add_generated(files: &mut Files, public: &[(String, String)]) {
    files.insert(
        "/runtime-config.js".into(),
        Bytes::from(runtime_config::script(public)),
    );
}

/// Names a request could reach and that are meant to be public.
fn is_servable_name(name: &str, depth: usize) -> bool {
    if name.contains(['\\', '\0']) || name.chars().any(char::is_control) {
        return false;
    }
    !name.starts_with('.') || (depth == 0 && name == ".well-known")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotfiles_are_private() {
        assert!(!is_servable_name(".env", 0));
        assert!(!is_servable_name(".git", 0));
        assert!(is_servable_name(".well-known", 0));
        assert!(!is_servable_name(".well-known", 1));
        assert!(!is_servable_name("a\\b", 0));
        assert!(is_servable_name("app.js", 3));
    }
}
