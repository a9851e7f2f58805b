//! A small JSON Schema (2020-12) validator for the published request schemas the recording
//! stand-ins check (New Relic's Metric API, Datadog's series API). Only the keywords those
//! schemas use are implemented; an unknown keyword panics, so a schema can never be silently
//! half-enforced.

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
            "$schema" | "$id" | "title" | "description" | "$defs" => {}
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
            // Only `^[class]+$` patterns (all the schema needs); anything else panics.
            let p = arg.as_str().unwrap();
            let class = p
                .strip_prefix("^[")
                .and_then(|r| r.strip_suffix("]+$"))
                .unwrap_or_else(|| panic!("pattern {p} is not supported"));
            let allowed = expand_class(class);
            if s.is_empty() || !s.chars().all(|c| allowed.contains(&c)) {
                errors.push(format!("{path}: {s:?} does not match {p}"));
            }
        }
        _ => {}
    }
}

fn expand_class(class: &str) -> Vec<char> {
    let c: Vec<char> = class.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if i + 2 < c.len() && c[i + 1] == '-' {
            out.extend(c[i]..=c[i + 2]);
            i += 3;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("only local $refs: {reference}"));
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("$ref {reference} not found"))
}
