//! Loading: `SITE_DIR` read into memory as URL path → bytes, plus the generated files, and the
//! ways loading a site can fail.
//!
//! Dotfiles and dot-directories (except `/.well-known/`) are never loaded: a stray `.env` or
//! `.git` in the build output stays private. Symlinks are followed only when they resolve inside
//! the site directory, and nesting deeper than [`MAX_DEPTH`] is not loaded (symlink loops).
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
    SpaWithoutIndex(PathBuf),
    #[error("invalid Content-Security-Policy value")]
    BadCsp,
}

/// Every loadable file under `root`, keyed by URL path.
pub fn read_tree(root: &Path) -> Result<Files, LoadError> {
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
