//! Configuration helpers: every setting is a clap flag that also reads an env var.
//!
//! Clap's own errors span several lines and echo the offending value. A container that dies at
//! start should instead leave one greppable line in its log naming the setting (flag *and* env
//! var), and must never print a secret. Arguments declared with `hide_env_values = true` are
//! treated as secrets: their values are redacted from errors.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Command, Parser};

/// Parses the process arguments and environment, or exits with one line naming the setting.
/// Help and version requests print as usual (exit 0; help for a missing subcommand exits 2).
pub fn parse<T: Parser>() -> T {
    match try_parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(ConfigError::Display(err)) => {
            let _ = err.print();
            std::process::exit(err.exit_code())
        }
        Err(ConfigError::Invalid(line)) => {
            eprintln!("error: {line}");
            std::process::exit(2)
        }
    }
}

/// A parse outcome that is not a usable configuration.
#[derive(Debug)]
pub enum ConfigError {
    /// `--help`, `--version` or help for a missing subcommand: print it.
    Display(clap::Error),
    /// A bad or missing setting, already rendered as one line.
    Invalid(String),
}

/// Like [`parse`] but returns the outcome, for tests.
pub fn try_parse_from<T, I, A>(args: I) -> Result<T, ConfigError>
where
    T: Parser,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let mut cmd = T::command();
    let matches = cmd.try_get_matches_from_mut(args);
    let result = matches.and_then(|mut m| T::from_arg_matches_mut(&mut m));
    result.map_err(|err| match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => ConfigError::Display(err),
        _ => ConfigError::Invalid(one_line(&err, &cmd)),
    })
}

/// Renders a clap error as one line that names the env var behind the flag and hides secrets.
fn one_line(err: &clap::Error, cmd: &Command) -> String {
    let mut rendered = err.render().to_string();
    // The offending value is echoed by clap: redact it for secrets, and escape it otherwise so a
    // value with a newline cannot split the line (and cut off the setting's name).
    if let Some(ContextValue::String(value)) = err.get(ContextKind::InvalidValue) {
        if !value.is_empty() {
            let secret = match err.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(invalid)) => all_args(cmd).iter().any(|a| {
                    a.is_hide_env_values_set()
                        && a.get_long()
                            .is_some_and(|l| mentions_flag(invalid, &format!("--{l}")))
                }),
                _ => false,
            };
            let shown = if secret {
                "<redacted>".to_string()
            } else {
                value.escape_default().to_string()
            };
            rendered = rendered.replace(value.as_str(), &shown);
        }
    }
    let mut lines = rendered.lines();
    let mut line = lines
        .next()
        .unwrap_or("invalid configuration")
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" lists the flags on the indented
    // lines that follow: keep them, or the line names no setting.
    if line.ends_with(':') {
        let listed: Vec<&str> = lines
            .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
            .map(str::trim)
            .collect();
        if !listed.is_empty() {
            line = format!("{line} {}", listed.join(", "));
        }
    }
    let mut envs: Vec<String> = all_args(cmd)
        .into_iter()
        .filter(|arg| {
            arg.get_long()
                .is_some_and(|long| mentions_flag(&line, &format!("--{long}")))
        })
        .filter_map(|arg| arg.get_env().map(|e| e.to_string_lossy().into_owned()))
        .collect();
    if !envs.is_empty() {
        envs.dedup();
        line.push_str(&format!(" (env {})", envs.join(", ")));
    }
    line
}

fn mentions_flag(line: &str, flag: &str) -> bool {
    line.match_indices(flag).any(|(i, _)| {
        let next = line[i + flag.len()..].chars().next();
        !matches!(next, Some(c) if c.is_ascii_alphanumeric() || c == '-')
    })
}

fn all_args(cmd: &Command) -> Vec<&clap::Arg> {
    let mut args: Vec<&clap::Arg> = cmd.get_arguments().collect();
    for sub in cmd.get_subcommands() {
        args.extend(all_args(sub));
    }
    args
}

/// Parses a duration such as `500ms`, `5s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{input}' is not a duration (examples: 500ms, 5s, 2m)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit '{other}' (use ms, s, m or h)"
            ))
        }
    };
    if !seconds.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&seconds) {
        return Err(format!("'{input}' is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Longest a `*_SECONDS` setting may be: a day. Beyond that the value is a typo, and deadlines
/// computed from it (`now + timeout`) must not overflow.
pub const MAX_SECONDS: u64 = 86_400;

/// Parses a whole number of seconds (`SHUTDOWN_DRAIN_SECONDS=5`), at most [`MAX_SECONDS`].
pub fn parse_seconds(input: &str) -> Result<Duration, String> {
    match input.trim().parse::<u64>() {
        Ok(n) if n <= MAX_SECONDS => Ok(Duration::from_secs(n)),
        Ok(_) => Err(format!("must be at most {MAX_SECONDS} (a day)")),
        Err(_) => Err(format!("'{input}' is not a whole number of seconds")),
    }
}

/// [`parse_seconds`], at least 1: for timeouts, where 0 would refuse everything.
pub fn parse_positive_seconds(input: &str) -> Result<Duration, String> {
    match parse_seconds(input)? {
        d if d.is_zero() => Err("must be at least 1".into()),
        d => Ok(d),
    }
}

/// Exit code for a binary whose main work failed: prints the error and its causes on one line.
pub fn report_failure(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", chain(err));
    ExitCode::FAILURE
}

/// `outer: cause: root cause`, the way an operator wants to read it in one log line, skipping a
/// cause its parent already quotes (sqlx's "error communicating with database: Connection
/// refused" wraps that io error, which would otherwise appear twice).
pub fn chain(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|prev| prev.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// A duration the way the flags take it: `2s`, `500ms` (the inverse of [`parse_duration`] for
/// whole seconds and milliseconds).
pub fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[arg(long, env = "TEST_CFG_PORT", default_value_t = 3000)]
        port: u16,
        #[arg(long, env = "TEST_CFG_SECRET", hide_env_values = true, value_parser = long_secret)]
        secret: Option<String>,
        #[arg(long, value_parser = parse_duration, default_value = "5s")]
        timeout: Duration,
    }

    fn long_secret(s: &str) -> Result<String, String> {
        if s.len() >= 32 {
            Ok(s.to_string())
        } else {
            Err("must be at least 32 bytes".into())
        }
    }

    fn invalid(args: &[&str]) -> String {
        match try_parse_from::<Cli, _, _>(args) {
            Err(ConfigError::Invalid(line)) => line,
            other => panic!("expected an invalid config, got {other:?}"),
        }
    }

    #[test]
    fn bad_value_is_one_line_naming_flag_and_env() {
        let line = invalid(&["x", "--port", "abc"]);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("--port"), "{line}");
        assert!(line.contains("TEST_CFG_PORT"), "{line}");
    }

    #[test]
    fn secret_values_are_redacted() {
        let line = invalid(&["x", "--secret", "hunter2"]);
        assert!(!line.contains("hunter2"), "{line}");
        assert!(line.contains("<redacted>"), "{line}");
        assert!(line.contains("TEST_CFG_SECRET"), "{line}");
        assert!(line.contains("at least 32 bytes"), "{line}");
    }

    #[test]
    fn a_value_with_a_newline_stays_on_one_line_and_names_the_setting() {
        let line = invalid(&["x", "--timeout", "a\nb"]);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("--timeout"), "{line}");
        let line = invalid(&["x", "--secret", "short\nsecret"]);
        assert!(
            !line.contains("short") && line.contains("TEST_CFG_SECRET"),
            "{line}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_seconds("75"), Ok(Duration::from_secs(75)));
        assert!(parse_seconds("1.5").is_err());
        assert!(parse_seconds("86401").is_err());
        let line = invalid(&["x", "--timeout", "soon"]);
        assert!(
            line.contains("--timeout") && line.contains("soon"),
            "{line}"
        );
    }

    #[test]
    fn missing_required_flags_are_named_with_their_env() {
        #[derive(Parser, Debug)]
        struct Needs {
            #[arg(long, env = "TEST_CFG_NEEDED_URL", hide_env_values = true)]
            needed_url: String,
        }
        let line = match try_parse_from::<Needs, _, _>(["x"]) {
            Err(ConfigError::Invalid(line)) => line,
            other => panic!("expected an invalid config, got {other:?}"),
        };
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("--needed-url"), "{line}");
        assert!(line.contains("TEST_CFG_NEEDED_URL"), "{line}");
    }

    #[test]
    fn durations_print_like_flags() {
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
    }

    #[test]
    fn chain_skips_causes_already_quoted() {
        /// Like sqlx::Error::Io: quotes its source in its own message.
        #[derive(Debug)]
        struct Communicating(std::io::Error);
        impl std::fmt::Display for Communicating {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "error communicating with database: {}", self.0)
            }
        }
        impl std::error::Error for Communicating {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let err = anyhow::Error::new(Communicating(io)).context("database not reachable");
        assert_eq!(
            chain(&err),
            "database not reachable: error communicating with database: Connection refused"
        );
    }

    #[test]
    fn help_is_not_an_error() {
        assert!(matches!(
            try_parse_from::<Cli, _, _>(["x", "--help"]),
            Err(ConfigError::Display(_))
        ));
    }
}
