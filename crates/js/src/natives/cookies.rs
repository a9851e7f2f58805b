//! k6's `CookieJar` methods: the jars live on the engine VU, where its requests use them, so
//! each operation is a call the engine answers.

use std::rc::Rc;

use loadrun_engine::script::{Call, JarCall, JarOp, Reply};
use rquickjs::function::Opt;
use rquickjs::{Array, Ctx, Exception, Function, Object, Result};

use crate::core::Core;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>, core: &Rc<Core>) -> Result<()> {
    let c = core.clone();
    l.set(
        "jar",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, jar: u32, op: String, url: String, arg: Opt<String>| {
                jar_call(&ctx, &c, jar, &op, url, arg.0)
            },
        )?,
    )?;
    Ok(())
}

/// `op` is `set` (`arg`: the Set-Cookie header), `get`, `clear` or `delete` (`arg`: the name);
/// the answer is `[[name, value], ...]` for `get`, empty otherwise.
fn jar_call<'js>(
    ctx: &Ctx<'js>,
    core: &Core,
    jar: u32,
    op: &str,
    url: String,
    arg: Option<String>,
) -> Result<Array<'js>> {
    super::run_only(ctx, core, "a cookie jar")?;
    let op = match op {
        "set" => JarOp::Set {
            set_cookie: arg.unwrap_or_default(),
        },
        "get" => JarOp::CookiesFor,
        "clear" => JarOp::Clear,
        "delete" => JarOp::Delete {
            name: arg.unwrap_or_default(),
        },
        other => {
            return Err(Exception::throw_message(
                ctx,
                &format!("internal: cookie jar operation {other:?}"),
            ))
        }
    };
    let cookies = match core.suspend(Call::Jar(Box::new(JarCall { jar, url, op }))) {
        Ok(Reply::Jar(Ok(list))) => list,
        Ok(Reply::Jar(Err(m))) => return Err(Exception::throw_message(ctx, &m)),
        Ok(_) => {
            return Err(Exception::throw_message(
                ctx,
                "internal: a cookie jar call had another answer",
            ))
        }
        Err(e) => return Err(Exception::throw_message(ctx, &format!("cookie jar: {e}"))),
    };
    let out = Array::new(ctx.clone())?;
    for (i, (name, value)) in cookies.into_iter().enumerate() {
        let pair = Array::new(ctx.clone())?;
        pair.set(0, name)?;
        pair.set(1, value)?;
        out.set(i, pair)?;
    }
    Ok(out)
}
