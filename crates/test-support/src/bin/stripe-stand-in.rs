//! `stripe-stand-in`: the local Stripe of the end-to-end stack ([`test_support::stripe`]).
//! The backend reaches its API at `STRIPE_API_BASE`; browsers reach its hosted checkout and
//! portal at `--public-url`; paying sends signed events to `--webhook-url` with the webhook
//! secret the backend verifies. Test keys only: it accepts the keys it is given and no others.
//!
//! `stripe-stand-in healthcheck` probes its `/healthz` (the image has no shell or curl).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use service_runtime::healthcheck::ServiceCommand;
use test_support::stripe::{Options, StandIn};

/// A local stand-in for Stripe's API, hosted checkout and customer portal (tests only).
#[derive(Parser, Debug)]
#[command(name = "stripe-stand-in", version, subcommand_negates_reqs = true)]
struct Args {
    #[command(subcommand)]
    command: Option<ServiceCommand>,
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 12111)]
    port: u16,
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Secret keys the API accepts (comma-separated); test-mode keys only.
    #[arg(
        long,
        env = "STRIPE_API_KEY",
        hide_env_values = true,
        value_delimiter = ',',
        required = true
    )]
    api_key: Vec<String>,
    /// Prices that exist (comma-separated).
    #[arg(long, env = "STRIPE_PRICE_ID", value_delimiter = ',', required = true)]
    price: Vec<String>,
    /// A webhook endpoint that exists from the start (the backend's /billing/webhook).
    #[arg(long, env = "STAND_IN_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// The signing secret of that endpoint (the backend's STRIPE_WEBHOOK_SECRET).
    #[arg(
        long,
        env = "STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        requires = "webhook_url"
    )]
    webhook_secret: Option<String>,
    /// Base URL browsers use to reach the hosted pages, e.g. http://127.0.0.1:12111.
    #[arg(long, env = "STAND_IN_PUBLIC_URL")]
    public_url: Option<String>,
}

fn main() -> ExitCode {
    let args: Args = service_runtime::config::parse();
    if let Some(ServiceCommand::Healthcheck(check)) = &args.command {
        return check.run(Some(args.port));
    }
    if args.api_key.iter().any(|k| k.starts_with("sk_live_")) {
        eprintln!("error: --api-key (env STRIPE_API_KEY): the stand-in takes test keys only");
        return ExitCode::from(2);
    }
    let webhook = match (args.webhook_url, args.webhook_secret) {
        (Some(url), Some(secret)) => Some((url, secret)),
        (Some(_), None) => {
            eprintln!("error: --webhook-secret (env STRIPE_WEBHOOK_SECRET) is required with --webhook-url");
            return ExitCode::from(2);
        }
        _ => None,
    };
    let options = Options {
        api_keys: args.api_key,
        prices: args.price,
        webhook,
        public_url: args.public_url,
        sequential_ids: false,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.host, args.port);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let stand_in = StandIn::serve(listener, options);
        eprintln!("stripe-stand-in listening on {}", stand_in.addr);
        // PID 1 in its container: stop on SIGTERM/SIGINT/SIGQUIT.
        let signal = service_runtime::shutdown::signal().await;
        eprintln!("stripe-stand-in stopping ({signal})");
        ExitCode::SUCCESS
    })
}
