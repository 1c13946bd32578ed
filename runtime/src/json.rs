//! Reading JSON into generated types the way JSON Schema reads it: a number with a zero
//! fraction (`7.0`, `1e3`) is an integer, which serde alone refuses for an integer field.
//!
//! [`from_slice`] and [`from_str`] decode strictly first, so valid input pays nothing extra.
//! Only when that fails, and the text holds an integral number written as a float, is it read
//! again with those numbers as integers; when that second reading fails too, the error is the
//! first one. Integers are exact only up to 2^53 as floats, so `9007199254740993.0` stays a float
//! (and an integer field refuses it). Duplicate object keys, which a strict decode of a struct
//! refuses, are refused by the second reading as well.

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// 2^53: every integral `f64` up to it in magnitude is the integer it was written as.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// Decode `bytes` as JSON of type `T`, reading integral floats as integers where needed.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(bytes).or_else(|error| {
        let mut converted = false;
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        retry(
            read_integral(&mut deserializer, &mut converted),
            converted,
            error,
        )
    })
}

/// Decode `text` as JSON of type `T`, reading integral floats as integers where needed.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    from_slice(text.as_bytes())
}

/// The second reading's value as a `T`, or the first reading's `error`.
fn retry<T: DeserializeOwned>(
    value: Result<Value, serde_json::Error>,
    converted: bool,
    error: serde_json::Error,
) -> Result<T, serde_json::Error> {
    match value {
        Ok(value) if converted => serde_json::from_value(value).map_err(|_| error),
        _ => Err(error),
    }
}

/// The whole input as a [`Value`] with integral floats as integers (`converted` says whether
/// there was one).
fn read_integral<'de, R: serde_json::de::Read<'de>>(
    deserializer: &mut serde_json::Deserializer<R>,
    converted: &mut bool,
) -> Result<Value, serde_json::Error> {
    let value = Integral { converted }.deserialize(&mut *deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Builds a [`Value`], turning integral floats into integers and refusing duplicate keys.
struct Integral<'a> {
    converted: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for Integral<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Integral<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        if value.fract() == 0.0 && value.abs() <= EXACT {
            *self.converted = true;
            // Exact: the value is integral and within 2^53.
            let integer = value as i64;
            return Ok(Value::Number(integer.into()));
        }
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("`{value}` is not a JSON number")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Integral {
            converted: &mut *self.converted,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let value = map.next_value_seed(Integral {
                converted: &mut *self.converted,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::{from_slice, from_str};

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Order {
        #[serde(rename = "petId")]
        pet_id: i64,
        quantity: Option<u32>,
        total: f64,
        #[serde(default)]
        tags: Vec<i32>,
    }

    #[test]
    fn integral_floats_are_integers() {
        let order: Order =
            from_str(r#"{"petId": 7.0, "quantity": 2e0, "total": 3.0, "tags": [1.0, -2, 3]}"#)
                .expect("integral floats decode");
        assert_eq!(
            order,
            Order {
                pet_id: 7,
                quantity: Some(2),
                total: 3.0,
                tags: vec![1, -2, 3],
            }
        );
        let order: Order = from_slice(br#"{"petId": -1E3, "total": 0.5}"#).expect("decodes");
        assert_eq!(order.pet_id, -1000);
        assert_eq!(order.total, 0.5);
    }

    #[test]
    fn what_is_not_an_integer_keeps_the_strict_error() {
        let strict = serde_json::from_str::<Order>(r#"{"petId": 7.5, "total": 1}"#)
            .expect_err("7.5 is not an integer")
            .to_string();
        let error =
            from_str::<Order>(r#"{"petId": 7.5, "total": 1}"#).expect_err("7.5 is not an integer");
        assert_eq!(error.to_string(), strict);
        // Beyond 2^53 a float is not the integer it was written as.
        from_str::<Order>(r#"{"petId": 9007199254740993.0, "total": 1}"#).expect_err("not exact");
        // Out of range for the field.
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
