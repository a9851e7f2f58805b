//! `randomSeed(n)`: `Math.random` of this VU becomes a generator seeded with `n`, so a run
//! repeats its sequence.

use std::cell::RefCell;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rquickjs::{Ctx, Function, Object, Result};

pub(crate) fn install<'js>(ctx: &Ctx<'js>, l: &Object<'js>) -> Result<()> {
    l.set(
        "seededRandom",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, seed: f64| {
            // k6 takes the seed as an int64.
            let seed = if seed.is_finite() { seed as i64 } else { 0 };
            let rng = RefCell::new(StdRng::seed_from_u64(seed as u64));
            Function::new(ctx, move || rng.borrow_mut().gen::<f64>())
        })?,
    )?;
    Ok(())
}
