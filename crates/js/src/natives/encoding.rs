//! `k6/encoding`'s base64, over the `base64` crate.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use rquickjs::{ArrayBuffer, Ctx, Exception, Function, IntoJs, Object, Result, Value};

use super::bytes;

/// k6's encodings by name; any other name (or none) is `std`, as in k6.
fn engine(name: Option<&str>) -> &'static base64::engine::GeneralPurpose {
    match name {
        Some("rawstd") => &STANDARD_NO_PAD,
        Some("url") => &URL_SAFE,
        Some("rawurl") => &URL_SAFE_NO_PAD,
        _ => &STANDARD,
    }
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>) -> Result<()> {
    l.set(
        "b64encode",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, input: Value<'js>, encoding: Option<String>| {
                let data = bytes::of(&ctx, "b64encode()", &input)?;
                Ok::<_, rquickjs::Error>(engine(encoding.as_deref()).encode(data))
            },
        )?,
    )?;
    l.set(
        "b64decode",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, input: Value<'js>, encoding: Option<String>, format: Option<String>| {
                let text = bytes::of(&ctx, "b64decode()", &input)?;
                let out = engine(encoding.as_deref())
                    .decode(text)
                    .map_err(|e| Exception::throw_message(&ctx, &format!("b64decode(): {e}")))?;
                if format.as_deref() == Some("s") {
                    String::from_utf8_lossy(&out).into_owned().into_js(&ctx)
                } else {
                    Ok(ArrayBuffer::new(ctx.clone(), out)?.into_value())
                }
            },
        )?,
    )?;
    Ok(())
}
