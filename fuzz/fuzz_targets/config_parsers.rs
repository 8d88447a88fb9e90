//! The settings parsers every binary shares: durations, whole seconds, and the one-line error a
//! bad setting is reported with (clap's rendering, rewritten), fed arbitrary values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use service_runtime::config::{
    format_duration, parse_duration, parse_seconds, try_parse_from, ConfigError, MAX_SECONDS,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = parse_duration(text) {
        assert!(d.as_secs() <= 86_400 * 365, "{text:?} -> {d:?}");
        // What is printed back for whole milliseconds parses to the same duration.
        if d.subsec_nanos() % 1_000_000 == 0 {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{text:?}");
        }
    }
    if let Ok(d) = parse_seconds(text) {
        assert!(d.as_secs() <= MAX_SECONDS, "{text:?} -> {d:?}");
    }
    // The value of a setting, as a flag would carry it: a bad one is one line, naming the flag,
    // whatever characters it holds.
    for flag in ["--keepalive-timeout-seconds", "--shutdown-drain-seconds", "--port"] {
        let args = ["marketing-server", flag, text];
        if let Err(ConfigError::Invalid(line)) =
            try_parse_from::<marketing_server::config::Cli, _, _>(args)
        {
            assert!(!line.contains('\n'), "{line:?}");
        }
    }
});
