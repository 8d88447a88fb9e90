//! Where backups live: a `file:///dir/` or `s3://bucket/prefix/` URL turned into an object store
//! and a prefix, plus the object names (`<database>-<UTC timestamp>.dump.age` and its manifest).
//!
//! S3 settings come from the usual AWS environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL` for an S3-compatible server,
//! `AWS_ALLOW_HTTP=true` for a plain-HTTP one): the production path and a local test server differ
//! only in the endpoint.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::ObjectStore;

use crate::exit::Failure;

/// The suffix of an encrypted dump.
pub const OBJECT_SUFFIX: &str = ".dump.age";
/// The suffix a manifest adds to its object's name.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// The marker naming the newest complete backup under a prefix (for monitoring).
pub const LATEST: &str = "latest.json";
/// The timestamp in object names: sortable, no characters that need escaping anywhere.
const TIMESTAMP: &str = "%Y%m%dT%H%M%SZ";

#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("not a URL ({0}); expected file:///dir/ or s3://bucket/prefix/")]
    Url(String),
    #[error("unsupported scheme '{0}'; expected file:///dir/ or s3://bucket/prefix/")]
    Scheme(String),
    #[error("{0} names no bucket; expected s3://bucket/prefix/")]
    NoBucket(String),
    #[error("{url} must name a directory (end with /), not an object")]
    NotAPrefix { url: String },
    #[error("cannot open the backup store {url}")]
    Open {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("cannot create the backup directory {dir}")]
    CreateDir {
        dir: String,
        #[source]
        source: std::io::Error,
    },
}

/// A parsed backup URL: an object (`.../app-20261201T020000Z.dump.age`) or a prefix (ends in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupUrl {
    kind: Scheme,
    /// The bucket (s3) or the root directory `/` (file).
    root: String,
    /// Path segments below the root, without leading or trailing `/`.
    path: String,
    is_prefix: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    File,
    S3,
}

impl BackupUrl {
    pub fn parse(input: &str) -> Result<BackupUrl, LocationError> {
        let url =
            reqwest::Url::parse(input.trim()).map_err(|e| LocationError::Url(e.to_string()))?;
        let is_prefix = url.path().ends_with('/');
        let path = url.path().trim_matches('/').to_string();
        match url.scheme() {
            "file" => Ok(BackupUrl {
                kind: Scheme::File,
                root: "/".into(),
                path,
                is_prefix,
            }),
            "s3" => {
                let bucket = url.host_str().unwrap_or_default();
                if bucket.is_empty() {
                    return Err(LocationError::NoBucket(input.trim().to_string()));
                }
                Ok(BackupUrl {
                    kind: Scheme::S3,
                    root: bucket.to_string(),
                    path,
                    // s3://bucket (no path at all) is the bucket itself.
                    is_prefix: is_prefix || url.path().is_empty(),
                })
            }
            other => Err(LocationError::Scheme(other.to_string())),
        }
    }

    /// For clap: the message is the error's one line.
    pub fn parse_arg(input: &str) -> Result<BackupUrl, String> {
        BackupUrl::parse(input).map_err(|e| e.to_string())
    }

    pub fn is_prefix(&self) -> bool {
        self.is_prefix
    }

    /// The prefix this URL is or lies in, and (for an object URL) the object's name.
    pub fn split(&self) -> (BackupUrl, Option<String>) {
        if self.is_prefix {
            return (self.clone(), None);
        }
        let (dir, name) = match self.path.rsplit_once('/') {
            Some((dir, name)) => (dir.to_string(), name.to_string()),
            None => (String::new(), self.path.clone()),
        };
        let prefix = BackupUrl {
            path: dir,
            is_prefix: true,
            ..self.clone()
        };
        (prefix, Some(name))
    }

    /// Opens the store for this prefix (an object URL opens its directory). A `file://` directory is
    /// created when `create` is set (the first backup), never for a restore.
    pub fn open(&self, create: bool) -> Result<Store, LocationError> {
        let (prefix, _) = self.split();
        let shown = prefix.to_string();
        let open_err = |source| LocationError::Open {
            url: shown.clone(),
            source,
        };
        let store: Arc<dyn ObjectStore> = match prefix.kind {
            Scheme::File => {
                let dir = format!("/{}", prefix.path);
                if create {
                    std::fs::create_dir_all(&dir).map_err(|source| LocationError::CreateDir {
                        dir: dir.clone(),
                        source,
                    })?;
                }
                // fsync: a backup reported complete must survive the node losing power.
                Arc::new(
                    LocalFileSystem::new_with_prefix(&dir)
                        .map_err(open_err)?
                        .with_fsync(true),
                )
            }
            Scheme::S3 => {
                crate::tls::install_provider();
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(&prefix.root);
                if std::env::var_os("AWS_REGION").is_none()
                    && std::env::var_os("AWS_DEFAULT_REGION").is_none()
                {
                    builder = builder.with_region("us-east-1");
                }
                Arc::new(builder.build().map_err(open_err)?)
            }
        };
        let base = match prefix.kind {
            Scheme::File => Path::default(),
            Scheme::S3 => Path::from(prefix.path.as_str()),
        };
        Ok(Store { store, base, shown })
    }
}

impl fmt::Display for BackupUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            Scheme::File => "file://",
            Scheme::S3 => "s3://",
        };
        let root = if self.kind == Scheme::File {
            ""
        } else {
            &self.root
        };
        let slash = if self.is_prefix && !self.path.is_empty() {
            "/"
        } else {
            ""
        };
        write!(f, "{scheme}{root}/{}{slash}", self.path)
    }
}

/// An opened backup prefix: the store and the path of the prefix inside it.
#[derive(Clone)]
pub struct Store {
    pub store: Arc<dyn ObjectStore>,
    base: Path,
    shown: String,
}

impl Store {
    /// The path of `name` directly under the prefix.
    pub fn path(&self, name: &str) -> Path {
        self.base.clone().join(name)
    }

    /// The prefix itself (for listing).
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `name` as a URL an operator can pass back to `db-restore --from`.
    pub fn url_of(&self, name: &str) -> String {
        format!("{}{name}", self.shown)
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// One backup's names: `<database>-<timestamp>.dump.age` and `<that>.manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupName {
    pub database: String,
    pub created: DateTime<Utc>,
}

impl BackupName {
    pub fn new(database: &str, created: DateTime<Utc>) -> BackupName {
        // Whole seconds: the name is the only place the time is kept for sorting.
        let created = DateTime::from_timestamp(created.timestamp(), 0).unwrap_or(created);
        BackupName {
            database: database.to_string(),
            created,
        }
    }

    pub fn object(&self) -> String {
        format!(
            "{}-{}{OBJECT_SUFFIX}",
            self.database,
            self.created.format(TIMESTAMP)
        )
    }

    pub fn manifest(&self) -> String {
        format!("{}{MANIFEST_SUFFIX}", self.object())
    }

    /// Parses an object name (`app-20261201T020000Z.dump.age`); anything else is `None`.
    pub fn parse_object(name: &str) -> Option<BackupName> {
        let stem = name.strip_suffix(OBJECT_SUFFIX)?;
        let (database, stamp) = stem.rsplit_once('-')?;
        let created = NaiveDateTime::parse_from_str(stamp, TIMESTAMP)
            .ok()?
            .and_utc();
        (!database.is_empty()).then(|| BackupName {
            database: database.to_string(),
            created,
        })
    }

    /// Parses a manifest name (`app-20261201T020000Z.dump.age.manifest.json`).
    pub fn parse_manifest(name: &str) -> Option<BackupName> {
        BackupName::parse_object(name.strip_suffix(MANIFEST_SUFFIX)?)
    }
}

impl From<LocationError> for Failure {
    fn from(e: LocationError) -> Failure {
        Failure::from(anyhow::Error::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_prefixes_or_objects() {
        let p = BackupUrl::parse("s3://bucket/nightly/app/").expect("s3 prefix");
        assert!(p.is_prefix());
        assert_eq!(p.to_string(), "s3://bucket/nightly/app/");
        let o = BackupUrl::parse("s3://bucket/nightly/app-20261201T020000Z.dump.age").expect("s3");
        assert!(!o.is_prefix());
        let (dir, name) = o.split();
        assert_eq!(dir.to_string(), "s3://bucket/nightly/");
        assert_eq!(name.as_deref(), Some("app-20261201T020000Z.dump.age"));
        assert!(BackupUrl::parse("s3://bucket").expect("bucket").is_prefix());
        let f = BackupUrl::parse("file:///var/backups/").expect("file");
        assert_eq!(f.to_string(), "file:///var/backups/");
        assert!(BackupUrl::parse("gs://bucket/x/").is_err());
        assert!(BackupUrl::parse("s3:///x/").is_err());
        assert!(BackupUrl::parse("/plain/path").is_err());
    }

    #[test]
    fn names_round_trip_and_sort_by_time() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T02:00:07.5Z")
            .expect("time")
            .with_timezone(&Utc);
        let name = BackupName::new("my-app", t);
        assert_eq!(name.object(), "my-app-20261201T020007Z.dump.age");
        assert_eq!(
            name.manifest(),
            "my-app-20261201T020007Z.dump.age.manifest.json"
        );
        assert_eq!(BackupName::parse_object(&name.object()), Some(name.clone()));
        assert_eq!(BackupName::parse_manifest(&name.manifest()), Some(name));
        assert_eq!(BackupName::parse_object("notes.txt"), None);
        assert_eq!(BackupName::parse_object("app-yesterday.dump.age"), None);
        assert_eq!(BackupName::parse_manifest(LATEST), None);
    }
}
