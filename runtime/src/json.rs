//! Reading JSON into generated types the way JSON Schema reads it: a number with a zero
//! fraction (`7.0`, `1e3`) is an integer, which serde alone refuses for an integer field.
//!
//! [`from_slice`] and [`from_str`] decode strictly first, so valid input pays nothing extra.
//! Only when that fails, and the text holds a number written as a float whose value is an
//! integer, is it decoded again with those numbers written as the integers they are; when that
//! second decoding fails too, the error is the first one. The integers are worked out from the
//! digits, never through a float, so they are exact however large (`9007199254740993.0` is
//! 9007199254740993, and too large for an `i32` field still); a number whose integer would have
//! more than 40 digits is left as written. The second decoding is as strict as the
//! first in every other way (required fields, duplicate keys, trailing text).

/// The most digits an integer written as a float is rewritten to: more than any integer type
/// holds (`u64::MAX` has 20), and a bound on what one number (`1e999999`) can grow to (the
/// module docs quote it).
const MAX_DIGITS: usize = 40;

/// Decode `bytes` as JSON of type `T`, reading integral floats as integers where needed.
pub fn from_slice<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(bytes).or_else(|error| match integral_numbers(bytes) {
        Some(rewritten) => serde_json::from_slice(&rewritten).map_err(|_| error),
        None => Err(error),
    })
}

/// Decode `text` as JSON of type `T`, reading integral floats as integers where needed.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    from_slice(text.as_bytes())
}

/// `bytes` with every number written as a float whose value is an integer (`7.0`, `-2.50e1`)
/// written as that integer, strings untouched; `None` when there is no such number.
fn integral_numbers(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let (end, integer) = match byte {
            b'"' => (string_end(bytes, at), None),
            b'-' | b'0'..=b'9' => {
                let end = number_end(bytes, at);
                (end, integer_of(&bytes[at..end]))
            }
            _ => (at + 1, None),
        };
        match integer {
            Some(integer) => {
                out.extend_from_slice(&integer);
                changed = true;
            }
            None => out.extend_from_slice(&bytes[at..end]),
        }
        at = end;
    }
    changed.then_some(out)
}

/// The end of the string starting with the quote at `start` (past its closing quote).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// The end of the number starting at `start`.
fn number_end(bytes: &[u8], start: usize) -> usize {
    let length = bytes[start..]
        .iter()
        .take_while(|byte| matches!(byte, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
        .count();
    start + length
}

/// The integer a JSON number written with a fraction or an exponent is, as JSON text; `None`
/// when it is not an integer, is written as one already, is not a valid number, or would have
/// more than [`MAX_DIGITS`] digits.
fn integer_of(token: &[u8]) -> Option<Vec<u8>> {
    let (negative, unsigned) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    let (mantissa, exponent) = match unsigned.iter().position(|b| matches!(b, b'e' | b'E')) {
        Some(e) => (&unsigned[..e], Some(&unsigned[e + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.iter().position(|&b| b == b'.') {
        Some(dot) => (&mantissa[..dot], Some(&mantissa[dot + 1..])),
        None => (mantissa, None),
    };
    let digits_only = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    if !digits_only(whole)
        || fraction.is_some_and(|f| !digits_only(f))
        || (fraction.is_none() && exponent.is_none())
    {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(text) => {
            let (sign, digits) = match text.split_first() {
                Some((b'-', rest)) => (-1, rest),
                Some((b'+', rest)) => (1, rest),
                _ => (1, text),
            };
            // Longer exponents move the point past any integer this would write.
            if !digits_only(digits) || digits.len() > 6 {
                return None;
            }
            sign * std::str::from_utf8(digits).ok()?.parse::<i64>().ok()?
        }
    };
    // The digits, and where the decimal point falls among them.
    let digits: Vec<u8> = whole
        .iter()
        .chain(fraction.unwrap_or_default())
        .copied()
        .collect();
    let point = whole.len() as i64 + exponent;
    let split = point.clamp(0, digits.len() as i64) as usize;
    let (integral, fractional) = digits.split_at(split);
    if fractional.iter().any(|&d| d != b'0') {
        return None;
    }
    let zeros = usize::try_from(point - split as i64).unwrap_or(0);
    let significant = integral.iter().position(|&d| d != b'0');
    let mut out = Vec::new();
    match significant {
        // Only zeros: 0, whatever the sign (an integer has no -0).
        None => out.push(b'0'),
        Some(first) => {
            if integral.len() - first + zeros > MAX_DIGITS {
                return None;
            }
            if negative {
                out.push(b'-');
            }
            out.extend_from_slice(&integral[first..]);
            out.resize(out.len() + zeros, b'0');
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{from_slice, from_str, integer_of};

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Order {
        #[serde(rename = "petId")]
        pet_id: i64,
        quantity: Option<u32>,
        total: f64,
        #[serde(default)]
        tags: Vec<i32>,
        #[serde(default)]
        note: String,
    }

    #[test]
    fn integral_floats_are_integers() {
        let order: Order = from_str(
            r#"{"petId": 7.0, "quantity": 2e0, "total": 3.0, "tags": [1.0, -2, 3], "note": "7.0 \" 1e3"}"#,
        )
        .expect("integral floats decode");
        assert_eq!(
            order,
            Order {
                pet_id: 7,
                quantity: Some(2),
                total: 3.0,
                tags: vec![1, -2, 3],
                note: "7.0 \" 1e3".to_owned(),
            }
        );
        let order: Order = from_slice(br#"{"petId": -1E3, "total": 0.5}"#).expect("decodes");
        assert_eq!(order.pet_id, -1000);
        assert_eq!(order.total, 0.5);
        // Exact from the digits, where a float would round: 2^53 - 1, 2^53 + 1, i64::MAX.
        for (text, value) in [
            ("9007199254740991.0", 9_007_199_254_740_991),
            ("9007199254740993.0", 9_007_199_254_740_993),
            ("9.223372036854775807e18", i64::MAX),
            ("-150e-1", -15),
            ("0.0012e4", 12),
        ] {
            let order: Order = from_str(&format!(r#"{{"petId": {text}, "total": 1}}"#))
                .unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(order.pet_id, value, "{text}");
        }
    }

    #[test]
    fn integers_are_worked_out_from_the_digits() {
        let integer =
            |text: &str| integer_of(text.as_bytes()).map(|i| String::from_utf8(i).unwrap());
        assert_eq!(integer("7.0").as_deref(), Some("7"));
        assert_eq!(integer("-0.0e5").as_deref(), Some("0"));
        assert_eq!(integer("00.5e1").as_deref(), Some("5"));
        assert_eq!(integer("1.23e2").as_deref(), Some("123"));
        assert_eq!(integer("12E+3").as_deref(), Some("12000"));
        assert_eq!(integer("7"), None, "already an integer");
        assert_eq!(integer("7.5"), None);
        assert_eq!(integer("1e-1"), None);
        assert_eq!(integer("1e40"), None, "more digits than any integer type");
        assert_eq!(integer("1e9999999"), None);
        assert_eq!(integer("1.e3"), None, "not JSON");
        assert_eq!(integer("--1.0"), None, "not JSON");
    }

    #[test]
    fn what_is_not_an_integer_keeps_the_strict_error() {
        let strict = serde_json::from_str::<Order>(r#"{"petId": 7.5, "total": 1}"#)
            .expect_err("7.5 is not an integer")
            .to_string();
        let error =
            from_str::<Order>(r#"{"petId": 7.5, "total": 1}"#).expect_err("7.5 is not an integer");
        assert_eq!(error.to_string(), strict);
        // Out of range for the field, however it is written.
        from_str::<Order>(r#"{"petId": 9.3e18, "total": 1}"#).expect_err("not an i64");
        from_str::<Order>(r#"{"petId": 1, "total": 1, "tags": [3e9]}"#).expect_err("not an i32");
        from_str::<Order>(r#"{"petId": 1, "quantity": -1.0, "total": 1}"#).expect_err("not a u32");
        // Still every other rule of the type: a required field, a duplicate key, trailing text.
        from_str::<Order>(r#"{"petId": 1.0}"#).expect_err("total is required");
        from_str::<Order>(r#"{"petId": 1.0, "petId": 2, "total": 1}"#)
            .expect_err("a duplicate key");
        from_str::<Order>(r#"{"petId": 1.0, "total": 1} x"#).expect_err("trailing text");
        from_str::<Order>(r#"{"petId": 1.0, "total": 1"#).expect_err("cut short");
    }
}
