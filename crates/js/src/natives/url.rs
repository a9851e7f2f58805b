//! A URL resolved against a response's, for `submitForm` and `clickLink` (Go's
//! `url.ResolveReference` in k6).

use rquickjs::{Ctx, Exception, Function, Object, Result};

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>) -> Result<()> {
    l.set(
        "resolveUrl",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, base: String, rel: String| {
            let b = url::Url::parse(&base).map_err(|e| {
                Exception::throw_message(&ctx, &format!("the response URL {base:?}: {e}"))
            })?;
            b.join(&rel)
                .map(String::from)
                .map_err(|e| Exception::throw_message(&ctx, &format!("URL {rel:?}: {e}")))
        })?,
    )
}
