//! `backend`: reads its settings, serves the API on PORT (5000) with the drain contract.

use std::process::ExitCode;

use anyhow::Context;
use backend::config::{Cli, Command};
use backend::db::lazy_pool;
use backend::state::{AppState, Settings};
use service_runtime::{shutdown, Server};

fn main() -> ExitCode {
    let cli: Cli = service_runtime::config::parse();
    if let Some(Command::Healthcheck(args)) = &cli.command {
        return args.run(Some(cli.port));
    }
    if let Err(line) = cli.validate() {
        eprintln!("error: {line}");
        return ExitCode::from(2);
    }
    cli.log.init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => service_runtime::config::report_failure(&e),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // clap enforces both (required = true) whenever no subcommand is given.
    let (Some(db), Some(jwt_secret)) = (cli.database_url.clone(), cli.jwt_secret.clone()) else {
        anyhow::bail!("DATABASE_URL and JWT_SECRET are required");
    };
    let runtime = service_runtime::server::runtime().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let pool = lazy_pool(
            db,
            cli.database_max_connections,
            cli.database_acquire_timeout,
        );
        let state = AppState::new(
            pool.clone(),
            Settings {
                jwt_secret,
                jwt_ttl: cli.jwt_ttl,
                stripe_webhook_secret: cli.stripe_webhook_secret.clone(),
                subscriptions_enabled: cli.subscriptions_enabled,
                login_attempts_per_minute: cli.login_attempts_per_minute,
                trust_forwarded_for: cli.trust_forwarded_for,
                cors_allowed_origins: cli.cors_allowed_origins.clone(),
            },
        )
        .context("JWT_SECRET cannot be used as a signing key")?;
        let listener = cli.serve.bind(cli.port).await?;
        tracing::info!(
            addr = %listener.local_addr()?,
            subscriptions_enabled = cli.subscriptions_enabled,
            "backend listening"
        );
        Server::new(backend::app(state), &cli.serve)
            .peer_addr() // the login rate limit keys on it
            .cleanup(async move { pool.close().await })
            .serve(listener, shutdown::signal())
            .await?;
        Ok(())
    })
}
