//! `/metrics` of the static site: requests labelled by file class (never by path), body bytes by
//! encoding, 304s, and the metrics every service exports.

use reqwest::header::{ACCEPT_ENCODING, ETAG, IF_NONE_MATCH};

use test_support::metric_sample as sample;

use crate::helpers::{client, fixture, spawn, HASHED_JS};

#[tokio::test]
async fn requests_bytes_and_revalidations_are_counted_without_raw_paths() {
    let site = fixture();
    let server = spawn(&site, false).await;
    let c = client();
    let page = c
        .get(format!("{}/about", server.base))
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 200);
    let etag = page.headers()[ETAG].clone();
    let br_len = page.bytes().await.expect("body").len() as f64;
    let again = c
        .get(format!("{}/about", server.base))
        .header(ACCEPT_ENCODING, "br")
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 304);
    let js = c
        .get(format!("{}{HASHED_JS}", server.base))
        .send()
        .await
        .expect("get");
    let js_len = js.bytes().await.expect("body").len() as f64;
    for i in 0..3 {
        let r = c
            .get(format!("{}/no-such-page-{i}", server.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404);
    }
    let r = c
        .post(format!("{}/about", server.base))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 405);
    let r = c
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);

    let scrape = c.get(&server.metrics_url).send().await.expect("scrape");
    assert_eq!(scrape.status(), 200);
    assert_eq!(
        scrape.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = scrape.text().await.expect("text");
    let requests = |labels: &str| sample(&text, &format!("http_requests_total{{{labels}}}"));
    assert_eq!(
        requests(r#"method="GET",route="page",status="200""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"method="GET",route="page",status="304""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"method="GET",route="hashed_asset",status="200""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"method="GET",route="not_found",status="404""#),
        3.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"method="POST",route="method_not_allowed",status="405""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"method="GET",route="/healthz",status="200""#),
        1.0,
        "{text}"
    );
    assert!(
        !text.contains("no-such-page"),
        "a raw path became a label:\n{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"http_request_duration_seconds_count{method="GET",route="not_found"}"#
        ),
        3.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"site_response_body_bytes_total{encoding="br"}"#),
        br_len
    );
    let identity = sample(
        &text,
        r#"site_response_body_bytes_total{encoding="identity"}"#,
    );
    assert!(identity >= js_len, "{text}");
    assert_eq!(
        sample(&text, "site_not_modified_responses_total"),
        1.0,
        "{text}"
    );
    // The scrape itself is not a request on the service's port.
    assert_eq!(sample(&text, "http_requests_in_flight"), 0.0, "{text}");
    assert!(sample(&text, "http_connections_open") >= 1.0, "{text}");
    assert_eq!(sample(&text, "http_draining"), 0.0, "{text}");
    assert!(
        sample(&text, "process_resident_memory_bytes") > 0.0,
        "{text}"
    );
    assert!(sample(&text, "process_open_fds") > 0.0, "{text}");
    assert!(text.contains("process_cpu_seconds_total "), "{text}");
    assert!(text.contains("service_build_info{version=\""), "{text}");
}
