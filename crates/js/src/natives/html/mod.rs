//! The natives of `k6/html` and `Response.html()`: the parsed document lives in Rust, held by a
//! JavaScript object that the Selections share, so it is freed when the last one is collected.
//! A Selection is JavaScript over node numbers (see `doc.rs`).

mod doc;
mod render;

use rquickjs::class::{JsClass, Readable, Trace, Tracer};
use rquickjs::function::Constructor;
use rquickjs::{Class, Ctx, Function, JsLifetime, Object, Result, Value};

use doc::{Matcher, Walk};

pub(crate) struct Doc(doc::Doc);

// SAFETY: a `Doc` holds no JavaScript values, so it lives as long as any lifetime asks.
unsafe impl<'js> JsLifetime<'js> for Doc {
    type Changed<'to> = Doc;
}

impl<'js> Trace<'js> for Doc {
    fn trace<'a>(&self, _tracer: Tracer<'a, 'js>) {}
}

impl<'js> JsClass<'js> for Doc {
    const NAME: &'static str = "HtmlDocument";
    type Mutable = Readable;

    fn constructor(_ctx: &Ctx<'js>) -> Result<Option<Constructor<'js>>> {
        Ok(None)
    }
}

type D<'js> = Class<'js, Doc>;

/// Installs `__loadrun.html()`, which installs the other natives and evaluates the library the
/// first time a VU reads HTML: a VU that never does keeps none of them.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>) -> Result<()> {
    l.set(
        "html",
        Function::new(ctx.clone(), |ctx: Ctx<'js>| -> Result<Value<'js>> {
            let l: Object<'js> = ctx.globals().get("__loadrun")?;
            let cached: Value<'js> = l.get("htmlLib")?;
            if !cached.is_undefined() {
                return Ok(cached);
            }
            natives(&ctx, &l)?;
            let lib: Value<'js> = ctx.eval(crate::modules::HTML_LIBRARY)?;
            l.set("htmlLib", lib.clone())?;
            Ok(lib)
        })?,
    )
}

fn natives<'js>(ctx: &Ctx<'js>, l: &Object<'js>) -> Result<()> {
    let f = |name: &str, func: Function<'js>| l.set(name, func);
    f(
        "htmlParse",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, src: Value<'js>| {
            let bytes = super::bytes::of(&ctx, "parseHTML()", &src)?;
            Class::instance(ctx, Doc(doc::Doc::parse(&String::from_utf8_lossy(&bytes))))
        })?,
    )?;
    f(
        "htmlFind",
        Function::new(ctx.clone(), |d: D<'js>, ns: Vec<u32>, sel: String| {
            d.borrow().0.find(&ns, &Matcher::new(&sel))
        })?,
    )?;
    f(
        "htmlFilter",
        Function::new(
            ctx.clone(),
            |d: D<'js>, ns: Vec<u32>, sel: String, keep: bool| {
                d.borrow().0.filter(&ns, &Matcher::new(&sel), keep)
            },
        )?,
    )?;
    f(
        "htmlHas",
        Function::new(ctx.clone(), |d: D<'js>, ns: Vec<u32>, sel: String| {
            d.borrow().0.has(&ns, &Matcher::new(&sel))
        })?,
    )?;
    f(
        "htmlClosest",
        Function::new(ctx.clone(), |d: D<'js>, ns: Vec<u32>, sel: String| {
            d.borrow().0.closest(&ns, &Matcher::new(&sel))
        })?,
    )?;
    f(
        "htmlWalk",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             d: D<'js>,
             ns: Vec<u32>,
             walk: String,
             until: Option<String>,
             until_nodes: Option<Vec<u32>>,
             filter: Option<String>| {
                let Some(w) = Walk::parse(&walk) else {
                    return Err(rquickjs::Exception::throw_message(
                        &ctx,
                        &format!("internal: no walk {walk:?}"),
                    ));
                };
                let until = until.map(|u| Matcher::new(&u));
                let filter = filter.map(|u| Matcher::new(&u));
                Ok(d.borrow().0.walk(
                    &ns,
                    w,
                    until.as_ref(),
                    until_nodes.as_deref(),
                    filter.as_ref(),
                ))
            },
        )?,
    )?;
    f(
        "htmlMatches",
        Function::new(ctx.clone(), |d: D<'js>, n: u32, sel: String| {
            d.borrow().0.matches(n, &Matcher::new(&sel))
        })?,
    )?;
    f(
        "htmlText",
        Function::new(ctx.clone(), |d: D<'js>, ns: Vec<u32>| {
            d.borrow().0.text(&ns)
        })?,
    )?;
    f(
        "htmlInner",
        Function::new(ctx.clone(), |d: D<'js>, n: u32| d.borrow().0.inner_html(n))?,
    )?;
    f(
        "htmlAttr",
        Function::new(ctx.clone(), |d: D<'js>, n: u32, name: String| {
            d.borrow().0.attr(n, &name)
        })?,
    )?;
    f(
        "htmlAttrs",
        Function::new(ctx.clone(), |d: D<'js>, n: u32| d.borrow().0.attrs(n))?,
    )?;
    f(
        "htmlName",
        Function::new(ctx.clone(), |d: D<'js>, n: u32| d.borrow().0.name(n))?,
    )?;
    f(
        "htmlType",
        Function::new(ctx.clone(), |d: D<'js>, n: u32| d.borrow().0.kind(n))?,
    )?;
    f(
        "htmlStep",
        Function::new(ctx.clone(), |d: D<'js>, n: u32, way: String| {
            d.borrow().0.step(n, &way)
        })?,
    )?;
    f(
        "htmlContains",
        Function::new(ctx.clone(), |d: D<'js>, outer: u32, inner: u32| {
            d.borrow().0.contains(outer, inner)
        })?,
    )?;
    Ok(())
}
