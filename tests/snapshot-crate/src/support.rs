//! Round trips of spec examples through generated types (hand-written; `lib.rs` is generated).
//!
//! An example is deserialized into the generated type, serialized back and compared with the
//! original by meaning rather than by text: integers that came back as floats (`250` and
//! `250.0`) are equal, and date-times are compared as instants (`Z` and `+00:00`). The value
//! then goes round a second time, which must change nothing at all.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Deserialize `json` as `T`, serialize it back, compare, and go round once more.
///
/// Panics with both values and the first difference when the example does not survive.
pub fn round_trip<T>(json: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let original: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("the example is not JSON ({e}):\n{json}"));
    let typed: T = serde_json::from_str(json).unwrap_or_else(|e| {
        panic!(
            "the example does not deserialize as `{}`: {e}\n{json}",
            std::any::type_name::<T>()
        )
    });
    let first = serde_json::to_value(&typed)
        .unwrap_or_else(|e| panic!("{typed:?} does not serialize: {e}"));
    if let Some(difference) = difference(&original, &first, "") {
        panic!(
            "the example changed on its way through `{}`: {difference}\n original: {original}\n     back: {first}",
            std::any::type_name::<T>()
        );
    }
    let again: T = serde_json::from_value(first.clone()).unwrap_or_else(|e| {
        panic!("the serialized value does not deserialize again: {e}\n{first}")
    });
    assert_eq!(
        typed, again,
        "the second deserialization differs from the first"
    );
    let second = serde_json::to_value(&again).expect("it serialized the first time");
    assert_eq!(
        first, second,
        "the second serialization differs from the first"
    );
}

/// The first place where `a` and `b` differ in meaning, as a JSON pointer and a reason.
pub fn difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let same = if x.is_f64() || y.is_f64() {
                x.as_f64() == y.as_f64()
            } else {
                x.as_i64() == y.as_i64() && x.as_u64() == y.as_u64()
            };
            (!same).then(|| format!("{at}: number {x} became {y}"))
        }
        (Value::String(x), Value::String(y)) => {
            (x != y && !same_instant(x, y)).then(|| format!("{at}: string {x:?} became {y:?}"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at}: {} items became {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (x, y))| difference(x, y, &format!("{at}/{i}")))
        }
        (Value::Object(x), Value::Object(y)) => {
            if let Some(key) = x.keys().find(|k| !y.contains_key(*k)) {
                return Some(format!("{at}/{key}: dropped"));
            }
            if let Some(key) = y.keys().find(|k| !x.contains_key(*k)) {
                return Some(format!("{at}/{key}: added"));
            }
            x.iter()
                .find_map(|(key, value)| difference(value, &y[key], &format!("{at}/{key}")))
        }
        _ => (a != b).then(|| format!("{at}: {a} became {b}")),
    }
}

/// Are both strings RFC 3339 date-times naming the same instant?
fn same_instant(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_as_floats_only_when_one_is_a_float() {
        assert_eq!(difference(&json!(250), &json!(250.0), ""), None);
        assert_eq!(difference(&json!(0.5), &json!(0.5), ""), None);
        assert!(difference(&json!(1), &json!(2), "").is_some());
        assert!(difference(&json!(9007199254740993u64), &json!(9007199254740992u64), "").is_some());
        assert!(difference(&json!(-1), &json!(18446744073709551615u64), "").is_some());
    }

    #[test]
    fn date_times_compare_as_instants() {
        let same = difference(
            &json!("2024-05-01T12:00:00Z"),
            &json!("2024-05-01T14:00:00+02:00"),
            "",
        );
        assert_eq!(same, None);
        assert!(
            difference(
                &json!("2024-05-01T12:00:00Z"),
                &json!("2024-05-01T12:00:01Z"),
                ""
            )
            .is_some()
        );
        assert!(difference(&json!("a"), &json!("b"), "").is_some());
    }

    #[test]
    fn structure_must_match() {
        assert_eq!(
            difference(
                &json!({"a": [1, {"b": null}]}),
                &json!({"a": [1, {"b": null}]}),
                ""
            ),
            None
        );
        assert_eq!(
            difference(&json!({"a": 1}), &json!({}), "").as_deref(),
            Some("/a: dropped")
        );
        assert_eq!(
            difference(&json!({}), &json!({"a": null}), "").as_deref(),
            Some("/a: added")
        );
        assert_eq!(
            difference(&json!([1]), &json!([1, 2]), "").as_deref(),
            Some(": 1 items became 2")
        );
        assert!(difference(&json!(null), &json!(false), "").is_some());
    }

    #[test]
    #[should_panic(expected = "does not deserialize")]
    fn a_bad_example_fails() {
        round_trip::<Vec<u8>>(r#"{"not": "a list"}"#);
    }

    #[test]
    fn a_good_example_passes() {
        round_trip::<std::collections::BTreeMap<String, f64>>(r#"{"a": 1, "b": 2.5}"#);
    }
}
