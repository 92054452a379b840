//! JSON canonicalisation (RFC 8785, JCS) and base58btc: what the `eddsa-jcs-2022` proofs are
//! computed over and written in.
//!
//! Canonical form: object members sorted by the UTF-16 code units of their names, no
//! whitespace, strings escaped only where JSON requires it (`"`, `\`, control characters, the
//! short forms `\b \f \n \r \t`, others `\u00xx`). Numbers: integers are written as integers,
//! as JCS does. Limit, said plainly: a non-integer number is written by `serde_json` (shortest
//! round-trip form), which can differ from ECMAScript's in exponent notation; kesos documents
//! hold no such numbers, and a foreign document holding one may fail to verify here.

use serde_json::Value;

/// The canonical text of a JSON value.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                out.push_str(&format!("{f:.0}"));
            }
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut names: Vec<&String> = members.keys().collect();
            names.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, name) in names.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(name, out);
                out.push(':');
                if let Some(member) = members.get(name) {
                    write(member, out);
                }
            }
            out.push('}');
        }
    }
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Base58 (Bitcoin alphabet) of `bytes`.
pub fn base58_encode(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 138 / 100 + 1);
    for &byte in &bytes[zeros..] {
        let mut carry = u32::from(byte);
        for digit in &mut digits {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = "1".repeat(zeros);
    out.extend(
        digits
            .iter()
            .rev()
            .map(|&d| char::from(BASE58[usize::from(d)])),
    );
    out
}

/// The bytes of a base58 text; `None` for a character outside the alphabet.
pub fn base58_decode(text: &str) -> Option<Vec<u8>> {
    let zeros = text.bytes().take_while(|&c| c == b'1').count();
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len());
    for c in text.bytes().skip(zeros) {
        let mut carry = u32::try_from(BASE58.iter().position(|&a| a == c)?).ok()?;
        for byte in &mut bytes {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0; zeros];
    out.extend(bytes.iter().rev());
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn members_are_sorted_and_whitespace_dropped() {
        let value = json!({ "b": [1, true, null], "a": { "z": "x", "é": 2, "A": -3 } });
        assert_eq!(
            canonical(&value),
            r#"{"a":{"A":-3,"z":"x","é":2},"b":[1,true,null]}"#
        );
    }

    #[test]
    fn strings_escape_only_what_json_requires() {
        assert_eq!(
            canonical(&json!("a\"b\\c\nd\u{1}é/")),
            r#""a\"b\\c\nd\u0001é/""#
        );
    }

    #[test]
    fn base58_round_trips_and_keeps_leading_zeros() {
        for bytes in [
            vec![],
            vec![0, 0, 1, 2, 255],
            vec![255; 40],
            (0..=255).collect::<Vec<u8>>(),
        ] {
            assert_eq!(base58_decode(&base58_encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base58_encode(b"hello world"), "StV1DL6CwTryKyV");
        assert!(base58_decode("0OIl").is_none());
    }
}
