//! `tools`: the operational commands of the prod images (see the `tools` library for details).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli: tools::cli::Cli = service_runtime::config::parse();
    tools::run(cli)
}
