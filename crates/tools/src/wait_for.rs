//! `wait-for HOST:PORT...`: block until a TCP connection to every target succeeds, or give up at
//! a deadline. Replaces the busybox `until nslookup ...; do sleep 2; done` init containers: it
//! checks what the next container actually needs (the port accepting connections), and it ends.
//!
//! Name resolution is retried too: in Kubernetes a Service's DNS name can appear after the pod
//! that waits for it starts.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use clap::Args;
use service_runtime::config::{format_duration, parse_duration};
use tokio::net::TcpStream;

use crate::exit::Failure;

#[derive(Args, Debug)]
pub struct WaitForArgs {
    /// Targets as HOST:PORT (e.g. database:5432, [::1]:80).
    #[arg(required = true, num_args = 1.., value_parser = Target::parse)]
    pub targets: Vec<Target>,
    /// Give up (exit 1) after this long.
    #[arg(long, env = "WAIT_FOR_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Pause between rounds of connection attempts (also each attempt's time limit).
    #[arg(long, env = "WAIT_FOR_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
}

const P: &str = "wait-for";

/// A `HOST:PORT` target (`[::1]:80` for IPv6 literals).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

impl Target {
    pub fn parse(input: &str) -> Result<Target, String> {
        let bad = || format!("'{input}' is not HOST:PORT (e.g. database:5432)");
        let (host, port) = input.trim().rsplit_once(':').ok_or_else(bad)?;
        let host = match host.strip_prefix('[') {
            Some(h) => h.strip_suffix(']').ok_or_else(bad)?,
            None if host.contains(':') => return Err(bad()),
            None => host,
        };
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Target {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Tries one connection within `limit`; the error is the reason to show.
async fn probe(target: &Target, limit: Duration) -> Result<(), String> {
    let addr = (target.host.as_str(), target.port);
    match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}", format_duration(limit))),
    }
}

/// `wait-for`.
pub async fn run(args: &WaitForArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let deadline = started + args.timeout;
    // target -> last reason it failed (None: not tried yet)
    let mut pending: BTreeMap<Target, Option<String>> =
        args.targets.iter().map(|t| (t.clone(), None)).collect();
    let names: Vec<String> = pending.keys().map(Target::to_string).collect();
    eprintln!(
        "{P}: waiting up to {} for {}",
        format_duration(args.timeout),
        names.join(", ")
    );
    loop {
        let round = Instant::now();
        let limit = args.interval.max(Duration::from_millis(100)).min(
            deadline
                .saturating_duration_since(round)
                .max(Duration::from_millis(100)),
        );
        // Concurrently: sequential probes would add their time limits up.
        let mut probes = tokio::task::JoinSet::new();
        for target in pending.keys().cloned() {
            probes.spawn(async move {
                let result = probe(&target, limit).await;
                (target, result)
            });
        }
        while let Some(joined) = probes.join_next().await {
            let Ok((target, result)) = joined else {
                continue;
            };
            match result {
                Ok(()) => {
                    eprintln!(
                        "{P}: {target} is reachable (after {:.1}s)",
                        started.elapsed().as_secs_f64()
                    );
                    pending.remove(&target);
                }
                Err(reason) => {
                    let last = pending.get_mut(&target);
                    if let Some(last) = last {
                        if last.as_deref() != Some(reason.as_str()) {
                            eprintln!("{P}: {target} not reachable yet: {reason}");
                            *last = Some(reason);
                        }
                    }
                }
            }
        }
        if pending.is_empty() {
            eprintln!("{P}: all {} target(s) reachable", args.targets.len());
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            let missing: Vec<String> = pending
                .iter()
                .map(|(t, why)| match why {
                    Some(why) => format!("{t} ({why})"),
                    None => t.to_string(),
                })
                .collect();
            return Err(anyhow::anyhow!(
                "gave up after {}: not reachable: {}",
                format_duration(args.timeout),
                missing.join(", ")
            )
            .into());
        }
        let next_round = round + args.interval;
        tokio::time::sleep_until(next_round.min(deadline).into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("database:5432"),
            Ok(Target {
                host: "database".into(),
                port: 5432
            })
        );
        assert_eq!(
            Target::parse("[::1]:80").map(|t| t.to_string()),
            Ok("[::1]:80".to_string())
        );
        for bad in [
            "database",
            "database:",
            ":5432",
            "db:0",
            "db:99999",
            "::1:80",
            "[::1:80",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
