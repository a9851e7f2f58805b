//! `k6/data`: `SharedArray`, made once per run and read by every VU without a copy of its own.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;

function immutable() {
  throw new TypeError("SharedArray is immutable");
}

function freeze(v) {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) freeze(v[k]);
  }
  return v;
}

function index(property, size) {
  if (typeof property !== "string") return -1;
  const i = Number(property);
  return Number.isInteger(i) && i >= 0 && i < size && String(i) === property ? i : -1;
}

export class SharedArray {
  constructor(name, fn) {
    if (typeof name !== "string" || name === "") {
      throw new Error("empty name provided to SharedArray's constructor");
    }
    if (typeof fn !== "function") {
      throw new Error("a function is expected as the second argument of SharedArray's constructor");
    }
    let read = L.sharedArray(name);
    if (read === undefined) {
      const arr = fn();
      if (!Array.isArray(arr)) {
        throw new Error("only arrays can be made into SharedArray");
      }
      read = L.sharedArrayMake(name, arr.map((e) => {
        const t = JSON.stringify(e);
        return t === undefined ? "null" : t;
      }));
    }
    const size = read.size;
    // An array to Array.isArray and Array.prototype's methods (map, filter, for...of), with
    // its elements read from the shared copy and frozen, as k6's are.
    return new Proxy([], {
      get(target, property, receiver) {
        if (property === "length") return size;
        const i = index(property, size);
        if (i >= 0) return freeze(read(i));
        return Reflect.get(target, property, receiver);
      },
      has(target, property) {
        return index(property, size) >= 0 || Reflect.has(target, property);
      },
      ownKeys() {
        const keys = [];
        for (let i = 0; i < size; i++) keys.push(String(i));
        keys.push("length");
        return keys;
      },
      getOwnPropertyDescriptor(target, property) {
        if (property === "length") return Reflect.getOwnPropertyDescriptor(target, property);
        const i = index(property, size);
        if (i < 0) return undefined;
        return { value: freeze(read(i)), writable: false, enumerable: true, configurable: true };
      },
      set: immutable,
      defineProperty: immutable,
      deleteProperty: immutable,
      setPrototypeOf: immutable,
      preventExtensions: immutable,
    });
  }
}

export default { SharedArray };
"##;
