//! Pages sharing partials through `<!--#include file="_partials/..." -->`, resolved at load.

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, ETAG, IF_NONE_MATCH};

use crate::helpers::{client, fixture, gunzip, gzip, long_text, spawn, Fixture};

const PAGE: &str =
    "<!doctype html>\n<head>\n<!--#include file=\"_partials/head.html\" -->\n</head>\n";

fn with_partials() -> Fixture {
    let site = fixture();
    site.write("shared.html", PAGE);
    site.write(
        "_partials/head.html",
        format!("  <title>Shared head</title>\n{}\n", long_text("partial")),
    );
    // Precompressed from the unresolved page: must not be what a gzip client gets.
    site.write("shared.html.gz", gzip(PAGE.as_bytes()));
    site
}

fn resolved() -> String {
    format!(
        "<!doctype html>\n<head>\n  <title>Shared head</title>\n{}\n</head>\n",
        long_text("partial")
    )
}

#[tokio::test]
async fn pages_are_served_with_their_partials_in_place() {
    let site = with_partials();
    let server = spawn(&site, false).await;
    let c = client();
    let r = c
        .get(format!("{}/shared.html", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let etag = r.headers()[ETAG].clone();
    assert_eq!(r.text().await.expect("body"), resolved());

    // The ETag is that of the resolved bytes: it validates, and the gzip answer is made from
    // the resolved page, not from the stale sibling.
    let r = c
        .get(format!("{}/shared.html", server.base))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 304);
    let r = c
        .get(format!("{}/shared.html", server.base))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(
        String::from_utf8(gunzip(&r.bytes().await.expect("body"))).expect("utf-8"),
        resolved()
    );
}

#[tokio::test]
async fn partials_and_stale_siblings_are_never_served() {
    let site = with_partials();
    let server = spawn(&site, false).await;
    for path in [
        "/_partials/head.html",
        "/_partials/",
        "/_partials",
        "/shared.html.gz",
    ] {
        let r = client()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404, "{path}");
    }
}
