//! `k6`: check, group, sleep, fail, randomSeed.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;

function tagsText(tags) {
  return tags === undefined || tags === null ? undefined : JSON.stringify(tags);
}

export function check(val, sets, tags) {
  const t = tagsText(tags);
  let all = true;
  for (const name of Object.keys(sets || {})) {
    const c = sets[name];
    const ok = typeof c === "function" ? !!c(val) : !!c;
    L.check(name, ok, t);
    if (!ok) all = false;
  }
  return all;
}

export function group(name, fn) {
  L.groupEnter(String(name));
  try {
    return fn();
  } finally {
    L.groupLeave();
  }
}

export function sleep(seconds) {
  L.sleep(Number(seconds));
}

export function fail(message) {
  throw new Error(message === undefined ? "" : String(message));
}

export function randomSeed(seed) {
  Math.random = L.seededRandom(Number(seed));
}

export default { check, group, sleep, fail, randomSeed };
"##;
