//! `http.batch`: every request is built as a single one is, then the engine runs them together
//! (concurrently, within the `batch` and `batchPerHost` options) in one call.

use std::rc::Rc;

use loadrun_engine::script::{BatchCall, Call, Reply};
use rquickjs::{Array, Ctx, Exception, Function, Object, Result, Value};

use crate::core::Core;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>, core: &Rc<Core>) -> Result<()> {
    let c = core.clone();
    l.set(
        "batch",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, list: Array<'js>| {
            batch(&ctx, &c, &list)
        })?,
    )?;
    Ok(())
}

/// `list` is `[[method, url, body, params], ...]`; the answer is their raw responses, in
/// order.
fn batch<'js>(ctx: &Ctx<'js>, core: &Core, list: &Array<'js>) -> Result<Array<'js>> {
    let mut requests = Vec::with_capacity(list.len());
    let mut kinds = Vec::with_capacity(list.len());
    for item in list.iter::<Array<'js>>() {
        let item = item?;
        let method: String = item.get(0)?;
        let url: String = item.get(1)?;
        let body: Option<Value<'js>> = item.get(2)?;
        let params: Option<Object<'js>> = item.get(3)?;
        let (req, kind) = super::build_request(ctx, core, method, url, body, params)?;
        requests.push(req);
        kinds.push(kind);
    }
    let d = &core.spec.defaults;
    let call = BatchCall {
        requests,
        limit: d.batch,
        per_host: d.batch_per_host,
    };
    let responses = match core.suspend(Call::Batch(Box::new(call))) {
        Ok(Reply::Batch(r)) => r,
        Ok(_) => {
            return Err(Exception::throw_message(
                ctx,
                "internal: a batch had another answer",
            ))
        }
        Err(e) => return Err(Exception::throw_message(ctx, &format!("http.batch(): {e}"))),
    };
    let out = Array::new(ctx.clone())?;
    for (i, (resp, kind)) in responses.into_iter().zip(kinds).enumerate() {
        out.set(i, super::response_object(ctx, kind, resp)?)?;
    }
    Ok(out)
}
