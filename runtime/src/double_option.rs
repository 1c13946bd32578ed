//! Serde helpers for fields that are both optional and nullable.
//!
//! Such a field has three states on the wire: absent, `null`, or a value. Generated code models it
//! as `Option<Option<T>>` with `#[serde(default, skip_serializing_if = "Option::is_none",
//! with = "::wiregen_runtime::double_option")]`: `None` is absent, `Some(None)` is `null`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serialize `Some(inner)`; `None` is skipped by the field's `skip_serializing_if`.
pub fn serialize<T, S>(value: &Option<Option<T>>, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Serialize,
    S: Serializer,
{
    match value {
        Some(inner) => inner.serialize(serializer),
        None => serializer.serialize_none(),
    }
}

/// A present field deserializes to `Some(..)`, so `null` becomes `Some(None)`.
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Holder {
        #[serde(default, skip_serializing_if = "Option::is_none", with = "super")]
        field: Option<Option<u32>>,
    }

    #[test]
    fn three_states_round_trip() {
        for (text, value) in [
            ("{}", None),
            (r#"{"field":null}"#, Some(None)),
            (r#"{"field":7}"#, Some(Some(7))),
        ] {
            let parsed: Holder = serde_json::from_str(text).unwrap();
            assert_eq!(parsed.field, value, "{text}");
            assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
        }
    }
}
