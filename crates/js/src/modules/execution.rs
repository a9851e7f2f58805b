//! `k6/execution`: `vu`, `scenario`, `instance` and `test`, each read when the script reads it.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;

function section(name, keys, unsupported, own) {
  const o = own || {};
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

// exec.vu.tags / exec.vu.metrics.metadata: this VU's, made on first use (after init) from its
// scenario's tags; every change goes to the engine, which tags the VU's later samples.
let vuTags;
function vuTagState() {
  if (vuTags === undefined) {
    vuTags = { tag: new Map(JSON.parse(L.vuBaseTags())), metadata: new Map() };
  }
  return vuTags;
}
function vuTagsChanged(s) {
  // The engine keeps the group tag itself.
  const tags = [...s.tag].filter(([k]) => k !== "group");
  L.vuTagsSet(JSON.stringify(tags), JSON.stringify([...s.metadata]));
}
function tagValue(kind, key, v) {
  const t = typeof v;
  if (t === "string" || t === "number" || t === "boolean") return String(v);
  throw new TypeError(kind === "tag"
    ? `invalid value for metric tag '${key}': only String, Boolean and Number types are accepted as a metric tag values`
    : `invalid value for metric metadata '${key}': only String, Boolean and Number types are accepted as a metric metadata value`);
}
function tagView(kind) {
  const keys = () => {
    const k = [...vuTagState()[kind].keys()];
    if (kind === "tag" && !k.includes("group")) k.push("group");
    return k;
  };
  const get = (key) => {
    const s = vuTagState();
    if (kind === "tag" && key === "group" && !s.tag.has("group")) return L.vuGroup();
    return s[kind].get(key);
  };
  return new Proxy({}, {
    get(_, key) {
      return typeof key === "string" ? get(key) : undefined;
    },
    set(_, key, value) {
      if (typeof key !== "string") return false;
      const s = vuTagState();
      s[kind].set(key, tagValue(kind, key, value));
      vuTagsChanged(s);
      return true;
    },
    has(_, key) {
      return typeof key === "string" && keys().includes(key);
    },
    deleteProperty(_, key) {
      const s = vuTagState();
      if (typeof key === "string" && s[kind].delete(key)) vuTagsChanged(s);
      return true;
    },
    ownKeys() {
      return keys();
    },
    getOwnPropertyDescriptor(_, key) {
      if (typeof key !== "string" || !keys().includes(key)) return undefined;
      return { value: get(key), writable: true, enumerable: true, configurable: true };
    },
  });
}
const vuTagView = tagView("tag");
const vuMetrics = {};
Object.defineProperty(vuMetrics, "tags", { enumerable: true, get: () => vuTagView });
const vuMetadataView = tagView("metadata");
Object.defineProperty(vuMetrics, "metadata", { enumerable: true, get: () => vuMetadataView });
Object.freeze(vuMetrics);
const vuOwn = {};
Object.defineProperty(vuOwn, "tags", { enumerable: true, get: () => vuTagView });
Object.defineProperty(vuOwn, "metrics", { enumerable: true, get: () => vuMetrics });

export const vu = section("vu",
  ["idInInstance", "idInTest", "iterationInInstance", "iterationInScenario"], [], vuOwn);
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
