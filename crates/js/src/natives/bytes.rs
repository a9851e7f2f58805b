//! The bytes of a script value given as data (a string or an ArrayBuffer), as k6 accepts them.

use rquickjs::{ArrayBuffer, Ctx, Exception, Result, Value};

/// A string as its UTF-8 bytes, an ArrayBuffer as its contents. Typed arrays and DataViews are
/// turned into their ArrayBuffer by the modules' JavaScript before they get here.
pub(crate) fn of(ctx: &Ctx<'_>, what: &str, v: &Value<'_>) -> Result<Vec<u8>> {
    if let Some(s) = v.as_string() {
        return Ok(s.to_string()?.into_bytes());
    }
    if let Some(ab) = v
        .as_object()
        .and_then(|o| ArrayBuffer::from_object(o.clone()))
    {
        // SAFETY: the bytes are copied at once; no JavaScript runs while the slice lives.
        let bytes = unsafe { ab.as_bytes() };
        return match bytes {
            Some(b) => Ok(b.to_vec()),
            None => Err(Exception::throw_type(
                ctx,
                &format!("{what}: the ArrayBuffer is detached"),
            )),
        };
    }
    Err(Exception::throw_type(
        ctx,
        &format!(
            "{what}: invalid type {}, expected a string or an ArrayBuffer",
            v.type_name()
        ),
    ))
}
