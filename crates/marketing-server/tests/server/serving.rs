//! Serving the site: encodings, validators, cache policy, security headers, errors, aliases.

use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, LOCATION, VARY,
};
use reqwest::StatusCode;

use crate::helpers::{
    client, fixture, gunzip, index_html, long_text, spawn, spawn_with, unbrotli, Options, HASHED_JS,
};

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing {name} in {:?}", r.headers()))
        .to_str()
        .expect("ascii header")
}

#[tokio::test]
async fn healthz_answers_1_for_get_and_head() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    let r = c
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(r.text().await.expect("body"), "1");
    let r = c
        .head(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn index_is_served_at_root_without_encoding_when_not_asked() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let r = client().get(&server.base).send().await.expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert!(r.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(header(&r, "vary"), "accept-encoding");
    assert_eq!(r.text().await.expect("body"), index_html());
}

#[tokio::test]
async fn brotli_and_gzip_are_negotiated_and_decode_to_the_file() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    let url = format!("{}/style.css", server.base);
    let plain = c.get(&url).send().await.expect("get");
    let plain_etag = header(&plain, "etag").to_string();
    let plain = plain.bytes().await.expect("body");
    assert!(plain.starts_with(b"body{color:red}"));

    let r = c
        .get(&url)
        .header(ACCEPT_ENCODING, "gzip, deflate, br, zstd")
        .send()
        .await
        .expect("get");
    assert_eq!(header(&r, "content-encoding"), "br");
    assert_eq!(header(&r, "vary"), "accept-encoding");
    assert_eq!(header(&r, "content-type"), "text/css; charset=utf-8");
    let br_etag = header(&r, "etag").to_string();
    let body = r.bytes().await.expect("body");
    assert!(body.len() < plain.len());
    assert_eq!(unbrotli(&body), plain);

    let r = c
        .get(&url)
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(header(&r, "content-encoding"), "gzip");
    let gz_etag = header(&r, "etag").to_string();
    assert_eq!(gunzip(&r.bytes().await.expect("body")), plain);

    // Each representation has its own strong validator.
    assert_ne!(plain_etag, br_etag);
    assert_ne!(plain_etag, gz_etag);
    assert_ne!(gz_etag, br_etag);
    assert!(!plain_etag.starts_with("W/"));

    // q-values: brotli refused, gzip preferred over identity.
    let r = c
        .get(&url)
        .header(ACCEPT_ENCODING, "br;q=0, gzip;q=0.5, identity;q=0.1")
        .send()
        .await
        .expect("get");
    assert_eq!(header(&r, "content-encoding"), "gzip");
}

#[tokio::test]
async fn precompressed_siblings_are_served_when_present() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    let url = format!("{}/pre.css", server.base);
    let r = c
        .get(&url)
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(header(&r, "content-encoding"), "gzip");
    assert_eq!(
        gunzip(&r.bytes().await.expect("body")),
        long_text("from-gz-sibling").as_bytes()
    );
    let r = c
        .get(&url)
        .header(ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(header(&r, "content-encoding"), "br");
    assert_eq!(
        unbrotli(&r.bytes().await.expect("body")),
        long_text("from-br-sibling").as_bytes()
    );
    let r = c.get(&url).send().await.expect("get");
    assert_eq!(r.text().await.expect("body"), long_text("plain-pre"));
    let r = c
        .get(format!("{}/tiny.txt", server.base))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("get");
    assert!(r.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(r.text().await.expect("body"), "hi");
}

#[tokio::test]
async fn incompressible_files_are_sent_as_is() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let r = client()
        .get(format!("{}/logo.png", server.base))
        .header(ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "image/png");
    assert!(r.headers().get(CONTENT_ENCODING).is_none());
    assert!(r.headers().get(VARY).is_none());
}

#[tokio::test]
async fn if_none_match_gives_304_without_body() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    let url = format!("{}/style.css", server.base);
    let r = c
        .get(&url)
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .expect("get");
    let etag = header(&r, "etag").to_string();

    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_string(),
    ] {
        let r = c
            .get(&url)
            .header(ACCEPT_ENCODING, "br")
            .header(IF_NONE_MATCH, &inm)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{inm}");
        assert_eq!(header(&r, "etag"), etag);
        assert_eq!(header(&r, "cache-control"), "no-cache");
        assert_eq!(header(&r, "x-frame-options"), "DENY");
        assert!(r.bytes().await.expect("body").is_empty());
    }

    // A stale tag, or the tag of another encoding, gets the full answer.
    for (inm, accept) in [("\"stale\"", "br"), (etag.as_str(), "identity")] {
        let r = c
            .get(&url)
            .header(ACCEPT_ENCODING, accept)
            .header(IF_NONE_MATCH, inm)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{inm} {accept}");
        assert!(!r.bytes().await.expect("body").is_empty());
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_html_revalidates() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    let r = c
        .get(format!("{}{HASHED_JS}", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    for path in ["/", "/about", "/style.css", "/runtime-config.js"] {
        let r = c
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "cache-control"), "no-cache", "{path}");
    }
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let site = fixture();
    let server = spawn_with(
        &site,
        Options {
            spa: false,
            public: vec![("API_URL".into(), "https://api.example.com/v1".into())],
        },
    )
    .await;
    let c = client();
    let responses = [
        c.get(&server.base).send().await.expect("get"),
        c.get(format!("{}/nope", server.base))
            .send()
            .await
            .expect("404"),
        c.post(&server.base).send().await.expect("405"),
        c.get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("healthz"),
        c.get(format!("{}{HASHED_JS}", server.base))
            .send()
            .await
            .expect("js"),
    ];
    for r in &responses {
        let csp = header(r, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(
            csp.contains("connect-src 'self' https://api.example.com;"),
            "{csp}"
        );
        assert_eq!(header(r, "x-content-type-options"), "nosniff");
        assert_eq!(
            header(r, "referrer-policy"),
            "strict-origin-when-cross-origin"
        );
        assert_eq!(header(r, "x-frame-options"), "DENY");
        assert!(header(r, "permissions-policy").contains("camera=()"));
    }
}

#[tokio::test]
async fn missing_pages_get_the_sites_404_page() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    for path in ["/nope", "/app.js", "/docs/missing/", "/.env"] {
        let r = c
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
        assert!(r
            .text()
            .await
            .expect("body")
            .contains("Custom missing page"));
    }
}

#[tokio::test]
async fn builtin_404_page_without_404_html() {
    let site = fixture();
    std::fs::remove_file(site.site_dir().join("404.html")).expect("rm");
    let server = spawn(&site, false).await;
    let r = client()
        .get(format!("{}/nope", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    assert!(r.text().await.expect("body").contains("Not found"));
}

#[tokio::test]
async fn clean_urls_and_directory_indexes() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    let r = c
        .get(format!("{}/about", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("body").starts_with("<h1>About</h1>"));
    let r = c
        .get(format!("{}/docs/", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.expect("body"), "<h1>Docs index</h1>");
    let r = c
        .get(format!("{}/docs?x=1", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 301);
    assert_eq!(header(&r, "location"), "/docs/?x=1");
    assert!(r.headers().get(LOCATION).is_some());
}

#[tokio::test]
async fn head_has_headers_and_no_body() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    let get = c
        .get(format!("{}/style.css", server.base))
        .send()
        .await
        .expect("get");
    let len = header(&get, "content-length").to_string();
    let r = c
        .head(format!("{}/style.css", server.base))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-length"), len);
    assert!(r.headers().get(ETAG).is_some());
    assert!(r.headers().get(CACHE_CONTROL).is_some());
    assert!(r.headers().get(CONTENT_TYPE).is_some());
    assert!(r.headers().get(CONTENT_LENGTH).is_some());
    assert!(r.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let r = c
            .request(method.clone(), format!("{}/index.html", server.base))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 405, "{method}");
        assert_eq!(header(&r, "allow"), "GET, HEAD");
    }
}

#[tokio::test]
async fn runtime_config_publishes_public_vars_safely() {
    let site = fixture();
    let server = spawn_with(
        &site,
        Options {
            spa: false,
            public: vec![
                ("API_URL".into(), "http://localhost:5000".into()),
                ("EVIL".into(), "</script><script>alert(1)</script>".into()),
            ],
        },
    )
    .await;
    let r = client()
        .get(format!("{}/runtime-config.js", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    let body = r.text().await.expect("body");
    assert!(body.starts_with("window.__RUNTIME_CONFIG__ = {"), "{body}");
    assert!(
        body.contains(r#""API_URL":"http://localhost:5000""#),
        "{body}"
    );
    assert!(!body.contains("</script>"), "{body}");
    assert!(!body.contains('<'), "{body}");
}

/// A large script: varied enough that its gzip encoding is large too (both are sent with
/// sendfile from memfd mirrors).
fn large_script() -> String {
    let mut s = String::from("// large\n");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    while s.len() < 600 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("var v{:x} = {};\n", x >> 40, x % 1000));
    }
    s
}

/// One response read off a raw keep-alive connection, `chunk` bytes per read with a pause
/// every read while `slow` (so the server's socket fills and its sends are partial); `buf`
/// carries what was read beyond it (pipelined answers) to the next call.
async fn read_response(
    conn: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
    chunk: usize,
    slow: bool,
) -> (String, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut part = vec![0u8; chunk];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut part).await.expect("read head");
        assert!(n > 0, "connection closed in the head");
        buf.extend_from_slice(&part[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("ascii head");
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().expect("length"))
        })
        .expect("content-length");
    buf.drain(..head_end);
    while buf.len() < len {
        let n = conn.read(&mut part).await.expect("read body");
        assert!(n > 0, "connection closed in the body");
        buf.extend_from_slice(&part[..n]);
        if slow {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
    let body = buf.drain(..len).collect();
    (head, body)
}

#[tokio::test]
async fn large_files_are_sent_with_sendfile_and_arrive_intact() {
    use tokio::io::AsyncWriteExt;
    let site = fixture();
    let script = large_script();
    site.write("assets/big.0123abcd.js", &script);
    let server = spawn(&site, false).await;
    let before = service_runtime::server::sendfile::bytes_sent();

    let mut conn = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    // A slow reader first: the socket buffer fills, so sendfile is partial and resumed.
    conn.write_all(b"GET /assets/big.0123abcd.js HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let (head, body) = read_response(&mut conn, &mut buf, 4096, true).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("content-encoding"),
        "{head}"
    );
    assert!(
        body == script.as_bytes(),
        "identity body differs from the file"
    );
    // Then two requests at once on the same connection: gzip, then a small page (heap body).
    conn.write_all(
        b"GET /assets/big.0123abcd.js HTTP/1.1\r\nhost: t\r\naccept-encoding: gzip\r\n\r\n\
          GET /about HTTP/1.1\r\nhost: t\r\n\r\n",
    )
    .await
    .expect("write");
    let (head, gz) = read_response(&mut conn, &mut buf, 64 * 1024, false).await;
    assert!(
        head.to_ascii_lowercase().contains("content-encoding: gzip"),
        "{head}"
    );
    assert!(
        gz.len() >= service_runtime::server::sendfile::MIN_BYTES,
        "{}",
        gz.len()
    );
    assert!(
        gunzip(&gz) == script.as_bytes(),
        "gzip body differs from the file"
    );
    let (head, page) = read_response(&mut conn, &mut buf, 64 * 1024, false).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(String::from_utf8_lossy(&page).contains("About"));
    assert!(buf.is_empty(), "bytes beyond the last answer");

    let sent = service_runtime::server::sendfile::bytes_sent() - before;
    assert!(
        sent >= (script.len() + gz.len()) as u64,
        "only {sent} bytes went out with sendfile"
    );
}
