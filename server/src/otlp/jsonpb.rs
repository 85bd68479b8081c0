//! The OTLP/JSON encoding rules shared by the metrics and traces
//! receivers: field names in lowerCamelCase (the proto names are accepted
//! too), unknown fields ignored, 64-bit integers as strings or numbers,
//! enums as numbers or names, trace and span ids as hex, bytes as base64,
//! doubles as numbers or `"NaN"`/`"Infinity"`/`"-Infinity"`.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value};

pub(crate) type Obj = Map<String, Value>;
pub(crate) type Res<T> = Result<T, String>;

/// The field by its JSON name or its proto name; `None` when null.
pub(crate) fn field<'a>(o: &'a Obj, camel: &str) -> Option<&'a Value> {
    let v = o.get(camel).or_else(|| {
        let mut snake = String::with_capacity(camel.len() + 4);
        for c in camel.chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
                snake.push(c.to_ascii_lowercase());
            } else {
                snake.push(c);
            }
        }
        o.get(&snake)
    })?;
    (!v.is_null()).then_some(v)
}

pub(crate) fn object<'a>(v: &'a Value, what: &str) -> Res<&'a Obj> {
    v.as_object()
        .ok_or_else(|| format!("{what}: expected an object, got {v}"))
}

pub(crate) fn list<T>(o: &Obj, name: &str, each: impl Fn(&Obj) -> Res<T>) -> Res<Vec<T>> {
    match field(o, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|i| each(object(i, name)?)).collect(),
        Some(v) => Err(format!("{name}: expected an array, got {v}")),
    }
}

pub(crate) fn child<T>(o: &Obj, name: &str, f: impl Fn(&Obj) -> Res<T>) -> Res<Option<T>> {
    field(o, name).map(|v| f(object(v, name)?)).transpose()
}

pub(crate) fn string(o: &Obj, name: &str) -> Res<String> {
    match field(o, name) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!("{name}: expected a string, got {v}")),
    }
}

pub(crate) fn boolean(o: &Obj, name: &str) -> Res<bool> {
    match field(o, name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!("{name}: expected a boolean, got {v}")),
    }
}

/// An integer field: a JSON number or a decimal string.
pub(crate) fn integer<T: TryFrom<i128>>(v: &Value, name: &str) -> Res<T> {
    let n: Option<i128> = match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| format!("{name}: expected an integer, got {v}"))
}

pub(crate) fn int_field<T: TryFrom<i128> + Default>(o: &Obj, name: &str) -> Res<T> {
    field(o, name).map_or(Ok(T::default()), |v| integer(v, name))
}

pub(crate) fn double(v: &Value, name: &str) -> Res<f64> {
    let d = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            s => s.parse().ok(),
        },
        _ => None,
    };
    d.ok_or_else(|| format!("{name}: expected a number, got {v}"))
}

pub(crate) fn opt_double(o: &Obj, name: &str) -> Res<Option<f64>> {
    field(o, name).map(|v| double(v, name)).transpose()
}

pub(crate) fn doubles(o: &Obj, name: &str) -> Res<Vec<f64>> {
    match field(o, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|v| double(v, name)).collect(),
        Some(v) => Err(format!("{name}: expected an array, got {v}")),
    }
}

pub(crate) fn integers<T: TryFrom<i128>>(o: &Obj, name: &str) -> Res<Vec<T>> {
    match field(o, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|v| integer(v, name)).collect(),
        Some(v) => Err(format!("{name}: expected an array, got {v}")),
    }
}

/// An enum as its number or its name (`AGGREGATION_TEMPORALITY_DELTA`).
pub(crate) fn enumeration(o: &Obj, name: &str, names: &[&str]) -> Res<i32> {
    match field(o, name) {
        None => Ok(0),
        Some(Value::String(s)) if !s.starts_with(|c: char| c.is_ascii_digit()) => names
            .iter()
            .position(|n| n == s)
            .map(|i| i as i32)
            .ok_or_else(|| format!("{name}: unknown value {s:?}")),
        Some(v) => integer(v, name),
    }
}

pub(crate) fn hex(o: &Obj, name: &str) -> Res<Vec<u8>> {
    let s = string(o, name)?;
    if s.len() % 2 != 0 {
        return Err(format!("{name}: odd-length hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("{name}: invalid hex {s:?}"))
        })
        .collect()
}

pub(crate) fn key_value(o: &Obj) -> Res<KeyValue> {
    Ok(KeyValue {
        key: string(o, "key")?,
        value: child(o, "value", any_value)?,
        ..KeyValue::default()
    })
}

pub(crate) fn any_value(o: &Obj) -> Res<AnyValue> {
    use any_value::Value as V;
    let value = if let Some(v) = field(o, "stringValue") {
        Some(V::StringValue(
            v.as_str()
                .ok_or_else(|| format!("stringValue: expected a string, got {v}"))?
                .to_string(),
        ))
    } else if field(o, "boolValue").is_some() {
        Some(V::BoolValue(boolean(o, "boolValue")?))
    } else if let Some(v) = field(o, "intValue") {
        Some(V::IntValue(integer(v, "intValue")?))
    } else if let Some(v) = field(o, "doubleValue") {
        Some(V::DoubleValue(double(v, "doubleValue")?))
    } else if let Some(a) = child(o, "arrayValue", |a| {
        Ok(ArrayValue {
            values: list(a, "values", any_value)?,
        })
    })? {
        Some(V::ArrayValue(a))
    } else if let Some(kv) = child(o, "kvlistValue", |l| {
        Ok(KeyValueList {
            values: list(l, "values", key_value)?,
        })
    })? {
        Some(V::KvlistValue(kv))
    } else if field(o, "bytesValue").is_some() {
        Some(V::BytesValue(base64(&string(o, "bytesValue")?)?))
    } else {
        None
    };
    Ok(AnyValue { value })
}

pub(crate) fn resource(r: &Obj) -> Res<Resource> {
    Ok(Resource {
        attributes: list(r, "attributes", key_value)?,
        dropped_attributes_count: int_field(r, "droppedAttributesCount")?,
        entity_refs: Vec::new(),
    })
}

pub(crate) fn scope(s: &Obj) -> Res<InstrumentationScope> {
    Ok(InstrumentationScope {
        name: string(s, "name")?,
        version: string(s, "version")?,
        attributes: list(s, "attributes", key_value)?,
        dropped_attributes_count: int_field(s, "droppedAttributesCount")?,
    })
}

/// Standard base64 with padding.
pub(crate) fn base64_encode(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Standard base64 (padding optional; the URL-safe alphabet accepted).
pub(crate) fn base64(s: &str) -> Res<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return Err(format!("invalid base64 {s:?}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_cases() {
        let cases: &[(&str, &str, Option<&[u8]>)] = &[
            ("padded", "aGkhPw==", Some(b"hi!?")),
            ("unpadded", "aGkhPw", Some(b"hi!?")),
            ("url-safe", "-_8", Some(&[0xfb, 0xff])),
            ("empty", "", Some(b"")),
            ("bad", "a*b", None),
        ];
        for (name, input, want) in cases {
            assert_eq!(base64(input).ok().as_deref(), *want, "{name}");
            if let Some(bytes) = want {
                assert_eq!(
                    base64(&base64_encode(bytes)).ok().as_deref(),
                    Some(*bytes),
                    "{name} round trip"
                );
            }
        }
    }
}
