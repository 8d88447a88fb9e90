//! The manifest written next to each encrypted dump, LAST: an object without one is not a complete
//! backup (its upload failed or is still running), so restores and retention ignore it.
//!
//! `db-restore` checks the object's size and SHA-256 against it before anything reaches
//! PostgreSQL; the versions say which `pg_restore` can read it.

use chrono::{DateTime, Utc};
use object_store::{ObjectStoreExt as _, PutPayload};
use serde::{Deserialize, Serialize};

use crate::backup::location::Store;
use crate::exit::Failure;

/// What a manifest records. `format` changes only if the object layout does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The encrypted dump's name, in the same prefix.
    pub object: String,
    pub database: String,
    /// Bytes of the encrypted object.
    pub size: u64,
    /// SHA-256 of the encrypted object, lowercase hex.
    pub sha256: String,
    /// `SHOW server_version` of the dumped server.
    pub server_version: String,
    /// `pg_dump --version` of the dumping client.
    pub pg_dump_version: String,
    /// The `tools` version that wrote it.
    pub tools_version: String,
    pub created: DateTime<Utc>,
    /// How the object is encoded: `pg_dump --format=custom`, then age (X25519 recipients).
    pub encoding: String,
    /// The age recipients (public keys) it is encrypted to: which identity can restore it.
    pub recipients: Vec<String>,
}

pub const FORMAT: u32 = 1;
pub const ENCODING: &str = "pg_dump custom format, age-encrypted (X25519)";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "missing manifest: {object} has no {manifest} next to it, so it is not a complete backup \
         (its upload failed or is still running)"
    )]
    Missing { object: String, manifest: String },
    #[error("cannot read the manifest {url}")]
    Read {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("the manifest {url} is not valid: {reason}")]
    Invalid { url: String, reason: String },
    #[error("cannot write the manifest {url}")]
    Write {
        url: String,
        #[source]
        source: object_store::Error,
    },
}

impl Manifest {
    /// Reads the manifest of `object` (a name under `store`'s prefix).
    pub async fn fetch(
        store: &Store,
        object: &str,
        manifest_name: &str,
    ) -> Result<Manifest, ManifestError> {
        let url = store.url_of(manifest_name);
        let bytes = match store.store.get(&store.path(manifest_name)).await {
            Ok(result) => result.bytes().await,
            Err(e) => Err(e),
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(ManifestError::Missing {
                    object: store.url_of(object),
                    manifest: manifest_name.to_string(),
                })
            }
            Err(source) => return Err(ManifestError::Read { url, source }),
        };
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| ManifestError::Invalid {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        if manifest.format != FORMAT {
            return Err(ManifestError::Invalid {
                url,
                reason: format!(
                    "format {} (this tools version reads format {FORMAT})",
                    manifest.format
                ),
            });
        }
        if manifest.object != object {
            return Err(ManifestError::Invalid {
                url,
                reason: format!("it describes {}, not {object}", manifest.object),
            });
        }
        Ok(manifest)
    }

    /// Writes `self` as `name` under the prefix (one PUT: it appears whole or not at all).
    pub async fn store(&self, store: &Store, name: &str) -> Result<(), ManifestError> {
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| ManifestError::Invalid {
            url: store.url_of(name),
            reason: e.to_string(),
        })?;
        json.push(b'\n');
        store
            .store
            .put(&store.path(name), PutPayload::from(json))
            .await
            .map(drop)
            .map_err(|source| ManifestError::Write {
                url: store.url_of(name),
                source,
            })
    }
}

impl From<ManifestError> for Failure {
    fn from(e: ManifestError) -> Failure {
        Failure::from(anyhow::Error::new(e))
    }
}
