//! The marketing server's request-path gate: whatever it accepts must be a clean absolute path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marketing_server::path::{has_extension, normalize};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(path) = normalize(raw) {
        // What the route table sees: absolute, no dot segments, no empty segment but a
        // trailing slash, no backslash or control character.
        assert!(path.starts_with('/'), "{raw:?} -> {path:?}");
        let segments: Vec<&str> = path[1..].split('/').collect();
        for (i, segment) in segments.iter().enumerate() {
            assert!(*segment != "." && *segment != "..", "{raw:?} -> {path:?}");
            assert!(
                !segment.is_empty() || i + 1 == segments.len(),
                "{raw:?} -> {path:?}"
            );
        }
        assert!(
            !path.bytes().any(|b| b == b'\\' || b < 0x20 || b == 0x7f),
            "{raw:?} -> {path:?}"
        );
        let _ = has_extension(&path);
    }
});
