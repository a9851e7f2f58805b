//! A small JSON Schema (2020-12, and the draft-07 subset in use) validator for the published
//! schemas the tests check documents against (New Relic's Metric API, Datadog's series API,
//! CloudWatch's Embedded Metric Format). Only the keywords those schemas use are implemented; an
//! unknown keyword panics, so a schema can never be silently half-enforced. `pattern` is an
//! ECMA-262 regular expression, matched unanchored as the spec says, with the `regex` crate
//! (the same syntax for everything these schemas use: anchors, classes, groups, alternation,
//! escaped `/`).

use serde_json::Value;

/// Validates `doc` against `schema` (whose `$ref`s point into `root`); returns every violation
/// as `path: problem`.
pub fn validate(root: &Value, doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(root, root, doc, "$", &mut errors);
    errors
}

fn check(root: &Value, schema: &Value, doc: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        panic!("schema at {path} is not an object");
    };
    for (kw, arg) in obj {
        match kw.as_str() {
            // Annotations: they say nothing about validity.
            "$schema" | "$id" | "$comment" | "title" | "description" | "examples" | "$defs" => {}
            "$ref" => {
                let target = resolve(root, arg.as_str().unwrap());
                check(root, target, doc, path, errors);
            }
            "type" => {
                let ok = match arg.as_str().unwrap() {
                    "array" => doc.is_array(),
                    "object" => doc.is_object(),
                    "string" => doc.is_string(),
                    "number" => doc.is_number(),
                    "integer" => doc.is_i64() || doc.is_u64(),
                    "boolean" => doc.is_boolean(),
                    t => panic!("type {t} not supported"),
                };
                if !ok {
                    errors.push(format!("{path}: expected {arg}, got {doc}"));
                }
            }
            "enum" => {
                if !arg.as_array().unwrap().contains(doc) {
                    errors.push(format!("{path}: {doc} is not one of {arg}"));
                }
            }
            "const" => {
                if doc != arg {
                    errors.push(format!("{path}: {doc} is not {arg}"));
                }
            }
            "minimum" => {
                if let Some(n) = doc.as_f64() {
                    if n < arg.as_f64().unwrap() {
                        errors.push(format!("{path}: {n} < {arg}"));
                    }
                }
            }
            "minLength" | "maxLength" | "pattern" => {
                if let Some(s) = doc.as_str() {
                    string_rule(kw, arg, s, path, errors);
                }
            }
            "maximum" => {
                if let Some(n) = doc.as_f64() {
                    if n > arg.as_f64().unwrap() {
                        errors.push(format!("{path}: {n} > {arg}"));
                    }
                }
            }
            "maxItems" => {
                if let Some(a) = doc.as_array() {
                    if (a.len() as u64) > arg.as_u64().unwrap() {
                        errors.push(format!("{path}: more than {arg} items"));
                    }
                }
            }
            "minItems" => {
                if let Some(a) = doc.as_array() {
                    if (a.len() as u64) < arg.as_u64().unwrap() {
                        errors.push(format!("{path}: fewer than {arg} items"));
                    }
                }
            }
            "items" => {
                if let Some(a) = doc.as_array() {
                    for (i, item) in a.iter().enumerate() {
                        check(root, arg, item, &format!("{path}[{i}]"), errors);
                    }
                }
            }
            "required" => {
                if let Some(o) = doc.as_object() {
                    for r in arg.as_array().unwrap() {
                        let r = r.as_str().unwrap();
                        if !o.contains_key(r) {
                            errors.push(format!("{path}: missing {r:?}"));
                        }
                    }
                }
            }
            "maxProperties" => {
                if let Some(o) = doc.as_object() {
                    if o.len() as u64 > arg.as_u64().unwrap() {
                        errors.push(format!("{path}: {} properties > {arg}", o.len()));
                    }
                }
            }
            "properties" => {
                if let Some(o) = doc.as_object() {
                    for (k, sub) in arg.as_object().unwrap() {
                        if let Some(v) = o.get(k) {
                            check(root, sub, v, &format!("{path}.{k}"), errors);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = doc.as_object() {
                    let declared = obj.get("properties").and_then(Value::as_object);
                    for (k, v) in o {
                        if declared.is_some_and(|d| d.contains_key(k)) {
                            continue;
                        }
                        match arg {
                            Value::Bool(false) => {
                                errors.push(format!("{path}: unexpected property {k:?}"))
                            }
                            Value::Bool(true) => {}
                            sub => check(root, sub, v, &format!("{path}.{k}"), errors),
                        }
                    }
                }
            }
            "propertyNames" => {
                if let Some(o) = doc.as_object() {
                    for k in o.keys() {
                        check(
                            root,
                            arg,
                            &Value::String(k.clone()),
                            &format!("{path}.<name {k:?}>"),
                            errors,
                        );
                    }
                }
            }
            "oneOf" => {
                let passing = arg
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| {
                        let mut e = Vec::new();
                        check(root, s, doc, path, &mut e);
                        e.is_empty()
                    })
                    .count();
                if passing != 1 {
                    errors.push(format!("{path}: {doc} matches {passing} of oneOf, not 1"));
                }
            }
            "allOf" => {
                for s in arg.as_array().unwrap() {
                    check(root, s, doc, path, errors);
                }
            }
            "if" => {
                let mut e = Vec::new();
                check(root, arg, doc, path, &mut e);
                let branch = if e.is_empty() { "then" } else { "else" };
                if let Some(s) = obj.get(branch) {
                    check(root, s, doc, path, errors);
                }
            }
            "then" | "else" => {}
            other => panic!("schema keyword {other} is not supported by this validator"),
        }
    }
}

fn string_rule(kw: &str, arg: &Value, s: &str, path: &str, errors: &mut Vec<String>) {
    let chars = s.chars().count() as u64;
    match kw {
        "minLength" if chars < arg.as_u64().unwrap() => {
            errors.push(format!("{path}: shorter than {arg}"))
        }
        "maxLength" if chars > arg.as_u64().unwrap() => {
            errors.push(format!("{path}: {chars} characters > {arg}"))
        }
        "pattern" => {
            let p = arg.as_str().unwrap();
            if !compiled(p).is_match(s) {
                errors.push(format!("{path}: {s:?} does not match {p}"));
            }
        }
        _ => {}
    }
}

/// The compiled `pattern`, kept per thread: a recording server checks tens of thousands of
/// strings per request against a handful of patterns, and compiling each time made it answer
/// too late for the client under test.
fn compiled(pattern: &str) -> regex::Regex {
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> =
            Default::default();
    }
    CACHE.with(|cache| {
        cache
            .borrow_mut()
            .entry(pattern.to_string())
            .or_insert_with(|| {
                regex::Regex::new(pattern)
                    .unwrap_or_else(|e| panic!("pattern {pattern} is not supported: {e}"))
            })
            .clone()
    })
}

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("only local $refs: {reference}"));
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("$ref {reference} not found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(schema: &Value, doc: Value) -> bool {
        validate(schema, &doc).is_empty()
    }

    #[test]
    fn patterns_are_regular_expressions_matched_unanchored() {
        let class = json!({"type": "string", "pattern": "^[A-Za-z0-9_.]+$"});
        assert!(ok(&class, json!("http_reqs.count")));
        assert!(!ok(&class, json!("")));
        assert!(!ok(&class, json!("a b")));
        let any_line = json!({"type": "string", "pattern": "^(.*)$"});
        assert!(ok(&any_line, json!("")));
        assert!(ok(&any_line, json!("a \"quoted\" value")));
        assert!(
            !ok(&any_line, json!("two\nlines")),
            ". does not match a newline"
        );
        let unit = json!({"pattern": "^(Seconds|Bytes\\/Second|Count|None)$"});
        for good in ["Count", "None", "Bytes/Second"] {
            assert!(ok(&unit, json!(good)), "{good}");
        }
        for bad in ["count", "Counts", "Bytes/Seconds", "xCount"] {
            assert!(!ok(&unit, json!(bad)), "{bad}");
        }
        let unanchored = json!({"pattern": "b+"});
        assert!(
            ok(&unanchored, json!("abbbc")),
            "JSON Schema patterns search"
        );
        assert!(ok(&unanchored, json!(7)), "pattern ignores non-strings");
    }

    #[test]
    fn annotations_are_ignored() {
        let s = json!({"type": "integer", "$id": "#/x", "$comment": "c", "title": "t",
                       "examples": [1, 2], "description": "d"});
        assert!(ok(&s, json!(3)));
        assert!(!ok(&s, json!("3")));
    }

    #[test]
    fn structure_keywords() {
        let s = json!({
            "type": "object",
            "required": ["a"],
            "properties": {
                "a": {"type": "array", "minItems": 1, "maxItems": 2,
                      "items": {"type": "string", "minLength": 1, "maxLength": 3}}
            }
        });
        assert!(ok(&s, json!({"a": ["x"], "extra": 1})));
        assert!(!ok(&s, json!({})));
        assert!(!ok(&s, json!({"a": []})));
        assert!(!ok(&s, json!({"a": ["x", "y", "z"]})));
        assert!(!ok(&s, json!({"a": ["long"]})));
        assert!(!ok(&s, json!({"a": [""]})));
        let e = validate(&s, &json!({"a": [1]}));
        assert_eq!(e, vec!["$.a[0]: expected \"string\", got 1"]);
    }

    #[test]
    #[should_panic(expected = "not supported")]
    fn unknown_keywords_panic() {
        validate(&json!({"uniqueItems": true}), &json!([]));
    }
}
