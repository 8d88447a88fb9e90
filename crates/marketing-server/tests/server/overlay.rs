//! `SITE_DIR=a:b`: several directories served as one site (how the development stack serves a
//! site together with `sites/shared/`).

use std::path::PathBuf;

use marketing_server::config::{default_csp, Settings};
use marketing_server::site::Site;
use reqwest::header::CACHE_CONTROL;

use crate::helpers::{client, fixture, spawn_settings, Fixture, SECRET};

const SHARED_JS: &str = "/assets/money.0123456789.js";

/// The standard fixture plus `shared/` beside it, holding one module.
fn with_shared() -> (Fixture, PathBuf) {
    let site = fixture();
    let shared = site.dir.path().join("shared");
    std::fs::create_dir_all(shared.join("assets")).expect("mkdir");
    std::fs::write(
        shared.join(SHARED_JS.trim_start_matches('/')),
        "export const x = 1;\n",
    )
    .expect("write");
    (site, shared)
}

fn settings(site_dirs: Vec<PathBuf>) -> Settings {
    Settings {
        site_dirs,
        spa: false,
        content_security_policy: default_csp(None),
        public: Vec::new(),
    }
}

#[tokio::test]
async fn files_of_every_site_dir_are_served_as_one_site() {
    let (site, shared) = with_shared();
    let server = spawn_settings(&settings(vec![site.site_dir(), shared])).await;
    let c = client();
    let r = c
        .get(format!("{}{SHARED_JS}", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.text().await.expect("body"), "export const x = 1;\n");
    let r = c
        .get(format!("{}/about", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.status(),
        200,
        "the first directory is still served, aliases included"
    );
}

#[tokio::test]
async fn a_symlink_may_not_reach_out_of_its_own_site_dir() {
    let (site, shared) = with_shared();
    std::os::unix::fs::symlink(site.dir.path().join("secret"), shared.join("leak2.txt"))
        .expect("symlink");
    // Into the other site directory is out of its own, too.
    std::os::unix::fs::symlink(
        site.site_dir().join("about.html"),
        shared.join("about2.html"),
    )
    .expect("symlink");
    let server = spawn_settings(&settings(vec![site.site_dir(), shared])).await;
    for path in ["/leak2.txt", "/about2.html"] {
        let r = client()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404, "{path}");
        assert!(!r.text().await.expect("body").contains(SECRET));
    }
}

#[test]
fn a_path_that_two_site_dirs_provide_stops_the_load() {
    let (site, shared) = with_shared();
    std::fs::write(shared.join("about.html"), "<h1>Another about</h1>").expect("write");
    let err = Site::load(&settings(vec![site.site_dir(), shared.clone()])).expect_err("overlap");
    let message = err.to_string();
    assert!(
        message.contains("/about.html") && message.contains("SITE_DIR"),
        "{message}"
    );
    assert!(message.contains(&shared.display().to_string()), "{message}");
}
