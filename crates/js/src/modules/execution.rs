//! `k6/execution`: `vu`, `scenario`, `instance` and `test`, each read when the script reads it.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;

function section(name, keys, unsupported) {
  const o = {};
  for (const k of keys) {
    Object.defineProperty(o, k, { enumerable: true, get: () => L.exec(name + "." + k) });
  }
  for (const k of unsupported) {
    Object.defineProperty(o, k, {
      get: () => { throw new Error("exec." + name + "." + k + " is not supported by loadrun yet"); },
    });
  }
  return Object.freeze(o);
}

export const vu = section("vu",
  ["idInInstance", "idInTest", "iterationInInstance", "iterationInScenario"], ["tags", "metrics"]);
export const scenario = section("scenario",
  ["name", "executor", "startTime", "progress", "iterationInInstance", "iterationInTest"], []);
export const instance = section("instance",
  ["iterationsInterrupted", "iterationsCompleted", "vusActive", "vusInitialized",
    "currentTestRunDuration"], []);

let options;
export const test = Object.freeze({
  abort(reason) {
    L.abort(reason === undefined ? undefined : String(reason));
  },
  get options() {
    if (options === undefined) {
      options = JSON.parse(L.exec("test.options"));
      (function freeze(v) {
        if (v !== null && typeof v === "object") {
          Object.freeze(v);
          for (const k of Object.keys(v)) freeze(v[k]);
        }
      })(options);
    }
    return options;
  },
});

export default { vu, scenario, instance, test };
"##;
