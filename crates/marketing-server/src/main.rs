//! Entry point: parse settings, answer `healthcheck`, or load the site and serve it.

use std::process::ExitCode;

use marketing_server::config::{Cli, Command, Settings, DEFAULT_PORT};

fn main() -> ExitCode {
    let cli: Cli = service_runtime::config::parse();
    if let Some(Command::Healthcheck(args)) = &cli.command {
        return args.run(Some(DEFAULT_PORT));
    }
    let settings = match Settings::resolve(&cli, std::env::vars_os()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    cli.log.init();
    match marketing_server::run(&cli, &settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %service_runtime::config::chain(&err), "fatal");
            service_runtime::config::report_failure(&err)
        }
    }
}
