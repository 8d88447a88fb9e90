//! Path traversal and encoding tricks, sent as raw bytes (HTTP clients normalise `..` away).
//! A `secret` file sits beside the site directory; none of these may reveal it.

use crate::helpers::{fixture, raw_get, spawn, SECRET};

#[tokio::test]
async fn traversal_attempts_are_refused_with_404() {
    let site = fixture();
    let server = spawn(&site, false).await;
    // The raw client itself works: a legitimate path is served.
    let (status, _) = raw_get(server.addr, "/about.html").await;
    assert_eq!(status, 200);
    for target in [
        "/../secret",
        "/../../secret",
        "/docs/../../secret",
        "/%2e%2e/secret",
        "/%2E%2E/secret",
        "/%2E%2E%2Fsecret",
        "/docs/%2e%2e%2f%2e%2e%2fsecret",
        "/..%2fsecret",
        "/..%5csecret",
        "/%252e%252e/secret",
        "/%252e%252e%252fsecret",
        "/.%2e/secret",
        "/./secret",
        "//secret",
        "/secret%00.html",
        "/.env",
        "/leak.txt",
        "/a\\..\\secret",
        "/..\\secret",
        "/docs\\..\\..\\secret",
    ] {
        let (status, text) = raw_get(server.addr, target).await;
        assert_eq!(status, 404, "{target}: {text}");
        assert!(!text.contains(SECRET), "{target} leaked the secret");
        assert!(!text.contains("hunter2"), "{target} leaked a dotfile");
    }
}

#[tokio::test]
async fn absolute_form_targets_are_normalised_too() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let (status, text) = raw_get(server.addr, "http://localhost/../secret").await;
    assert_eq!(status, 404, "{text}");
    assert!(!text.contains(SECRET));
}
