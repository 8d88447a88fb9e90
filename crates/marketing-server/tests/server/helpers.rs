//! Shared fixtures: a site written to a temp dir (with a `secret` file beside it), the server
//! running in-process on 127.0.0.1:0, a raw-socket client, and body decoders.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use marketing_server::config::{default_csp, Settings};
use marketing_server::site::Site;
use service_runtime::shutdown::Timing;
use service_runtime::ServeArgs;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const SECRET: &str = "TOP-SECRET-0xC0FFEE";
pub const HASHED_JS: &str = "/assets/app.3f9c2b1a.js";

/// Text that compresses well, so gzip and brotli encodings exist.
pub fn long_text(marker: &str) -> String {
    let mut s = String::new();
    for i in 0..200 {
        s.push_str(&format!(
            "<p>{marker} paragraph {i}: lorem ipsum dolor sit amet.</p>\n"
        ));
    }
    s
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

pub fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(data, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

pub fn brotli_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).expect("brotli");
    }
    out
}

/// A temp dir holding `site/` (the served root) and `secret` beside it.
pub struct Fixture {
    pub dir: TempDir,
}

impl Fixture {
    pub fn site_dir(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    pub fn write(&self, rel: &str, body: impl AsRef<[u8]>) {
        let path = self.site_dir().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, body).expect("write");
    }
}

pub fn index_html() -> String {
    format!("<!doctype html><title>Home</title>\n{}", long_text("home"))
}

/// The standard test site.
pub fn fixture() -> Fixture {
    let f = Fixture {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    std::fs::write(f.dir.path().join("secret"), SECRET).expect("secret");
    f.write("index.html", index_html());
    f.write(
        "about.html",
        format!("<h1>About</h1>{}", long_text("about")),
    );
    f.write("docs/index.html", "<h1>Docs index</h1>");
    f.write("404.html", "<h1>Custom missing page</h1>");
    f.write(
        HASHED_JS.trim_start_matches('/'),
        format!("console.log('app');\n{}", long_text("js")),
    );
    f.write(
        "style.css",
        format!("body{{color:red}}\n{}", long_text("css")),
    );
    // Precompressed siblings whose content differs from the plain file, so a test can tell
    // which one was served.
    f.write("pre.css", long_text("plain-pre"));
    f.write("pre.css.gz", gzip(long_text("from-gz-sibling").as_bytes()));
    f.write(
        "pre.css.br",
        brotli_bytes(long_text("from-br-sibling").as_bytes()),
    );
    f.write(
        "logo.png",
        [0x89u8, b'P', b'N', b'G', 1, 2, 3, 4, 5, 6, 7, 8],
    );
    f.write(".env", "DATABASE_PASSWORD=hunter2");
    // A symlink out of the site must not become a way to read the secret.
    std::os::unix::fs::symlink(f.dir.path().join("secret"), f.site_dir().join("leak.txt"))
        .expect("symlink");
    // A "precompressed" sibling larger than its file is not worth sending.
    f.write("tiny.txt", "hi");
    f.write("tiny.txt.gz", gzip(b"hi"));
    f
}

/// A server running in-process with the given site, on 127.0.0.1:0.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    /// `http://127.0.0.1:PORT/metrics` of this server.
    pub metrics_url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub struct Options {
    pub spa: bool,
    pub public: Vec<(String, String)>,
}

pub async fn spawn(fixture: &Fixture, spa: bool) -> TestServer {
    spawn_with(
        fixture,
        Options {
            spa,
            public: Vec::new(),
        },
    )
    .await
}

pub async fn spawn_with(fixture: &Fixture, options: Options) -> TestServer {
    let api = options
        .public
        .iter()
        .find(|(k, _)| k == "API_URL")
        .map(|(_, v)| v.clone());
    spawn_settings(&Settings {
        site_dirs: vec![fixture.site_dir()],
        spa: options.spa,
        content_security_policy: default_csp(api.as_deref()),
        public: options.public,
    })
    .await
}

/// A server for exactly these settings (e.g. several site directories).
pub async fn spawn_settings(settings: &Settings) -> TestServer {
    let site = Site::load(settings).expect("site loads");
    // Deterministic tests: every encoding exists before the first request.
    site.compress();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let args = ServeArgs {
        shutdown: Timing {
            drain: Duration::ZERO,
            timeout: Duration::from_secs(1),
        },
        ..ServeArgs::default()
    };
    let metrics = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let metrics_url = format!("http://{}/metrics", metrics.local_addr().expect("addr"));
    let server = marketing_server::server::build(Arc::new(site), &args, Some(metrics));
    tokio::spawn(server.serve(listener, stopped));
    TestServer {
        addr,
        base: format!("http://{addr}"),
        metrics_url,
        stop: Some(stop),
    }
}

/// A client that does not decompress, follow redirects or normalise anything for us.
pub fn client() -> reqwest::Client {
    // reqwest is built without a default crypto provider (see tools::stripe::client).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Sends `GET {target}` byte for byte (no client-side normalisation) and returns
/// (status, whole response as text).
pub async fn raw_get(addr: SocketAddr, target: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {target}: {text:?}"));
    (status, text)
}
