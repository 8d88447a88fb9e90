//! Stripe's `/v1/webhook_endpoints` as `tools` sees it: the project's Stripe stand-in
//! (`test_support::stripe`, which checks the key and the form as Stripe does, and records every
//! request), with the two keys these tests use and ids they can name (`we_0001`, ...).

use test_support::stripe::{Options, StandIn};

pub use test_support::stripe::Mode;

pub const TEST_KEY: &str = "sk_test_good_key_123";
pub const PROD_KEY: &str = "sk_live_good_key_456";

/// One request as received, in the terms these tests assert.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub key: Option<String>,
    pub url: Option<String>,
    pub events: Vec<String>,
}

#[derive(Clone)]
pub struct FakeStripe {
    stand_in: StandIn,
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let stand_in = StandIn::start(Options {
            api_keys: vec![TEST_KEY.into(), PROD_KEY.into()],
            prices: Vec::new(),
            webhook: None,
            public_url: None,
            sequential_ids: true,
        })
        .await;
        FakeStripe { stand_in }
    }

    pub fn base(&self) -> String {
        self.stand_in.base()
    }

    pub fn set_mode(&self, mode: Mode) {
        self.stand_in.set_mode(mode);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.stand_in
            .calls()
            .into_iter()
            .map(|c| Call {
                url: c.field("url").map(str::to_string),
                events: c
                    .fields("enabled_events[]")
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                method: c.method,
                path: c.path,
                key: c.key,
            })
            .collect()
    }

    /// Registers an endpoint as if created earlier (for delete tests).
    pub fn add_endpoint(&self, id: &str, url: &str) {
        self.stand_in.add_endpoint_with_id(id, url);
    }

    pub fn has_endpoint(&self, id: &str) -> bool {
        self.stand_in.has_endpoint(id)
    }
}
