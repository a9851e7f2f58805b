//! Documents checked against the JSON Schemas the services publish (New Relic's Metric API,
//! Datadog's series API, CloudWatch's Embedded Metric Format), with the `jsonschema` crate.

use serde_json::Value;

/// Validates `doc` against `schema` (its draft from `$schema`; draft-07 when absent, the draft
/// of AWS's EMF schema, whose `$id`s are JSON pointers 2020-12 refuses); returns every
/// violation as `path: problem`, or the one reason the schema itself is unusable.
pub fn validate(schema: &Value, doc: &Value) -> Vec<String> {
    let built = match schema.get("$schema") {
        Some(_) => jsonschema::validator_for(schema),
        None => jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(schema),
    };
    let validator = match built {
        Ok(v) => v,
        Err(e) => return vec![format!("the schema itself is not valid: {e}")],
    };
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn violations_name_their_place_and_patterns_are_ecma() {
        let s = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["a"],
            "properties": {"a": {"type": "array", "items": {"type": "string", "pattern": "^(.*)$"}}}
        });
        assert!(validate(&s, &json!({"a": ["x"]})).is_empty());
        let e = validate(&s, &json!({"a": [1]}));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("/a/0: "), "{e:?}");
        // ECMA-262: `.` does not match a line break.
        assert_eq!(validate(&s, &json!({"a": ["two\nlines"]})).len(), 1);
        assert_eq!(validate(&s, &json!({})).len(), 1);
        let broken = validate(&json!({"type": 7}), &json!(1));
        assert!(broken[0].starts_with("the schema itself"), "{broken:?}");
        // Draft-07 without `$schema`: pointer `$id`s are annotations.
        let d7 = json!({"properties": {"a": {"$id": "#/properties/a", "type": "integer"}}});
        assert!(validate(&d7, &json!({"a": 1})).is_empty());
        assert_eq!(validate(&d7, &json!({"a": "1"})).len(), 1);
    }
}
