//! `Stripe-Signature` verification on arbitrary headers and bodies: never a panic, and never a
//! success for a header that was not made with the secret.
#![no_main]

use backend::billing::signature::{header, verify, TOLERANCE_SECS};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "whsec_fuzz_secret";
const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    // "<header>\n<body>": the header is what an attacker controls most directly.
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    // A forged header can only pass by containing the real signature, which the fuzzer cannot
    // compute: any success means the parser accepted something it should not have.
    let forged = verify(head, body, SECRET, NOW, TOLERANCE_SECS);
    if forged.is_ok() {
        let genuine = header(SECRET, NOW, body);
        assert!(
            head.contains(&genuine[genuine.find("v1=").unwrap_or(0)..]),
            "accepted a forged signature: {head:?}"
        );
    }
    // Any timestamp (including ones that overflow when compared with now) must not panic.
    let _ = verify(head, body, SECRET, i64::MAX, TOLERANCE_SECS);
    let _ = verify(head, body, SECRET, i64::MIN, TOLERANCE_SECS);
    // The genuine header with the fuzzed text appended: parsed without panicking whatever follows.
    let mut genuine = header(SECRET, NOW, body);
    genuine.push(',');
    genuine.push_str(head);
    let _ = verify(&genuine, body, SECRET, NOW, TOLERANCE_SECS);
});
