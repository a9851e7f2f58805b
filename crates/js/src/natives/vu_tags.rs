//! `exec.vu.tags` and `exec.vu.metrics.metadata`: the VU's tags start as its scenario's (the
//! test-wide tags, the scenario's own and `scenario`), the script changes them, and every
//! change is handed to the engine VU, which tags its later samples with them.

use std::rc::Rc;

use loadrun_engine::script::Event;
use rquickjs::{Ctx, Exception, Function, Object, Result};

use crate::core::{Core, Phase};

type Pairs = Vec<(String, String)>;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>, core: &Rc<Core>) -> Result<()> {
    let c = core.clone();
    l.set(
        "vuBaseTags",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| base_tags(&ctx, &c))?,
    )?;
    let c = core.clone();
    l.set("vuGroup", Function::new(ctx.clone(), move || c.group())?)?;
    let c = core.clone();
    l.set(
        "vuTagsSet",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, tags: String, metadata: String| {
                let tags = pairs(&ctx, &tags)?;
                let metadata = pairs(&ctx, &metadata)?;
                c.push(Event::VuTags { tags, metadata });
                Ok::<_, rquickjs::Error>(())
            },
        )?,
    )?;
    Ok(())
}

/// The tags the VU starts with, as JSON `[[key, value], ...]`; k6's refusal in the init context.
fn base_tags(ctx: &Ctx<'_>, core: &Core) -> Result<String> {
    let refuse = || {
        Exception::throw_message(
            ctx,
            "getting VU information in the init context is not supported",
        )
    };
    if core.phase.get() == Phase::Init {
        return Err(refuse());
    }
    let info = core.iter.get().ok_or_else(refuse)?;
    let exec = &core.spec.shared.execution;
    let Some(run) = exec.run() else {
        return Err(refuse());
    };
    // setup() and teardown() run as a VU of the first scenario, without its `scenario` tag.
    let lifecycle = !core.base_group.is_empty();
    let scenario = if lifecycle {
        run.scenarios.first().cloned()
    } else {
        let name = exec.scenario_name(info.vu);
        run.scenarios
            .iter()
            .find(|s| Some(&*s.name) == name.as_deref())
            .cloned()
    };
    let tags: Pairs = scenario
        .map(|s| {
            s.tags
                .iter()
                .filter(|(k, _)| !(lifecycle && k == "scenario"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    serde_json::to_string(&tags).map_err(|e| Exception::throw_message(ctx, &e.to_string()))
}

fn pairs(ctx: &Ctx<'_>, json: &str) -> Result<Pairs> {
    serde_json::from_str(json).map_err(|e| Exception::throw_message(ctx, &format!("vu tags: {e}")))
}
