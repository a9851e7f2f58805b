//! The functions k6's modules are written over, on the hidden global `__loadrun`.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use loadrun_engine::script::{Call, Event, Reply, ScriptRequest};
use rquickjs::{ArrayBuffer, Ctx, Exception, Function, Object, Result, Value};

use crate::core::{Core, Declared, Phase};
use params::Timeout;

mod batch;
mod bytes;
mod cookies;
mod crypto;
mod data;
mod encoding;
mod execution;
mod files;
mod html;
mod json_path;
mod multipart;
mod params;
mod random;
mod shared;
mod url;
mod vu_tags;

pub(crate) use execution::Run;
pub(crate) use shared::Shared;

/// Installs `__loadrun`, `console` and `__ENV`/`__VU`/`__ITER`.
pub(crate) fn install<'js>(
    ctx: &Ctx<'js>,
    core: &Rc<Core>,
    env: &BTreeMap<String, String>,
) -> Result<()> {
    let l = Object::new(ctx.clone())?;

    let c = core.clone();
    l.set(
        "log",
        Function::new(ctx.clone(), move |level: i32, msg: String| {
            let _ = &c;
            match level {
                0 => tracing::debug!(target: crate::CONSOLE_TARGET, source = "console", "{msg}"),
                1 => tracing::info!(target: crate::CONSOLE_TARGET, source = "console", "{msg}"),
                2 => tracing::warn!(target: crate::CONSOLE_TARGET, source = "console", "{msg}"),
                _ => tracing::error!(target: crate::CONSOLE_TARGET, source = "console", "{msg}"),
            }
        })?,
    )?;

    let c = core.clone();
    l.set(
        "check",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String, ok: bool, tags: Option<String>| {
                run_only(&ctx, &c, "check()")?;
                let tags = tag_list(&ctx, tags.as_deref())?;
                c.push(Event::Check {
                    name,
                    group: c.group(),
                    ok,
                    tags,
                });
                Ok::<_, rquickjs::Error>(())
            },
        )?,
    )?;

    let c = core.clone();
    l.set(
        "groupEnter",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: String| {
            run_only(&ctx, &c, "group()")?;
            if name.contains("::") {
                return Err(Exception::throw_message(
                    &ctx,
                    "group and check names may not contain '::'",
                ));
            }
            c.enter_group(&name);
            Ok(())
        })?,
    )?;

    let c = core.clone();
    l.set(
        "groupLeave",
        Function::new(ctx.clone(), move || c.leave_group())?,
    )?;

    let c = core.clone();
    l.set(
        "sleep",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, secs: f64| {
            let d = if secs.is_finite() && secs > 0.0 {
                Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
            } else {
                Duration::ZERO
            };
            c.suspend(Call::Sleep(d))
                .map(|_| ())
                .map_err(|e| Exception::throw_message(&ctx, &format!("sleep(): {e}")))
        })?,
    )?;

    let c = core.clone();
    l.set(
        "request",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  method: String,
                  url: String,
                  body: Option<Value<'js>>,
                  params: Option<Object<'js>>| {
                request(&ctx, &c, method, url, body, params)
            },
        )?,
    )?;

    let c = core.clone();
    l.set(
        "metric",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String, kind: String, time: bool| {
                declare_metric(&ctx, &c, name, kind, time)
            },
        )?,
    )?;

    let c = core.clone();
    l.set(
        "add",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, index: i32, value: f64, tags: Option<String>| {
            run_only(&ctx, &c, "metric.add()")?;
            if index < 0 {
                return Err(Exception::throw_message(
                    &ctx,
                    "metric.add(): the metric was not declared when the script was loaded (declare metrics unconditionally at the top level)",
                ));
            }
            if !value.is_finite() {
                return Err(Exception::throw_message(
                    &ctx,
                    "metric.add(): the value is not a number",
                ));
            }
            let tags = tag_list(&ctx, tags.as_deref())?;
            c.push(Event::Custom {
                metric: usize::try_from(index).unwrap_or(usize::MAX),
                value,
                group: c.group(),
                tags,
            });
            Ok(())
        })?,
    )?;

    encoding::install(ctx, &l)?;
    crypto::install(ctx, &l)?;
    files::install(ctx, core)?;
    data::install(ctx, &l, core)?;
    random::install(ctx, &l)?;
    execution::install(ctx, &l, core)?;
    html::install(ctx, &l)?;
    json_path::install(ctx, &l)?;
    url::install(ctx, &l)?;
    vu_tags::install(ctx, &l, core)?;
    cookies::install(ctx, &l, core)?;
    multipart::install(ctx, &l)?;
    batch::install(ctx, &l, core)?;

    let g = ctx.globals();
    g.set("__loadrun", l)?;
    let e = Object::new(ctx.clone())?;
    for (k, v) in env {
        e.set(k.as_str(), v.as_str())?;
    }
    g.set("__ENV", e)?;
    g.set("__VU", 0)?;
    g.set("__ITER", 0)?;
    ctx.eval::<(), _>(crate::modules::GLOBALS)?;
    Ok(())
}

fn run_only(ctx: &Ctx<'_>, core: &Core, what: &str) -> Result<()> {
    if core.phase.get() == Phase::Init {
        return Err(Exception::throw_message(
            ctx,
            &format!("{what} is not allowed in the init context (the script's top level)"),
        ));
    }
    Ok(())
}

/// `tags` as written by `JSON.stringify`: values become strings, as k6 does.
fn tag_list(ctx: &Ctx<'_>, tags: Option<&str>) -> Result<Vec<(String, String)>> {
    let Some(text) = tags else {
        return Ok(Vec::new());
    };
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| Exception::throw_message(ctx, "tags must be an object"))?;
    Ok(map.into_iter().map(|(k, v)| (k, value_text(&v))).collect())
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn declare_metric(
    ctx: &Ctx<'_>,
    core: &Core,
    name: String,
    kind: String,
    time: bool,
) -> Result<i32> {
    if core.phase.get() != Phase::Init {
        return Err(Exception::throw_message(
            ctx,
            "metrics must be declared in the init context (the script's top level)",
        ));
    }
    // Kept for the probe, which turns them into the plan's custom metrics.
    let mut d = core.declared.borrow_mut();
    if let Some(prev) = d.iter().find(|m| m.name == name) {
        if prev.kind != kind || prev.time != time {
            return Err(Exception::throw_message(
                ctx,
                &format!("metric {name:?} is declared twice with different types"),
            ));
        }
    } else {
        d.push(Declared {
            name: name.clone(),
            kind,
            time,
        });
    }
    let index = core.spec.metrics.iter().position(|m| *m == name);
    Ok(index.map(|i| i as i32).unwrap_or(-1))
}

#[derive(PartialEq)]
enum BodyKind {
    Text,
    Binary,
    None,
}

fn request<'js>(
    ctx: &Ctx<'js>,
    core: &Core,
    method: String,
    url: String,
    body: Option<Value<'js>>,
    params: Option<Object<'js>>,
) -> Result<rquickjs::Array<'js>> {
    let (req, kind) = build_request(ctx, core, method, url, body, params)?;
    let resp = match core.suspend(Call::Request(Box::new(req))) {
        Ok(Reply::Response(r)) => r,
        Ok(_) => {
            return Err(Exception::throw_message(
                ctx,
                "internal: a request had another answer",
            ))
        }
        Err(e) => return Err(Exception::throw_message(ctx, &format!("request: {e}"))),
    };
    response_object(ctx, kind, *resp)
}

/// A request as the engine takes it, and how its response body is to be read.
fn build_request<'js>(
    ctx: &Ctx<'js>,
    core: &Core,
    method: String,
    url: String,
    body: Option<Value<'js>>,
    params: Option<Object<'js>>,
) -> Result<(ScriptRequest, BodyKind)> {
    let fail = |m: String| Exception::throw_message(ctx, &m);
    run_only(ctx, core, "an HTTP request")?;
    let p = params::read(ctx, params)?;
    let d = &core.spec.defaults;
    let timeout = match &p.timeout {
        Timeout::Default => d.timeout,
        Timeout::Ms(n) => Duration::try_from_secs_f64(n.max(0.0) / 1000.0).unwrap_or(d.timeout),
        Timeout::Text(s) => loadrun_engine::util::parse_duration(s).ok_or_else(|| {
            fail(format!(
                "timeout {s:?}: expected a duration such as \"10s\""
            ))
        })?,
    };
    let kind = match p.response_type.as_deref() {
        None if d.discard_bodies => BodyKind::None,
        None | Some("text") => BodyKind::Text,
        Some("binary") => BodyKind::Binary,
        Some("none") => BodyKind::None,
        Some(other) => {
            return Err(fail(format!(
                "responseType {other:?}: expected \"text\", \"binary\" or \"none\""
            )))
        }
    };
    let mut tags: Vec<(String, String)> = Vec::with_capacity(p.tags.len());
    let mut name = None;
    for (k, v) in p.tags {
        if k == "name" {
            name = Some(v);
        } else {
            tags.push((k, v));
        }
    }
    let redirects = p.redirects.map(|r| r.max(0.0) as u32);
    // A string as UTF-8, an ArrayBuffer as it is (the module turns typed arrays into theirs).
    let body = match body.filter(|b| !b.is_null() && !b.is_undefined()) {
        Some(b) => Some(bytes::of(ctx, "request body", &b)?),
        None => None,
    };
    let req = ScriptRequest {
        method,
        url,
        headers: p.headers.into_iter().collect(),
        body,
        tags,
        name,
        group: core.group(),
        timeout,
        max_redirects: redirects.or(d.max_redirects).unwrap_or(10),
        warn_redirect_limit: redirects.is_none() && d.max_redirects.is_none(),
        user_agent: d.user_agent.clone(),
        want_body: kind != BodyKind::None,
        no_connection_reuse: d.no_connection_reuse,
        expected: p.expected,
        jar: p.jar,
        cookies: p
            .cookies
            .into_iter()
            .map(
                |(name, value, replace)| loadrun_engine::cookies::RequestCookie {
                    name,
                    value,
                    replace,
                },
            )
            .collect(),
        no_response_callback: p.no_response_callback,
    };
    Ok((req, kind))
}

/// What the module's Response is made from: an array in the order of its `RAW_*` indexes, as
/// setting named properties from Rust costs an atom lookup each.
fn response_object<'js>(
    ctx: &Ctx<'js>,
    kind: BodyKind,
    resp: loadrun_engine::script::ScriptResponse,
) -> Result<rquickjs::Array<'js>> {
    let o = rquickjs::Array::new(ctx.clone())?;
    o.set(0, resp.status)?;
    o.set(1, resp.proto)?;
    o.set(2, resp.url.as_str())?;
    o.set(3, head_text(ctx, &resp.head)?)?;
    let body: Value<'js> = match kind {
        BodyKind::None => Value::new_null(ctx.clone()),
        BodyKind::Text => {
            rquickjs::String::from_str(ctx.clone(), &String::from_utf8_lossy(&resp.body))?
                .into_value()
        }
        BodyKind::Binary => ArrayBuffer::new(ctx.clone(), resp.body)?.into_value(),
    };
    o.set(4, body)?;
    let (error, code) = match &resp.error {
        Some(e) => (e.message.clone(), e.code),
        None if resp.status >= 400 => (String::new(), 1000 + u32::from(resp.status)),
        None => (String::new(), 0),
    };
    o.set(5, error)?;
    o.set(6, code)?;
    // The module's timings: duration, blocked, connecting, tls_handshaking, sending, waiting,
    // receiving.
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let tm = &resp.timings;
    for (i, d) in [
        tm.duration(),
        tm.blocked,
        tm.connecting,
        tm.tls_handshaking,
        tm.sending,
        tm.waiting,
        tm.receiving,
    ]
    .into_iter()
    .enumerate()
    {
        o.set(7 + i, ms(d))?;
    }
    Ok(o)
}

/// The head as the module's `headerPairs` splits it; a line that is not UTF-8 is left out, as
/// the fields of such a line cannot be shown.
fn head_text<'js>(ctx: &Ctx<'js>, head: &[u8]) -> Result<rquickjs::String<'js>> {
    match std::str::from_utf8(head) {
        Ok(text) => rquickjs::String::from_str(ctx.clone(), text),
        Err(_) => {
            let lines: Vec<&str> = head
                .split(|&b| b == b'\n')
                .filter_map(|line| std::str::from_utf8(line).ok())
                .collect();
            rquickjs::String::from_str(ctx.clone(), &lines.join("\n"))
        }
    }
}
