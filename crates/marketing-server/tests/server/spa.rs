//! `--spa`: extensionless unknown paths that accept HTML get index.html; assets still 404.

use reqwest::header::ACCEPT;

use crate::helpers::{client, fixture, index_html, spawn};

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[tokio::test]
async fn spa_mode_falls_back_to_index_for_routes_only() {
    let site = fixture();
    let server = spawn(&site, true).await;
    let c = client();
    for path in ["/dashboard", "/accounts/42/edit"] {
        let r = c
            .get(format!("{}{path}", server.base))
            .header(ACCEPT, BROWSER_ACCEPT)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers()["cache-control"].to_str().expect("ascii"),
            "no-cache"
        );
        assert_eq!(r.text().await.expect("body"), index_html(), "{path}");
    }
    // Real files are still themselves.
    let r = c
        .get(format!("{}/about", server.base))
        .send()
        .await
        .expect("get");
    assert!(r.text().await.expect("body").starts_with("<h1>About</h1>"));
    // Missing assets and non-HTML requests do not get a page.
    for (path, accept) in [
        ("/app.js", BROWSER_ACCEPT),
        ("/assets/missing.css", "text/css,*/*;q=0.1"),
        ("/api/data", "application/json"),
    ] {
        let r = c
            .get(format!("{}{path}", server.base))
            .header(ACCEPT, accept)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn without_spa_mode_unknown_routes_are_404() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let r = client()
        .get(format!("{}/dashboard", server.base))
        .header(ACCEPT, BROWSER_ACCEPT)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    assert!(r
        .text()
        .await
        .expect("body")
        .contains("Custom missing page"));
}
