//! `k6/data`'s `SharedArray`: the elements live once per run, as JSON text behind an `Arc`;
//! a VU parses an element when it reads it.

use std::rc::Rc;

use rquickjs::{Array, Ctx, Exception, Function, Object, Result, Value};

use super::shared::Elements;
use crate::core::{Core, Phase};

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>, core: &Rc<Core>) -> Result<()> {
    let c = core.clone();
    l.set(
        "sharedArray",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: String| {
            init_only(&ctx, &c)?;
            match c.spec.shared.array(&name) {
                Some(e) => reader(&ctx, e).map(Function::into_value),
                None => Ok(Value::new_undefined(ctx.clone())),
            }
        })?,
    )?;
    let c = core.clone();
    l.set(
        "sharedArrayMake",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String, texts: Array<'js>| {
                init_only(&ctx, &c)?;
                let elements = texts
                    .iter::<String>()
                    .map(|t| t.map(String::into_boxed_str))
                    .collect::<Result<Vec<_>>>()?;
                let e = c.spec.shared.make_array(name, Elements::from(elements));
                reader(&ctx, e)
            },
        )?,
    )?;
    Ok(())
}

fn init_only(ctx: &Ctx<'_>, core: &Core) -> Result<()> {
    if core.phase.get() != Phase::Init {
        return Err(Exception::throw_message(
            ctx,
            "new SharedArray must be called in the init context",
        ));
    }
    Ok(())
}

/// A function of the index that returns the element, parsed (`undefined` past the end); its
/// `length` property is the array's.
fn reader<'js>(ctx: &Ctx<'js>, elements: Elements) -> Result<Function<'js>> {
    let len = elements.len();
    let f = Function::new(ctx.clone(), move |ctx: Ctx<'js>, i: f64| {
        if i < 0.0 || i.fract() != 0.0 {
            return Ok(Value::new_undefined(ctx.clone()));
        }
        match elements.get(i as usize) {
            Some(text) => ctx.json_parse(text.as_bytes()),
            None => Ok(Value::new_undefined(ctx.clone())),
        }
    })?;
    f.set("size", len)?;
    Ok(f)
}
