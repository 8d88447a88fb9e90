//! `db-backup`: `pg_dump --format=custom`, encrypted with age on the fly, streamed into the object
//! store as a multipart upload; then the manifest, then the `latest.json` marker, then retention.
//!
//! Memory stays flat whatever the database size: the dump moves through a bounded channel of
//! [`CHUNK`]-sized buffers into upload parts of [`PART_SIZE`], at most [`PARTS_IN_FLIGHT`] at once
//! (about 40 MiB in all). Any failure (pg_dump, encryption, an upload part) aborts the multipart
//! upload, so no object appears, and no manifest is written: nothing that looks complete.

use std::io::{self, Read, Write};
use std::process::Stdio;
use std::time::Instant;

use anyhow::Context as _;
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use clap::Args;
use object_store::{ObjectStoreExt as _, WriteMultipart};
use sha2::{Digest as _, Sha256};
use sqlx::Connection as _;
use tokio::sync::mpsc;

use crate::backup::crypto::RecipientKey;
use crate::backup::human_bytes;
use crate::backup::location::{BackupName, BackupUrl, Store, LATEST};
use crate::backup::manifest::{Manifest, ENCODING, FORMAT};
use crate::backup::pg::{self, ClientError, Running};
use crate::backup::retention::{self, Retention};
use crate::db::{connect, DatabaseArgs, DatabaseUrl, RetryArgs};
use crate::exit::Failure;

/// Bytes handed from the dump thread to the uploader at a time.
pub const CHUNK: usize = 1 << 20;
/// Chunks waiting for the uploader (the dump pauses when they are all full).
const CHANNEL_CHUNKS: usize = 4;
/// One multipart upload part (S3 wants at least 5 MiB; 10,000 parts make an 80 GiB limit).
pub const PART_SIZE: usize = 8 << 20;
/// Parts uploading at once.
pub const PARTS_IN_FLIGHT: usize = 2;

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    /// Where backups go: file:///dir/ or s3://bucket/prefix/ (S3 settings from the AWS_* variables).
    #[arg(long, env = "BACKUP_TO", value_parser = BackupUrl::parse_arg)]
    pub to: BackupUrl,
    /// An age public key (age1...) to encrypt to; repeat it, or comma-separate in BACKUP_RECIPIENTS.
    #[arg(long = "recipient", env = "BACKUP_RECIPIENTS", value_delimiter = ',', required = true,
          value_parser = RecipientKey::parse)]
    pub recipients: Vec<RecipientKey>,
    #[command(flatten)]
    pub retention: Retention,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot start the upload of {url}")]
    Start {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("upload of {url} failed; it was aborted, no backup was written")]
    Upload {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("dump failed; the upload was aborted, no backup was written")]
    Dump(#[source] ClientError),
    #[error("encryption failed; the upload was aborted, no backup was written")]
    Encrypt(#[source] io::Error),
}

/// What the dump pipeline produced.
struct Written {
    size: u64,
    sha256: String,
}

/// `db-backup`.
pub async fn run(args: &BackupArgs) -> Result<(), Failure> {
    if !args.to.is_prefix() {
        return Err(anyhow::anyhow!(
            "BACKUP_TO {} must be a directory (end with /): backups are named <database>-<time>.dump.age",
            args.to
        )
        .into());
    }
    let url = &args.db.database_url;
    let database = url.database();
    let program = pg::program("PG_DUMP", "pg_dump");
    let pg_dump_version = pg::version(&program)?;

    let mut conn = connect("db-backup", url, &args.retry).await?;
    let server_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await
        .context("cannot read the server version")?;
    let _ = conn.close().await;

    let store = args.to.open(true)?;
    let name = BackupName::new(&database, Utc::now());
    let object = name.object();
    match store.store.head(&store.path(&object)).await {
        Err(object_store::Error::NotFound { .. }) => {}
        Ok(_) => {
            return Err(anyhow::anyhow!(
                "{} already exists; not overwriting a backup (another run in the same second?)",
                store.url_of(&object)
            )
            .into())
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot reach the backup store {store}"))
                .into())
        }
    }
    eprintln!(
        "db-backup: dumping database {database} (server {server_version}, {pg_dump_version}) \
         to {}, encrypted to {} recipient(s)",
        store.url_of(&object),
        args.recipients.len()
    );
    let started = Instant::now();
    let written = dump_encrypted(&store, &object, url, &program, &args.recipients).await?;

    let manifest = Manifest {
        format: FORMAT,
        object: object.clone(),
        database: database.clone(),
        size: written.size,
        sha256: written.sha256,
        server_version,
        pg_dump_version,
        tools_version: env!("CARGO_PKG_VERSION").to_string(),
        created: name.created,
        encoding: ENCODING.to_string(),
        recipients: args.recipients.iter().map(ToString::to_string).collect(),
    };
    manifest.store(&store, &name.manifest()).await?;
    eprintln!(
        "db-backup: wrote {} ({}, sha256 {}) and its manifest in {:.1}s",
        store.url_of(&object),
        human_bytes(manifest.size),
        manifest.sha256,
        started.elapsed().as_secs_f64()
    );
    // The marker is for monitoring ("when did the last backup complete?"); a failure to write it
    // fails the run, so the CronJob's last successful time and the marker agree.
    manifest.store(&store, LATEST).await?;

    if args.retention.is_set() {
        retention::apply(&store, &name, &args.retention, Utc::now()).await?;
    }
    Ok(())
}

/// pg_dump → age → multipart upload of `object`; aborts the upload on any failure.
async fn dump_encrypted(
    store: &Store,
    object: &str,
    url: &DatabaseUrl,
    program: &std::ffi::OsString,
    recipients: &[RecipientKey],
) -> Result<Written, Failure> {
    let shown = store.url_of(object);
    let upload = store
        .store
        .put_multipart(&store.path(object))
        .await
        .map_err(|source| BackupError::Start {
            url: shown.clone(),
            source,
        })
        .map_err(anyhow::Error::new)?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);

    let mut cmd = pg::command(program, url);
    cmd.args(["--format=custom", "--verbose"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    // --verbose goes to the kept stderr tail: a failure names the table it stopped at.
    let mut running = match Running::spawn(cmd, program) {
        Ok(r) => r,
        Err(e) => {
            let _ = writer.abort().await;
            return Err(anyhow::Error::new(BackupError::Dump(e)).into());
        }
    };
    let stdout = running.child.stdout.take();
    let recipients = recipients.to_vec();
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    let encrypt = tokio::task::spawn_blocking(move || -> Result<Written, BackupError> {
        let result = match stdout {
            Some(out) => encrypt_stream(out, &recipients, ChunkSender::new(tx)),
            None => Err(io::Error::other("pg_dump's stdout was not captured")),
        };
        match result {
            Ok(written) => running.wait().map(|()| written).map_err(BackupError::Dump),
            Err(e) => {
                running.kill();
                Err(BackupError::Encrypt(e))
            }
        }
    });

    let mut upload_error = None;
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
            upload_error = Some(e);
            break;
        }
        writer.put(chunk);
    }
    // Closing the channel makes a dump thread still writing stop (and kill pg_dump).
    drop(rx);
    let encrypted = encrypt
        .await
        .unwrap_or_else(|e| Err(BackupError::Encrypt(io::Error::other(e.to_string()))));
    if let Some(source) = upload_error {
        let _ = writer.abort().await;
        return Err(anyhow::Error::new(BackupError::Upload { url: shown, source }).into());
    }
    let written = match encrypted {
        Ok(written) => written,
        Err(e) => {
            let _ = writer.abort().await;
            return Err(Failure::new(
                crate::exit::FAILURE,
                anyhow::Error::new(e).context(format!("cannot back up to {shown}")),
            ));
        }
    };
    // finish() aborts the upload itself when completing fails.
    writer
        .finish()
        .await
        .map_err(|source| BackupError::Upload { url: shown, source })
        .map_err(anyhow::Error::new)?;
    Ok(written)
}

/// Encrypts everything `input` yields to `recipients` into `sink`; returns size and SHA-256 of
/// the ciphertext.
fn encrypt_stream(
    mut input: impl Read,
    recipients: &[RecipientKey],
    sink: ChunkSender,
) -> io::Result<Written> {
    let encryptor = age::Encryptor::with_recipients(
        recipients
            .iter()
            .map(|r| r.recipient() as &dyn age::Recipient),
    )
    .map_err(|e| io::Error::other(e.to_string()))?;
    let mut writer = encryptor.wrap_output(sink)?;
    io::copy(&mut input, &mut writer)?;
    let sink = writer.finish()?;
    sink.close()
}

/// The ciphertext's way to the uploader: counted, hashed, and handed over in [`CHUNK`]s through a
/// bounded channel (a full channel blocks the dump thread, which pauses pg_dump: back pressure).
struct ChunkSender {
    tx: mpsc::Sender<Bytes>,
    buf: BytesMut,
    hasher: Sha256,
    size: u64,
}

impl ChunkSender {
    fn new(tx: mpsc::Sender<Bytes>) -> ChunkSender {
        ChunkSender {
            tx,
            buf: BytesMut::with_capacity(CHUNK),
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.buf.reserve(CHUNK);
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped"))
    }

    fn close(mut self) -> io::Result<Written> {
        self.send()?;
        Ok(Written {
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.hasher.update(&data[..n]);
        self.size += n as u64;
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
