//! The real binary: configuration errors, the `healthcheck` subcommand, a full start and stop.

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{client, fixture, spawn};

const BIN: &str = env!("CARGO_BIN_EXE_marketing-server");

fn bin() -> Command {
    let mut c = Command::new(BIN);
    // Metrics off unless a test asks: the default port may be taken on a shared machine.
    c.env_clear().env("METRICS_PORT", "0").stdin(Stdio::null());
    c
}

/// The binary serving `site` on 127.0.0.1:`port`, with no drain period.
fn serving(site: &crate::helpers::Fixture, port: u16) -> Command {
    let mut c = bin();
    c.env("SITE_DIR", site.site_dir())
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("SHUTDOWN_DRAIN_SECONDS", "0")
        .stderr(Stdio::null());
    c
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn missing_site_dir_exits_with_one_line_naming_it() {
    let out = bin()
        .env("SITE_DIR", "/definitely/not/here")
        .output()
        .expect("run");
    let line = one_line_error(&out);
    assert!(line.contains("SITE_DIR"), "{line}");
    assert!(line.contains("/definitely/not/here"), "{line}");
}

#[test]
fn bad_port_exits_with_one_line_naming_it() {
    let site = fixture();
    let out = bin()
        .env("SITE_DIR", site.site_dir())
        .env("PORT", "notaport")
        .output()
        .expect("run");
    let line = one_line_error(&out);
    assert!(line.contains("PORT"), "{line}");
    assert!(line.contains("notaport"), "{line}");
}

#[test]
fn bad_spa_flag_value_names_spa() {
    let site = fixture();
    let out = bin()
        .env("SITE_DIR", site.site_dir())
        .env("SPA", "maybe")
        .output()
        .expect("run");
    let line = one_line_error(&out);
    assert!(line.contains("SPA"), "{line}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_subcommand_exit_codes() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let up = format!("http://{}/healthz", server.addr);
    let port = server.addr.port().to_string();
    let closed = free_port();
    let (by_url, by_port, down) = tokio::task::spawn_blocking(move || {
        let by_url = bin()
            .args(["healthcheck", "--url", &up])
            .status()
            .expect("run");
        // Without --url it probes 127.0.0.1:$PORT, and needs no site.
        let by_port = bin()
            .env("PORT", &port)
            .env("SITE_DIR", "/definitely/not/here")
            .arg("healthcheck")
            .status()
            .expect("run");
        let down = bin()
            .args(["healthcheck", "--timeout", "2s", "--url"])
            .arg(format!("http://127.0.0.1:{closed}/healthz"))
            .status()
            .expect("run");
        (by_url, by_port, down)
    })
    .await
    .expect("join");
    assert_eq!(by_url.code(), Some(0));
    assert_eq!(by_port.code(), Some(0));
    assert_eq!(down.code(), Some(1));
}

/// Start the binary as a container would, serve a page, then SIGTERM: exit 0.
#[test]
fn binary_serves_and_stops_cleanly_on_sigterm() {
    let site = fixture();
    let port = free_port();
    let mut child = serving(&site, port)
        .env("PUBLIC_API_URL", "http://localhost:5000")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let url = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut healthy = false;
    while Instant::now() < deadline {
        let status = bin()
            .args(["healthcheck", "--timeout", "1s", "--url", &url])
            .stderr(Stdio::null())
            .status()
            .expect("probe");
        if status.success() {
            healthy = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !healthy {
        let _ = child.kill();
        panic!("the server never became healthy");
    }
    let body = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async move {
            let client = client();
            let config = client
                .get(format!("http://127.0.0.1:{port}/runtime-config.js"))
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("body");
            // Encodings are computed in the background after start: brotli shows up soon.
            let mut encoding = String::new();
            for _ in 0..300 {
                let r = client
                    .get(format!("http://127.0.0.1:{port}/"))
                    .header("accept-encoding", "br")
                    .send()
                    .await
                    .expect("get");
                assert_eq!(r.status(), 200);
                encoding = r
                    .headers()
                    .get("content-encoding")
                    .map(|v| v.to_str().unwrap_or_default().to_string())
                    .unwrap_or_default();
                if encoding == "br" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(encoding, "br", "brotli never became available");
            config
        })
    })
    .join()
    .expect("join");
    assert!(body.contains("http://localhost:5000"), "{body}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "{status:?}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_missing_directory_in_a_site_dir_list_is_named() {
    let site = fixture();
    let list = format!("{}:/definitely/not/here", site.site_dir().display());
    let out = bin().env("SITE_DIR", list).output().expect("run");
    let line = one_line_error(&out);
    assert!(line.contains("SITE_DIR"), "{line}");
    assert!(line.contains("'/definitely/not/here'"), "{line}");
}

#[test]
fn a_page_including_a_missing_partial_stops_the_start_naming_both() {
    let site = fixture();
    site.write("page.html", "<!--#include file=\"_partials/gone.html\" -->");
    let mut cmd = bin();
    cmd.env("SITE_DIR", site.site_dir())
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("LOG_FORMAT", "json");
    let line = one_line_error(&refused_start(cmd));
    assert!(
        line.contains("SITE_DIR") && line.contains("/page.html"),
        "{line}"
    );
    assert!(
        line.contains("/_partials/gone.html does not exist"),
        "{line}"
    );
}

/// Runs a command that must refuse to start; one that is still running after 10 s is a failure,
/// not a hang.
fn refused_start(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started, and should have refused to");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// The access log is written by a background thread in batches: the lines of the requests
/// answered just before SIGTERM must still be on stdout when the process has exited.
#[test]
fn the_last_access_log_lines_are_written_before_exit() {
    use std::io::Read;
    let site = fixture();
    let port = free_port();
    let mut child = serving(&site, port)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let sent = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async move {
            let client = client();
            let deadline = Instant::now() + Duration::from_secs(30);
            while client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                .is_err()
            {
                assert!(Instant::now() < deadline, "the server never came up");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            for i in 0..200 {
                let r = client
                    .get(format!("http://127.0.0.1:{port}/missing-{i}"))
                    .header("x-request-id", format!("exit-test-{i}"))
                    .send()
                    .await
                    .expect("get");
                assert_eq!(r.status(), 404);
            }
        })
    });
    sent.join().expect("requests");
    // Stop at once: the writer has had no time to come round on its own.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let out = reader.join().expect("reader");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["message"] == "request")
        .collect();
    for i in 0..200 {
        let id = format!("exit-test-{i}");
        let line = lines
            .iter()
            .find(|v| v["span"]["request_id"] == id.as_str())
            .unwrap_or_else(|| panic!("no access-log line for {id}:\n{out}"));
        assert_eq!(line["path"], format!("/missing-{i}"));
        assert_eq!(line["status"], 404);
        assert_eq!(line["method"], "GET");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], "service_runtime::telemetry");
        assert!(
            line["micros"].is_u64() && line["timestamp"].is_string(),
            "{line}"
        );
    }
}
