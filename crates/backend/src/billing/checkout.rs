//! The two calls a user's browser makes us make to Stripe: a Checkout Session in subscription
//! mode (<https://docs.stripe.com/api/checkout/sessions/create>) and a customer portal session
//! (<https://docs.stripe.com/api/customer_portal/sessions/create>). Both answer the URL to send
//! the browser to; the return URLs lie under `APP_URL`.

use serde::Deserialize;
use uuid::Uuid;

use crate::stripe::{StripeApi, StripeError};

/// Where Stripe sends the browser after paying: the SPA's return page, which polls
/// `GET /billing/subscription` until the webhook has landed. Stripe fills in the session id.
pub const SUCCESS_PATH: &str = "/billing/success?session_id={CHECKOUT_SESSION_ID}";
/// Where Stripe sends the browser when the user backs out of checkout.
pub const CANCEL_PATH: &str = "/billing/cancel";
/// Where the portal's "return" link goes.
pub const PORTAL_RETURN_PATH: &str = "/billing";

/// Stripe, as billing uses it: the API client, the price of the one plan, the app's URL.
#[derive(Debug)]
pub struct Checkout {
    pub api: StripeApi,
    pub price_id: String,
    /// `APP_URL` without a trailing slash.
    pub app_url: String,
}

/// Who is checking out.
pub struct Customer<'a> {
    pub user_id: Uuid,
    /// The Stripe customer from an earlier checkout, reused so one person stays one customer.
    pub stripe_customer_id: Option<&'a str>,
    /// Prefilled on the checkout page when there is no customer yet.
    pub email: &'a str,
}

#[derive(Deserialize)]
struct WithUrl {
    url: Option<String>,
}

impl Checkout {
    /// Creates a Checkout Session for the plan; returns its URL.
    pub async fn session_url(&self, customer: &Customer<'_>) -> Result<String, StripeError> {
        let user_id = customer.user_id.to_string();
        let success_url = format!("{}{SUCCESS_PATH}", self.app_url);
        let cancel_url = format!("{}{CANCEL_PATH}", self.app_url);
        let mut form = vec![
            ("mode", "subscription"),
            ("line_items[0][price]", self.price_id.as_str()),
            ("line_items[0][quantity]", "1"),
            ("success_url", success_url.as_str()),
            ("cancel_url", cancel_url.as_str()),
            ("client_reference_id", user_id.as_str()),
        ];
        // Stripe takes one or the other, never both.
        match customer.stripe_customer_id {
            Some(id) => form.push(("customer", id)),
            None => form.push(("customer_email", customer.email)),
        }
        let session: WithUrl = self.api.post_form("/v1/checkout/sessions", &form).await?;
        http_url(session.url, "checkout session")
    }

    /// Creates a customer portal session for `stripe_customer_id`; returns its URL.
    pub async fn portal_url(&self, stripe_customer_id: &str) -> Result<String, StripeError> {
        let return_url = format!("{}{PORTAL_RETURN_PATH}", self.app_url);
        let form = [
            ("customer", stripe_customer_id),
            ("return_url", return_url.as_str()),
        ];
        let session: WithUrl = self
            .api
            .post_form("/v1/billing_portal/sessions", &form)
            .await?;
        http_url(session.url, "billing portal session")
    }
}

/// The URL we send a browser to must be one: anything else is Stripe misbehaving.
fn http_url(url: Option<String>, what: &str) -> Result<String, StripeError> {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| StripeError::BadResponse(format!("the {what} has no URL")))
}
