//! Tool inputs: one type per tool is both the validator and the JSON Schema.
//!
//! Promises: [`ToolInput::parse`] deserialises with the exact field names of the schema,
//! refuses unknown fields, runs the type's range checks, and on failure returns a message
//! that names the offending field path (e.g. `playerQueries[2]`); [`schema_of`] generates
//! the input schema from the same type, inlined (no `$ref`), as an object schema. Every text
//! field is at most [`MAX_QUERY_CHARS`] characters and every list at most a few items (each
//! field's doc and schema say how many), checked before any name is matched.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A tool's input type.
pub trait ToolInput: DeserializeOwned + JsonSchema {
    /// Checks that serde cannot express (ranges, lengths). The error names the field.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// Deserialise and validate; errors name the field.
    fn parse(input: Value) -> Result<Self, String> {
        let input = match input {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        if !input.is_object() {
            return Err("input must be a JSON object".to_string());
        }
        let value: Self = serde_path_to_error::deserialize(input).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.inner().to_string();
            let inner = inner
                .split(" at line ")
                .next()
                .unwrap_or(&inner)
                .to_string();
            if path == "." || path.is_empty() {
                format!("invalid input: {inner}")
            } else {
                format!("invalid value for field `{path}`: {inner}")
            }
        })?;
        value.validate()?;
        Ok(value)
    }
}

/// The JSON Schema of `T`, inlined, without the `$schema` key.
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft07()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("title");
        obj.entry("properties")
            .or_insert_with(|| Value::Object(Default::default()));
    }
    value
}

/// The JSON Schema of a tool's structured result: [`schema_of`] without schemars' own
/// `format`s (`uint32`, `double`, …), which are not JSON Schema formats and which validators
/// such as the TypeScript SDK's Ajv only warn about.
pub fn output_schema_of<T: JsonSchema>() -> Value {
    const STANDARD: &[&str] = &["date-time", "date", "time", "email", "uri", "uuid"];
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map
                    .get("format")
                    .and_then(Value::as_str)
                    .is_some_and(|f| !STANDARD.contains(&f))
                {
                    map.remove("format");
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut schema = schema_of::<T>();
    strip(&mut schema);
    // MCP wants an object at the root; an untagged enum of objects has only `anyOf` there.
    if let Some(obj) = schema.as_object_mut() {
        obj.entry("type")
            .or_insert_with(|| Value::String("object".into()));
    }
    schema
}

/// Accepts a string or a number (ids are sometimes sent as numbers) and yields a string.
pub fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S {
        S(String),
        N(u64),
    }
    match S::deserialize(d) {
        Ok(S::S(s)) => Ok(s),
        Ok(S::N(n)) => Ok(n.to_string()),
        Err(_) => Err(serde::de::Error::custom(
            "expected a string (a name or an id)",
        )),
    }
}

/// Accepts an id as a number or as a string of digits ("1000001"), as models send both.
pub fn id_number<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        N(u64),
        S(String),
    }
    let parsed = match N::deserialize(d) {
        Ok(N::N(n)) => u32::try_from(n).ok(),
        Ok(N::S(s)) => s.trim().parse::<u32>().ok(),
        Err(_) => None,
    };
    parsed.ok_or_else(|| serde::de::Error::custom("expected a whole-number id such as 1000001"))
}

/// [`id_number`] for an optional field.
pub fn opt_id_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    id_number(d).map(Some)
}

/// Checks `value` is within `min..=max`.
pub fn check_range(field: &str, value: u32, min: u32, max: u32) -> Result<(), String> {
    if value < min || value > max {
        Err(format!(
            "invalid value for field `{field}`: {value} is out of range ({min} to {max})"
        ))
    } else {
        Ok(())
    }
}

/// Longest text a tool accepts in one field (a player or team name, a pairing such as
/// "Liverpool vs Chelsea"), in characters: no real name comes near it, and it bounds the
/// name matcher's work. The fields' docs say "at most 100 characters"; a test keeps them true.
pub const MAX_QUERY_CHARS: usize = 100;

/// Checks a string is not blank.
pub fn check_not_blank(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!(
            "invalid value for field `{field}`: must not be empty"
        ))
    } else {
        Ok(())
    }
}

/// Checks a text field is at most [`MAX_QUERY_CHARS`] characters.
pub fn check_length(field: &str, value: &str) -> Result<(), String> {
    let chars = value.chars().count();
    if chars > MAX_QUERY_CHARS {
        Err(format!(
            "invalid value for field `{field}`: must be at most {MAX_QUERY_CHARS} characters, got {chars}"
        ))
    } else {
        Ok(())
    }
}

/// Checks a name query: not blank, at most [`MAX_QUERY_CHARS`] characters.
pub fn check_query(field: &str, value: &str) -> Result<(), String> {
    check_not_blank(field, value)?;
    check_length(field, value)
}

/// Checks a list has at most `max` items.
pub fn check_items<T>(field: &str, items: &[T], max: usize) -> Result<(), String> {
    if items.len() > max {
        Err(format!(
            "invalid value for field `{field}`: give at most {max} items, got {}",
            items.len()
        ))
    } else {
        Ok(())
    }
}

/// `true`, for `#[serde(default = ...)]`.
pub fn yes() -> bool {
    true
}
