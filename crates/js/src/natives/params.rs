//! A request's parameters, as `k6/http` hands them to the `request` and `batch` natives: read
//! from the JS object field by field. It used to be `JSON.stringify` then serde, a tenth of a
//! script request's CPU; no object at all (a plain `http.get(url)`) reads nothing.
//!
//! What JSON did is kept: a field that is `undefined` (or `null`, or a non-finite number) is
//! absent, and maps are read into sorted maps, as the request was built from them.

use std::collections::BTreeMap;

use rquickjs::{Array, Ctx, Exception, Object, Result, Value};

/// The fields the module sets on its `sent` object (see `prepare` in `modules/http.rs`).
#[derive(Default)]
pub(crate) struct Params {
    pub headers: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub timeout: Timeout,
    pub redirects: Option<f64>,
    pub response_type: Option<String>,
    pub expected: Option<Vec<u16>>,
    pub jar: u32,
    pub cookies: Vec<(String, String, bool)>,
    pub no_response_callback: bool,
}

#[derive(Default)]
pub(crate) enum Timeout {
    #[default]
    Default,
    Ms(f64),
    Text(String),
}

pub(crate) fn read<'js>(ctx: &Ctx<'js>, params: Option<Object<'js>>) -> Result<Params> {
    let Some(o) = params else {
        return Ok(Params::default());
    };
    let mut p = Params::default();
    if let Some(h) = object(ctx, &o, "headers")? {
        for kv in h.props::<String, Value<'js>>() {
            let (k, v) = kv?;
            if let Some(v) = text(ctx, v)? {
                p.headers.insert(k, v);
            }
        }
    }
    if let Some(t) = object(ctx, &o, "tags")? {
        for kv in t.props::<String, Value<'js>>() {
            let (k, v) = kv?;
            if let Some(v) = text(ctx, v)? {
                p.tags.insert(k, v);
            }
        }
    }
    if let Some(v) = present(o.get("timeout")?) {
        p.timeout = if let Some(n) = v.as_number() {
            Timeout::Ms(n)
        } else if let Some(s) = v.as_string() {
            Timeout::Text(s.to_string()?)
        } else {
            let shown = text(ctx, v)?.unwrap_or_default();
            return Err(throw(ctx, &format!("timeout {shown}: expected a duration")));
        };
    }
    if let Some(v) = present(o.get("redirects")?) {
        p.redirects = Some(
            v.as_number()
                .ok_or_else(|| throw(ctx, "request parameters: redirects: expected a number"))?,
        );
    }
    if let Some(v) = present(o.get("responseType")?) {
        let s = v
            .as_string()
            .ok_or_else(|| throw(ctx, "request parameters: responseType: expected a string"))?;
        p.response_type = Some(s.to_string()?);
    }
    if let Some(v) = present(o.get("expected")?) {
        let list: Vec<u16> = v.get()?;
        p.expected = Some(list);
    }
    if let Some(v) = present(o.get("jar")?) {
        p.jar = v.get()?;
    }
    if let Some(v) = present(o.get("cookies")?) {
        let list: Array<'js> = v.get()?;
        for c in list.iter::<Array<'js>>() {
            let c = c?;
            p.cookies.push((c.get(0)?, c.get(1)?, c.get(2)?));
        }
    }
    if let Some(v) = present(o.get("noResponseCallback")?) {
        p.no_response_callback = v.as_bool().unwrap_or(false);
    }
    Ok(p)
}

/// The value unless JSON would have left it out (or made it `null`).
fn present(v: Value<'_>) -> Option<Value<'_>> {
    if v.is_undefined() || v.is_null() || v.is_function() || v.is_symbol() {
        return None;
    }
    match v.as_number() {
        Some(n) if !n.is_finite() => None,
        _ => Some(v),
    }
}

fn object<'js>(ctx: &Ctx<'js>, o: &Object<'js>, key: &str) -> Result<Option<Object<'js>>> {
    match present(o.get(key)?) {
        None => Ok(None),
        Some(v) => match v.into_object() {
            Some(obj) if !obj.is_array() => Ok(Some(obj)),
            _ => Err(throw(
                ctx,
                &format!("request parameters: {key}: expected an object"),
            )),
        },
    }
}

/// A map value as the request takes it: a string as it is, anything else as JSON writes it
/// (as k6 shows a tag's number); `None` where JSON leaves the key out.
fn text<'js>(ctx: &Ctx<'js>, v: Value<'js>) -> Result<Option<String>> {
    if let Some(s) = v.as_string() {
        return Ok(Some(s.to_string()?));
    }
    match ctx.json_stringify(v)? {
        Some(s) => Ok(Some(s.to_string()?)),
        None => Ok(None),
    }
}

fn throw(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    Exception::throw_message(ctx, message)
}
