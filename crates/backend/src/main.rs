//! `backend`: reads its settings, then serves the API on PORT (5000) with the drain contract.

use std::process::ExitCode;

use backend::config::{Cli, Command};

fn main() -> ExitCode {
    let cli: Cli = service_runtime::config::parse();
    if let Some(Command::Healthcheck(args)) = &cli.command {
        return args.run(Some(cli.settings.port));
    }
    if let Err(line) = cli.settings.validate() {
        eprintln!("error: {line}");
        return ExitCode::from(2);
    }
    cli.settings.log.init();
    match backend::startup::run(cli.settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => service_runtime::config::report_failure(&e),
    }
}
