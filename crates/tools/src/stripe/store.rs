//! The store file: a JSON object mapping namespace -> `{"endpoint_id", "secret", "url"}`.
//!
//! It holds signing secrets, so it is always (re)written atomically with mode 0600. A missing
//! file is an empty store; an unreadable or malformed one is an error (never silently replaced,
//! which would lose the other namespaces' endpoints).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files::{write_atomic, WriteError};

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub endpoint_id: String,
    pub secret: String,
    pub url: String,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("endpoint_id", &self.endpoint_id)
            .field("secret", &"<redacted>")
            .field("url", &self.url)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the store {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// serde's message is left out on purpose: it quotes offending values, which may be secrets.
    #[error("the store {} is not a JSON object of namespace -> {{endpoint_id, secret, url}} (line {line}, column {column})", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("cannot serialise the store")]
    Serialize(#[source] serde_json::Error),
    #[error(transparent)]
    Write(#[from] WriteError),
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Store {
    pub entries: BTreeMap<String, Entry>,
}

impl Store {
    pub fn load(path: &Path) -> Result<Store, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::default()),
            Err(source) => {
                return Err(StoreError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Store::default());
        }
        let entries = serde_json::from_slice(&bytes).map_err(|e| StoreError::Malformed {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
        })?;
        Ok(Store { entries })
    }

    pub fn save(&self, path: &Path) -> Result<(), StoreError> {
        let mut json = serde_json::to_vec_pretty(&self.entries).map_err(StoreError::Serialize)?;
        json.push(b'\n');
        write_atomic(path, &json, 0o600)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.json");
        assert_eq!(
            Store::load(&path).expect("missing is empty"),
            Store::default()
        );
        let mut store = Store::default();
        store.entries.insert(
            "dev".into(),
            Entry {
                endpoint_id: "we_1".into(),
                secret: "whsec_x".into(),
                url: "https://dev.example.com".into(),
            },
        );
        store.save(&path).expect("save");
        assert_eq!(Store::load(&path).expect("load"), store);
        assert!(!format!("{store:?}").contains("whsec_x"));
        std::fs::write(&path, "[1,2]").expect("write");
        assert!(matches!(
            Store::load(&path),
            Err(StoreError::Malformed { .. })
        ));
    }
}
