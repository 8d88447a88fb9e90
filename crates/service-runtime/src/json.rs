//! Pieces of hand-written JSON, shared by the access log, the JSON span fields
//! ([`crate::telemetry`]) and the backend's response encoder: string escaping exactly as
//! serde_json's, so their output can be compared byte for byte with serde_json's (`\"`, `\\`,
//! `\b \f \n \r \t`, the other control characters as `\u00xx`, everything else, UTF-8 included,
//! as it is), and the zero-padded digits of dates and times.

/// Hands `s`, escaped as the inside of a JSON string, to `push` in pieces: runs of plain text as
/// they are, and an escape for each `"`, `\` and control character.
pub fn escape(s: &str, mut push: impl FnMut(&str)) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        // Every byte escaped is ASCII, so a multi-byte UTF-8 sequence is never split.
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        push(&s[start..i]);
        if short.is_empty() {
            let code = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ];
            push(std::str::from_utf8(&code).unwrap_or_default());
        } else {
            push(short);
        }
        start = i + 1;
    }
    push(&s[start..]);
}

/// `s` escaped (without quotes) onto `out`.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    escape(s, |piece| out.extend_from_slice(piece.as_bytes()));
}

/// `v` as exactly `width` decimal digits, zero-padded (`width` at most 9; `v` must fit in them):
/// the fields of `2026-12-01T23:21:59.289400Z`.
pub fn padded(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut digits = [b'0'; 9];
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

#[cfg(test)]
mod tests {
    use super::{escape_into, padded};

    #[test]
    fn padded_digits() {
        let mut out = Vec::new();
        for (v, width) in [(7, 2), (2026, 4), (0, 3), (289_400, 6), (999_999_999, 9)] {
            padded(&mut out, v, width);
            out.push(b' ');
        }
        assert_eq!(out, b"07 2026 000 289400 999999999 ");
    }

    #[test]
    fn escapes_exactly_as_serde_json() {
        let mut cases: Vec<String> = (0u8..0x80).map(|c| format!("a{}b", c as char)).collect();
        cases.extend(
            ["", "plain", "a\"b\\c\u{1}é", "\u{2028}\u{2029}", "日本語 ✓"].map(String::from),
        );
        for text in cases {
            let mut ours = b"\"".to_vec();
            escape_into(&mut ours, &text);
            ours.push(b'"');
            let theirs = serde_json::to_vec(&text).expect("serde_json");
            assert_eq!(ours, theirs, "{text:?}");
        }
    }
}
