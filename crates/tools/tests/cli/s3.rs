//! A local S3-compatible server for the `s3://` tests: moto's server (PyPI `moto[server]`, pinned
//! in crates/tools/tests/requirements.txt, installed into .venv by `make test-rust`), started per
//! test on a free loopback port and stopped when the test ends. It implements S3's REST API as
//! documented (SigV4 requests, multipart uploads, ListObjectsV2), so `tools` talks to it exactly
//! as to AWS; only `AWS_ENDPOINT_URL` differs.
//!
//! `MOTO_SERVER` names its executable. A missing server is a test failure, never a skip.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct S3Server {
    child: Child,
    endpoint: String,
    http: reqwest::Client,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let program = std::env::var("MOTO_SERVER").unwrap_or_default();
        assert!(
            !program.is_empty(),
            "MOTO_SERVER is not set: run these tests with `make test-rust` (it installs moto's \
             S3 server into .venv and sets MOTO_SERVER), or set it to a moto_server executable"
        );
        let port = test_support::free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start MOTO_SERVER={program}: {e}"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let mut server = S3Server {
            child,
            endpoint,
            http,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if server.http.get(&server.endpoint).send().await.is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("moto_server exited during start-up: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The environment `tools` needs to use this server (what production sets for AWS).
    pub fn configure(&self, cmd: &mut Command) {
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true");
    }

    pub async fn create_bucket(&self, bucket: &str) {
        let res = self
            .http
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .expect("create bucket");
        assert!(res.status().is_success(), "create bucket: {}", res.status());
    }

    /// Keys under `prefix`, sorted (ListObjectsV2).
    pub async fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let body = self
            .get(&format!("{bucket}?list-type=2&prefix={prefix}"))
            .await;
        let mut keys = tags(&body, "Key");
        keys.sort();
        keys
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub async fn open_uploads(&self, bucket: &str) -> Vec<String> {
        tags(&self.get(&format!("{bucket}?uploads")).await, "UploadId")
    }

    async fn get(&self, path: &str) -> String {
        let res = self
            .http
            .get(format!("{}/{path}", self.endpoint))
            .send()
            .await
            .expect("S3 GET");
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.text().await.expect("S3 body")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of every `<tag>...</tag>` in an S3 XML answer.
fn tags(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(v, _)| v.to_string()))
        .collect()
}
