//! `k6/html`: `parseHTML` and k6's Selection and Element (goquery's API), over the parsed
//! document of `natives/html`. The library is evaluated in a VU the first time it is used
//! (`__loadrun.html()`), so scripts that never read HTML pay nothing for it.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;
export function parseHTML(src) {
  return L.html().parseHTML(src);
}
export default { parseHTML };
"##;

/// The Selection and Element classes: a script whose value is `{ parseHTML, fromResponse }`.
pub const LIBRARY: &str = r##"(() => {
const L = globalThis.__loadrun;

const SUBMITTABLE = "input,select,textarea,keygen";

function isSel(x) { return x instanceof Selection; }
function isElem(x) { return x instanceof Element; }

function unique(list) {
  const seen = new Set();
  const out = [];
  for (const n of list) {
    if (!seen.has(n)) { seen.add(n); out.push(n); }
  }
  return out;
}

class Selection {
  constructor(doc, nodes, prev, url) {
    Object.defineProperty(this, "_d", { value: doc });
    Object.defineProperty(this, "_n", { value: nodes });
    Object.defineProperty(this, "_prev", { value: prev });
    this.url = url;
  }
  _derive(nodes) { return new Selection(this._d, nodes, this, this.url); }
  // The nodes of a Selection or an Element argument of the same document (none otherwise).
  _nodesOf(x, what) {
    if (isSel(x)) return x._d === this._d ? x._n : [];
    if (isElem(x)) return x._sel._d === this._d ? x._sel._n : [];
    throw new Error("invalid argument, cannot use a '" + typeof x + "' as a selector (" + what + ")");
  }
  _matcher(fn, what) {
    if (typeof fn !== "function") {
      throw new Error("the argument to " + what + "() must be a function, a selector or a selection");
    }
    return (n, i) => !!fn(i, this._derive([n]));
  }

  size() { return this._n.length; }
  end() { return this._prev === undefined ? this._derive([]) : this._prev; }
  eq(i) {
    const len = this._n.length;
    const k = i < 0 ? len + i : i;
    return this._derive(k >= 0 && k < len ? [this._n[k]] : []);
  }
  first() { return this.eq(0); }
  last() { return this.eq(-1); }
  slice(start, end) {
    const len = this._n.length;
    return this._derive(this._n.slice(start, end !== undefined && end < len ? end : len));
  }
  get(i) {
    const len = this._n.length;
    if (i === undefined) return this._n.map((_, k) => toElement(this.eq(k)));
    if (i < len && i > -len) return toElement(this.eq(i));
    return undefined;
  }
  toArray() { return this._n.map((n) => this._derive([n])); }
  each(fn) {
    if (typeof fn !== "function") throw new Error("the argument to each() must be a function");
    this._n.forEach((n, i) => fn(i, toElement(this._derive([n]))));
    return this;
  }
  map(fn) {
    if (typeof fn !== "function") throw new Error("the argument to map() must be a function");
    return this._n.map((n, i) => fn(i, this._derive([n])));
  }

  find(x) {
    if (typeof x === "string") return this._derive(L.htmlFind(this._d, this._n, x));
    const other = this._nodesOf(x, "find");
    return this._derive(other.filter((o) => this._n.some((n) => L.htmlContains(this._d, n, o))));
  }
  add(x) {
    const more = typeof x === "string" ? L.htmlFind(this._d, [0], x) : this._nodesOf(x, "add");
    return this._derive(unique(this._n.concat(more)));
  }
  filter(x) {
    if (typeof x === "string") return this._derive(L.htmlFilter(this._d, this._n, x, true));
    if (isSel(x)) {
      const other = this._nodesOf(x, "filter");
      return this._derive(this._n.filter((n) => other.includes(n)));
    }
    const m = this._matcher(x, "filter");
    return this._derive(this._n.filter(m));
  }
  not(x) {
    if (typeof x === "string") return this._derive(L.htmlFilter(this._d, this._n, x, false));
    if (typeof x === "function") {
      const m = this._matcher(x, "not");
      return this._derive(this._n.filter((n, i) => !m(n, i)));
    }
    const other = this._nodesOf(x, "not");
    return this._derive(this._n.filter((n) => !other.includes(n)));
  }
  is(x) {
    if (typeof x === "string") return this._n.some((n) => L.htmlMatches(this._d, n, x));
    if (isSel(x)) {
      const other = this._nodesOf(x, "is");
      return this._n.some((n) => other.includes(n));
    }
    return this._n.some(this._matcher(x, "is"));
  }
  has(x) {
    if (typeof x === "string") return this._derive(L.htmlHas(this._d, this._n, x));
    const other = this._nodesOf(x, "has");
    return this._derive(this._n.filter((n) => other.some((o) => L.htmlContains(this._d, n, o))));
  }
  closest(x) {
    if (typeof x === "string") return this._derive(L.htmlClosest(this._d, this._n, x));
    const other = this._nodesOf(x, "closest");
    const out = [];
    for (let n of this._n) {
      while (n !== undefined) {
        if (other.includes(n)) { out.push(n); break; }
        n = L.htmlStep(this._d, n, "parentNode");
      }
    }
    return this._derive(unique(out));
  }

  _walk(kind, filter) {
    return this._derive(L.htmlWalk(this._d, this._n, kind, undefined, undefined, filter === undefined ? undefined : String(filter)));
  }
  _until(kind, until, filter) {
    let sel;
    let nodes;
    if (typeof until === "string") sel = until;
    else if (isSel(until)) nodes = this._nodesOf(until, kind + "Until");
    else if (until !== undefined && until !== null) {
      throw new Error("invalid argument, cannot use a '" + typeof until + "' as a selector");
    }
    const f = filter === undefined || filter === null ? undefined : String(filter);
    return this._derive(L.htmlWalk(this._d, this._n, kind, sel, nodes, f));
  }
  children(f) { return this._walk("children", f); }
  contents() { return this._walk("contents"); }
  parent(f) { return this._walk("parent", f); }
  parents(f) { return this._walk("parents", f); }
  next(f) { return this._walk("next", f); }
  nextAll(f) { return this._walk("nextAll", f); }
  prev(f) { return this._walk("prev", f); }
  prevAll(f) { return this._walk("prevAll", f); }
  siblings(f) { return this._walk("siblings", f); }
  parentsUntil(until, f) { return this._until("parents", until, f); }
  nextUntil(until, f) { return this._until("nextAll", until, f); }
  prevUntil(until, f) { return this._until("prevAll", until, f); }

  index(x) {
    if (x === undefined) {
      if (this._n.length === 0) return -1;
      return L.htmlWalk(this._d, [this._n[0]], "prevAll", undefined, undefined, undefined).length;
    }
    if (this._n.length === 0) return -1;
    if (typeof x === "string") return L.htmlFind(this._d, [0], x).indexOf(this._n[0]);
    if (isSel(x) || isElem(x)) {
      const other = this._nodesOf(x, "index");
      return other.length === 0 ? -1 : this._n.indexOf(other[0]);
    }
    return -1;
  }

  text() { return L.htmlText(this._d, this._n); }
  html() { return this._n.length === 0 ? "" : L.htmlInner(this._d, this._n[0]); }
  attr(name, def) {
    const v = this._n.length === 0 ? undefined : L.htmlAttr(this._d, this._n[0], String(name));
    if (v === undefined) return arguments.length > 1 ? def : undefined;
    return v;
  }
  _name() { return this._n.length === 0 ? "" : L.htmlName(this._d, this._n[0]); }
  val() {
    switch (this._name()) {
      case "input": {
        const v = this.attr("value");
        if (v !== undefined) return v;
        const t = this.attr("type");
        return t === "radio" || t === "checkbox" ? "on" : "";
      }
      case "button": {
        const v = this.attr("value");
        return v === undefined ? "" : v;
      }
      case "textarea":
        return this.html();
      case "option":
        return valueOrHTML(this);
      case "select": {
        const selected = this.first().find("option[selected]");
        if (this.attr("multiple") !== undefined) return selected.map((_, o) => valueOrHTML(o));
        return valueOrHTML(selected);
      }
      default:
        return undefined;
    }
  }
  data(key) {
    if (this._n.length === 0) return undefined;
    const flat = L.htmlAttrs(this._d, this._n[0]);
    if (flat.length === 0) return undefined;
    if (key !== undefined) {
      const v = this.attr("data-" + propertyToAttr(String(key)));
      return v === undefined ? undefined : dataValue(v);
    }
    const out = {};
    for (let i = 0; i < flat.length; i += 2) {
      const k = flat[i];
      if (k.startsWith("data-") && k.length > 5) out[attrToProperty(k.slice(5))] = dataValue(flat[i + 1]);
    }
    return out;
  }

  serializeArray() {
    const elements = this.is("form") ? this.find(SUBMITTABLE) : this.filter(SUBMITTABLE);
    const out = [];
    elements._n.forEach((n) => {
      const el = this._derive([n]);
      const name = el.attr("name", "");
      const type = el.attr("type", "");
      const checked = el.attr("checked", "");
      // k6's rules word for word: only disabled="disabled" and checked="checked" count.
      const ok = name !== "" && el.attr("disabled", "") !== "disabled" &&
        !["submit", "button", "reset", "image", "file"].includes(type) &&
        (checked === "checked" || (type !== "checkbox" && type !== "radio"));
      if (ok) out.push({ name: name, value: el.val() });
    });
    return out;
  }
  serializeObject() {
    const out = {};
    for (const f of this.serializeArray()) out[f.name] = f.value;
    return out;
  }
  serialize() {
    const values = {};
    for (const f of this.serializeArray()) {
      if (typeof f.value === "string") values[f.name] = [f.value];
      else if (Array.isArray(f.value)) values[f.name] = f.value;
    }
    return encodeValues(values);
  }
}

function valueOrHTML(s) {
  const v = s.attr("value");
  return v !== undefined ? v : s.html();
}

// Go's url.Values.Encode: keys sorted, url.QueryEscape (space as "+").
function queryEscape(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%20/g, "+");
}
function encodeValues(values) {
  const parts = [];
  for (const k of Object.keys(values).sort()) {
    for (const v of values[k]) parts.push(queryEscape(k) + "=" + queryEscape(v));
  }
  return parts.join("&");
}

function attrToProperty(s) {
  const i = s.indexOf("-");
  if (i < 0) return s;
  return s.slice(0, i) + s.slice(i + 1).split("-").filter((p) => p !== "").map((p) => p[0].toUpperCase() + p.slice(1)).join("");
}
function propertyToAttr(s) {
  return s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}
function dataValue(v) {
  if (v.length === 0) return undefined;
  if (v[0] === "{" || v[0] === "[") {
    try { return JSON.parse(v); } catch (e) { return v; }
  }
  switch (v) {
    case "true": return true;
    case "false": return false;
    case "null": case "undefined": return undefined;
  }
  const f = Number(v);
  // Numeric only when the number writes back the same (k6: "101.00" and "1E02" stay strings).
  if (v.trim() !== "" && Number.isFinite(f) && String(f) === v) return f;
  return v;
}

// Generated from k6's js/modules/k6/html/gen/gen_elements.go table: per element type, its
// attribute accessors as [method, attribute, kind, default or options]; kinds: s string, u URL,
// b present, i integer, c constant, e enum (first option is the default), n enum or undefined.
const ACCESSORS = {
  BaseElement: [["href","href","u",null],["target","target","s"]],
  ButtonElement: [["accessKey","accesskey","s"],["autofocus","autofocus","b"],["disabled","disabled","b"],["tabIndex","tabindex","i",0],["type","type","e",["submit","button","menu","reset"]]],
  DataElement: [["value","value","s"]],
  EmbedElement: [["height","height","s"],["width","width","s"],["src","src","s"],["type","type","s"]],
  FieldSetElement: [["disabled","disabled","b"],["name","name","s"]],
  FormElement: [["action","action","u",""],["name","name","s"],["target","target","s"],["enctype","enctype","e",["application/x-www-form-urlencoded","multipart/form-data","text/plain"]],["encoding","enctype","e",["application/x-www-form-urlencoded","multipart/form-data","text/plain"]],["acceptCharset","accept-charset","s"],["autocomplete","autocomplete","e",["on","off"]],["noValidate","novalidate","b"]],
  HrefElement: [["download","download","s"],["referrerPolicy","referrerpolicy","e",["","no-referrer","no-referrer-when-downgrade","origin","origin-when-cross-origin","unsafe-url"]],["rel","rel","s"],["href","href","u",""],["target","target","s"],["type","type","s"],["accessKey","accesskey","s"],["hrefLang","hreflang","s"],["toString","href","u",""]],
  IFrameElement: [["allowfullscreen","allowfullscreen","b"],["referrerPolicy","referrerpolicy","e",["","no-referrer","no-referrer-when-downgrade","origin","origin-when-cross-origin","unsafe-url"]],["height","height","s"],["width","width","s"],["name","name","s"],["src","src","u",""]],
  ImageElement: [["currentSrc","src","u",""],["sizes","sizes","s"],["srcset","srcset","s"],["alt","alt","s"],["crossOrigin","crossorigin","n",["anonymous","use-credentials"]],["height","height","i",0],["width","width","i",0],["isMap","ismap","b"],["name","name","s"],["src","src","u",""],["useMap","usemap","s"],["referrerPolicy","referrerpolicy","e",["","no-referrer","no-referrer-when-downgrade","origin","origin-when-cross-origin","unsafe-url"]]],
  InputElement: [["name","name","s"],["tabIndex","tabindex","i",0],["type","type","e",["text","button","checkbox","color","date","datetime-local","email","file","hidden","image","month","number","password","radio","range","reset","search","submit","tel","time","url","week"]],["disabled","disabled","b"],["autofocus","autofocus","b"],["required","required","b"],["value","value","s"],["checked","checked","b"],["defaultChecked","checked","b"],["alt","alt","s"],["src","src","u",""],["height","height","s"],["width","width","s"],["accept","accept","s"],["autocomplete","autocomplete","e",["on","off"]],["maxLength","maxlength","i",-1],["size","size","i",0],["pattern","pattern","s"],["placeholder","placeholder","s"],["readonly","readonly","b"],["min","min","s"],["max","max","s"],["defaultValue","value","s"],["dirName","dirname","s"],["accessKey","accesskey","s"],["multiple","multiple","b"],["step","step","s"]],
  KeygenElement: [["autofocus","autofocus","b"],["challenge","challenge","s"],["disabled","disabled","b"],["keytype","keytype","e",["RSA","DSA","EC"]],["name","name","s"],["type","type","c","keygen"]],
  LabelElement: [["htmlFor","for","s"]],
  LegendElement: [["accessKey","accesskey","s"]],
  LiElement: [["value","value","i",0],["type","type","e",["","1","a","A","i","I","disc","square","circle"]]],
  LinkElement: [["crossOrigin","crossorigin","n",["anonymous","use-credentials"]],["referrerPolicy","referrerpolicy","e",["","no-referrer","no-referrer-when-downgrade","origin","origin-when-cross-origin","unsafe-url"]],["href","href","u",""],["hreflang","hreflang","s"],["media","media","s"],["rel","rel","s"],["target","target","s"],["type","type","s"]],
  MapElement: [["name","name","s"]],
  MediaElement: [["autoplay","autoplay","b"],["controls","controls","b"],["loop","loop","b"],["muted","muted","b"],["preload","preload","e",["auto","metadata","none"]],["src","src","u",""],["crossOrigin","crossorigin","n",["anonymous","use-credentials"]],["currentSrc","src","s"],["defaultMuted","muted","b"],["mediaGroup","mediagroup","s"]],
  MetaElement: [["content","content","s"],["name","name","s"],["httpEquiv","http-equiv","e",["content-type","default-style","refresh"]]],
  MeterElement: [["min","min","i",0],["max","max","i",0],["high","high","i",0],["low","low","i",0],["optimum","optimum","i",0]],
  ModElement: [["cite","cite","s"],["datetime","datetime","s"]],
  OListElement: [["reversed","reversed","b"],["start","start","i",0],["type","type","e",["1","a","A","i","I"]]],
  ObjectElement: [["data","data","u",""],["height","height","s"],["name","name","s"],["type","type","s"],["tabIndex","tabindex","i",0],["typeMustMatch","typemustmatch","b"],["useMap","usemap","s"],["width","width","s"]],
  OptGroupElement: [["disabled","disabled","b"],["label","label","s"]],
  OptionElement: [["defaultSelected","selected","b"],["selected","selected","b"]],
  OutputElement: [["htmlFor","for","s"],["name","name","s"],["type","type","c","output"]],
  ParamElement: [["name","name","s"],["value","value","s"]],
  PreElement: [["name","name","s"],["value","value","s"]],
  QuoteElement: [["cite","cite","s"]],
  ScriptElement: [["crossOrigin","crossorigin","s"],["type","type","s"],["src","src","u",""],["charset","charset","s"],["async","async","b"],["defer","defer","b"],["noModule","nomodule","b"]],
  SelectElement: [["autofocus","autofocus","b"],["disabled","disabled","b"],["multiple","multiple","b"],["name","name","s"],["required","required","b"],["tabIndex","tabindex","i",0]],
  SourceElement: [["keySystem","keysystem","s"],["media","media","s"],["sizes","sizes","s"],["src","src","u",""],["srcset","srcset","s"],["type","type","s"]],
  StyleElement: [["media","media","s"]],
  TableCellElement: [["colSpan","colspan","i",1],["rowSpan","rowspan","i",1],["headers","headers","s"]],
  TableElement: [["sortable","sortable","b"]],
  TableHeaderCellElement: [["abbr","abbr","s"],["scope","scope","e",["","row","col","colgroup","rowgroup"]],["sorted","sorted","b"]],
  TextAreaElement: [["type","type","c","textarea"],["value","value","s"],["defaultValue","value","s"],["placeholder","placeholder","s"],["rows","rows","i",0],["cols","cols","i",0],["maxLength","maxlength","i",0],["tabIndex","tabindex","i",0],["accessKey","accesskey","s"],["readOnly","readonly","b"],["required","required","b"],["autocomplete","autocomplete","e",["on","off"]],["autocapitalize","autocapitalize","e",["sentences","none","off","characters","words"]],["wrap","wrap","e",["soft","hard","off"]]],
  TimeElement: [["datetime","datetime","s"]],
  TrackElement: [["kind","kind","e",["subtitle","captions","descriptions","chapters","metadata"]],["src","src","u",""],["srclang","srclang","s"],["label","label","s"],["default","default","b"]],
  UListElement: [["type","type","s"]],
};
// The element types of each tag, as k6's selToElement builds them.
const TAGS = {
  "a": ["AnchorElement", "HrefElement"],
  "area": ["AreaElement", "HrefElement"],
  "audio": ["AudioElement", "MediaElement"],
  "base": ["BaseElement"],
  "button": ["ButtonElement", "FormFieldElement"],
  "canvas": ["CanvasElement"],
  "col": ["TableColElement"],
  "data": ["DataElement"],
  "datalist": ["DataListElement"],
  "del": ["DelElement", "ModElement"],
  "embed": ["EmbedElement"],
  "fieldset": ["FieldSetElement"],
  "form": ["FormElement"],
  "iframe": ["IFrameElement"],
  "img": ["ImageElement"],
  "input": ["InputElement", "FormFieldElement"],
  "ins": ["InsElement", "ModElement"],
  "keygen": ["KeygenElement"],
  "label": ["LabelElement"],
  "legend": ["LegendElement"],
  "li": ["LiElement"],
  "link": ["LinkElement"],
  "map": ["MapElement"],
  "meta": ["MetaElement"],
  "meter": ["MeterElement"],
  "object": ["ObjectElement"],
  "ol": ["OListElement"],
  "optgroup": ["OptGroupElement"],
  "option": ["OptionElement"],
  "output": ["OutputElement"],
  "param": ["ParamElement"],
  "pre": ["PreElement"],
  "progress": ["ProgressElement"],
  "quote": ["QuoteElement"],
  "script": ["ScriptElement"],
  "select": ["SelectElement"],
  "source": ["SourceElement"],
  "style": ["StyleElement"],
  "table": ["TableElement"],
  "tbody": ["TableBodyElement", "TableSectionElement"],
  "td": ["TableDataCellElement", "TableCellElement"],
  "textarea": ["TextAreaElement"],
  "tfoot": ["TableFootElement", "TableSectionElement"],
  "th": ["TableHeaderCellElement", "TableCellElement"],
  "thead": ["TableHeadElement", "TableSectionElement"],
  "time": ["TimeElement"],
  "title": ["TitleElement"],
  "tr": ["TableRowElement"],
  "track": ["TrackElement"],
  "ul": ["UListElement"],
  "video": ["VideoElement", "MediaElement"],
};

const INT = /^[+-]?[0-9]+$/;
function urlAttr(sel, attr, def) {
  if (sel.url === "") return sel.attr(attr, "");
  const v = sel.attr(attr);
  if (v === undefined) return def;
  try {
    return L.resolveUrl(sel.url, v);
  } catch (e) {
    return def;
  }
}
function accessor(kind, attr, arg) {
  switch (kind) {
    case "s": return function () { return this._sel.attr(attr, ""); };
    case "b": return function () { return this._sel.attr(attr) !== undefined; };
    case "i": return function () {
      const v = this._sel.attr(attr);
      return v !== undefined && INT.test(v) ? parseInt(v, 10) : arg;
    };
    case "c": return function () { return arg; };
    case "e": return function () {
      const v = this._sel.attr(attr, "");
      return arg.includes(v) ? v : arg[0];
    };
    case "n": return function () {
      const v = this._sel.attr(attr);
      return v !== undefined && arg.includes(v) ? v : undefined;
    };
    default: return function () { return urlAttr(this._sel, attr, arg === null ? this._sel.url : arg); };
  }
}
// The hand-written methods of k6's elements.go, per element type.
const URL_PARTS = /^(?:([^:\/?#]+):)?(?:\/\/([^\/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/;
// The href as k6 reads it (Go's url.URL after ResolveReference): scheme, user, host, path,
// query, fragment; all empty when there is no href.
function hrefParts(el) {
  const href = el._sel.attr("href");
  const none = { scheme: "", user: undefined, host: "", path: "", query: "", fragment: "" };
  if (href === undefined) return none;
  let text = href;
  if (el._sel.url !== "") {
    try {
      text = L.resolveUrl(el._sel.url, href);
    } catch (e) {
      return none;
    }
  }
  const m = URL_PARTS.exec(text);
  if (m === null) return none;
  let authority = m[2] || "";
  let user;
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    user = authority.slice(0, at);
    authority = authority.slice(at + 1);
  }
  let path = m[3] || "";
  if (el._sel.url === "" && m[1] === undefined && path !== "" && path[0] !== "/") path = "/" + path;
  return { scheme: m[1] || "", user: user, host: authority, path: path, query: m[4] || "", fragment: m[5] || "" };
}
// Go's net.SplitHostPort: [host, port], or undefined when the host has no port.
function splitHostPort(host) {
  const m = /^(?:\[([^\]]*)\]|([^:\[\]]*)):([0-9]*)$/.exec(host);
  return m === null ? undefined : [m[1] !== undefined ? m[1] : m[2], m[3]];
}
const DEFAULT_PORTS = { http: "80", https: "443", ftp: "21" };
function elementsOf(sel) { return sel.get(); }
function ownerForm(el) {
  const closest = el._sel.closest("form");
  if (closest.size() > 0) return closest;
  const id = el._sel.attr("form", "");
  if (id === "") return undefined;
  const found = el._sel.parents().last().find("#" + id);
  return found.size() === 0 ? undefined : found;
}
function ownerFormElement(el) {
  const f = ownerForm(el);
  return f === undefined ? undefined : toElement(f.eq(0));
}
function labelsOf(el) {
  const wrapper = el._sel.closest("label");
  const id = el._sel.attr("id", "");
  if (id === "") return wrapper.get();
  const byId = el._sel.parents().last().find("label[for=\"" + id + "\"]");
  if (byId.size() === 0) return wrapper.get();
  return wrapper.add(byId).get();
}
function formOrElemAttr(el, name) {
  const own = el._sel.attr("form" + name);
  if (own !== undefined) return own;
  const f = ownerForm(el);
  return f === undefined ? undefined : f.attr(name);
}
function splitAttr(el, name) {
  const v = el._sel.attr(name, "");
  return v === "" ? [] : v.split(" ");
}
function indexIn(sel, of) {
  return of._n.length === 0 ? -1 : sel._n.indexOf(of._n[0]);
}
function firstChildElement(el, tag) {
  return toElement(el._sel.children(tag));
}
function intAttr(el, name, def) {
  const v = el._sel.attr(name);
  return v !== undefined && INT.test(v) ? parseInt(v, 10) : def;
}
function floatAttr(el, name) {
  const v = el._sel.attr(name);
  if (v === undefined || v.trim() === "") return undefined;
  const f = Number(v);
  return Number.isNaN(f) || f < 0 ? undefined : f;
}
const formMembers = {
  form() { return ownerFormElement(this); },
  labels() { return labelsOf(this); },
};
const METHODS = {
  HrefElement: {
    hash() { const f = hrefParts(this).fragment; return f === "" ? "" : "#" + f; },
    host() {
      const p = hrefParts(this);
      const hp = splitHostPort(p.host);
      if (p.host === "" || hp === undefined) return p.host;
      return DEFAULT_PORTS[p.scheme] === hp[1] ? p.host.slice(0, p.host.length - hp[1].length - 1) : p.host;
    },
    hostname() { const h = hrefParts(this).host; const hp = splitHostPort(h); return hp === undefined ? h : hp[0]; },
    port() { const hp = splitHostPort(hrefParts(this).host); return hp === undefined ? "" : hp[1]; },
    username() { const u = hrefParts(this).user; return u === undefined ? "" : u.split(":")[0]; },
    password() { const u = hrefParts(this).user; const i = u === undefined ? -1 : u.indexOf(":"); return i < 0 ? "" : u.slice(i + 1); },
    origin() {
      const p = hrefParts(this);
      if (p.scheme === "") return "";
      if (p.scheme === "file") return this.href();
      return p.scheme + "://" + p.host;
    },
    pathname() { return hrefParts(this).path; },
    protocol() { const s = hrefParts(this).scheme; return s === "" ? ":" : s; },
    relList() { return splitAttr(this, "rel"); },
    search() { const q = hrefParts(this).query; return q === "" ? "" : "?" + q; },
    text() { return this.textContent(); },
  },
  FormFieldElement: {
    form: formMembers.form,
    labels: formMembers.labels,
    formAction() {
      const action = formOrElemAttr(this, "action");
      if (this._sel.url === "") return action === undefined ? "" : action;
      if (action === undefined || action === "") return this._sel.url;
      try {
        return L.resolveUrl(this._sel.url, action);
      } catch (e) {
        return action;
      }
    },
    formEnctype() {
      const e = formOrElemAttr(this, "enctype");
      return e === "multipart/form-data" || e === "text/plain" ? e : "application/x-www-form-urlencoded";
    },
    formMethod() { const m = formOrElemAttr(this, "method"); return m !== undefined && m.toLowerCase() === "post" ? "post" : "get"; },
    formNoValidate() { return formOrElemAttr(this, "novalidate") !== undefined; },
    formTarget() { const t = formOrElemAttr(this, "target"); return t === undefined ? "" : t; },
    name() { return this._sel.attr("name", ""); },
  },
  ButtonElement: { value() { return valueOrHTML(this._sel); } },
  CanvasElement: {
    width() { return intAttr(this, "width", 150); },
    height() { return intAttr(this, "height", 150); },
  },
  DataListElement: { options() { return this._sel.find("option").get(); } },
  FieldSetElement: {
    form() { const f = ownerForm(this); return f === undefined ? undefined : toElement(f); },
    type() { return "fieldset"; },
    elements() { return this._sel.find("input,select,button,textarea").get(); },
    validity() { return undefined; },
  },
  FormElement: {
    elements() { return this._sel.find("input,select,button,textarea,fieldset").get(); },
    length() { return this._sel.find("input,select,button,textarea,fieldset").size(); },
    method() { return this._sel.attr("method") === "post" ? "post" : "get"; },
  },
  InputElement: {
    list() {
      const id = this._sel.attr("list", "");
      if (id === "" || ["hidden", "checkbox", "radio", "file", "button"].includes(this._sel.attr("type", ""))) return undefined;
      const d = this._sel.parents().last().find("datalist[id=\"" + id + "\"]");
      return d.size() === 0 ? undefined : toElement(d.eq(0));
    },
  },
  KeygenElement: formMembers,
  LabelElement: {
    control() {
      const id = this._sel.attr("for");
      if (id === undefined) return undefined;
      const c = this._sel.parents().last().find("#" + id);
      return c.size() === 0 ? undefined : toElement(c.eq(0));
    },
    form: formMembers.form,
  },
  LegendElement: { form: formMembers.form },
  LinkElement: { relList() { return splitAttr(this, "rel"); } },
  MapElement: {
    areas() { return this._sel.find("area").get(); },
    images() {
      const name = this._sel.attr("id");
      if (name === undefined) return [];
      return this._sel.parents().last().find("img[usemap=\"#" + name + "\"],object[usemap=\"#" + name + "\"]").get();
    },
  },
  MeterElement: { labels: formMembers.labels },
  ObjectElement: { form: formMembers.form },
  OptionElement: {
    disabled() {
      if (this._sel.attr("disabled") !== undefined) return true;
      const g = this._sel.parents("optgroup");
      return g.size() > 0 && g.attr("disabled") !== undefined;
    },
    form() {
      const f = this._sel.parents("form");
      if (f.size() > 0) return toElement(f.first());
      const s = this._sel.parents("select");
      const id = s.attr("form");
      if (id === undefined) return undefined;
      const owner = s.parents().last().find("form#" + id);
      return owner.size() === 0 ? undefined : toElement(owner.first());
    },
    index() {
      const holder = this._sel.parents("select,datalist");
      return holder.size() === 0 ? 0 : indexIn(holder.find("option"), this._sel);
    },
    label() { const l = this._sel.attr("label"); return l === undefined ? this.textContent() : l; },
    text() { return this.textContent(); },
    value() { return valueOrHTML(this._sel); },
  },
  OutputElement: {
    form: formMembers.form,
    labels: formMembers.labels,
    value() { return this.textContent(); },
    defaultValue() { return this.textContent(); },
  },
  ProgressElement: {
    max() { const m = floatAttr(this, "max"); return m === undefined ? 1 : m; },
    value() { const v = floatAttr(this, "value"); return v === undefined ? 0 : v / this.max(); },
    position() { const v = floatAttr(this, "value"); return v === undefined ? -1 : v / this.max(); },
    labels: formMembers.labels,
  },
  ScriptElement: { text() { return this.textContent(); } },
  SelectElement: {
    form: formMembers.form,
    labels: formMembers.labels,
    length() { return this._sel.find("option").size(); },
    options() { return this._sel.find("option").get(); },
    selectedIndex() {
      const o = this._sel.find("option[selected]");
      return o.size() === 0 ? -1 : indexIn(this._sel.find("option"), o);
    },
    selectedOptions() { return this._sel.find("option[selected]").get(); },
    size() { return this._sel.attr("multiple") !== undefined ? 4 : 1; },
    type() { return this._sel.attr("multiple") !== undefined ? "select-multiple" : "select"; },
    value() {
      const o = this._sel.find("option[selected]");
      return o.size() === 0 ? "" : valueOrHTML(o.first());
    },
  },
  StyleElement: { type() { const t = this._sel.attr("type", ""); return t === "" ? "text/css" : t; } },
  TableElement: {
    caption() { return firstChildElement(this, "caption"); },
    tHead() { return firstChildElement(this, "thead"); },
    tFoot() { return firstChildElement(this, "tfoot"); },
    rows() { return this._sel.find("tr").get(); },
    tBodies() { return this._sel.find("tbody").get(); },
  },
  TableSectionElement: { rows() { return this._sel.find("tr").get(); } },
  TableCellElement: {
    cellIndex() {
      const row = this._sel.parents("tr");
      return row.size() === 0 ? -1 : indexIn(row.find("th,td"), this._sel);
    },
  },
  TableRowElement: {
    cells() { return this._sel.find("th,td").get(); },
    rowIndex() {
      const t = this._sel.parents("table");
      return t.size() === 0 ? -1 : indexIn(t.find("tr"), this._sel);
    },
    sectionRowIndex() {
      const s = this._sel.parents("thead,tbody,tfoot");
      return s.size() === 0 ? -1 : indexIn(s.find("tr"), this._sel);
    },
  },
  TextAreaElement: {
    form: formMembers.form,
    labels: formMembers.labels,
    length() { return this._sel.attr("value", "").length; },
  },
  TableColElement: { span() { const n = intAttr(this, "span", 1); return n < 1 ? 1 : n; } },
  MediaElement: { textTracks() { return this._sel.find("track").get(); } },
  TitleElement: { text() { return this.textContent(); } },
};
// One prototype per tag, made when an element of that tag is first read.
const PROTOS = {};
function protoFor(tag) {
  if (!Object.prototype.hasOwnProperty.call(TAGS, tag)) return Element.prototype;
  let p = PROTOS[tag];
  if (p === undefined) {
    p = Object.create(Element.prototype);
    // The inner type first, so the outer one's accessors win, as Go's embedding does.
    for (const type of TAGS[tag].slice().reverse()) {
      for (const [method, attr, kind, arg] of ACCESSORS[type] || []) p[method] = accessor(kind, attr, arg);
      Object.assign(p, METHODS[type] || {});
    }
    PROTOS[tag] = p;
  }
  return p;
}
function toElement(sel) {
  if (sel._n.length === 0) return undefined;
  const el = new Element(sel);
  const p = protoFor(sel._name());
  if (p !== Element.prototype) Object.setPrototypeOf(el, p);
  return el;
}
function nodeElement(sel, n) {
  return n === undefined ? undefined : toElement(sel._derive([n]));
}

class Element {
  constructor(sel) { Object.defineProperty(this, "_sel", { value: sel }); }
  get _node() { return this._sel._n[0]; }
  _step(way) { return nodeElement(this._sel, L.htmlStep(this._sel._d, this._node, way)); }
  selection() { return this._sel; }
  nodeName() { return this._sel._name(); }
  nodeType() {
    const t = L.htmlType(this._sel._d, this._node);
    return t === 0 ? undefined : t;
  }
  nodeValue() {
    const t = L.htmlType(this._sel._d, this._node);
    return t === 3 || t === 8 ? this._sel.text() : undefined;
  }
  id() { return this._sel.attr("id", ""); }
  textContent() { return this._sel.text(); }
  innerHTML() { return this._sel.html(); }
  getAttribute(name) { return this._sel.attr(name); }
  hasAttribute(name) { return this._sel.attr(name) !== undefined; }
  hasAttributes() { return L.htmlAttrs(this._sel._d, this._node).length > 0; }
  getAttributeNode(name) {
    const v = this._sel.attr(name);
    return v === undefined ? undefined : new Attribute(this, String(name), v);
  }
  attributes() {
    const flat = L.htmlAttrs(this._sel._d, this._node);
    const out = {};
    for (let i = 0; i < flat.length; i += 2) out[flat[i]] = new Attribute(this, flat[i], flat[i + 1]);
    return out;
  }
  toString() {
    return L.htmlType(this._sel._d, this._node) === 1 ? "[object html.Node]" : "[object " + this.nodeName() + "]";
  }
  hasChildNodes() { return L.htmlStep(this._sel._d, this._node, "firstChild") !== undefined; }
  childNodes() { return this._sel.contents().get(); }
  children() { return this._sel.children().get(); }
  childElementCount() { return this._sel.children().size(); }
  firstChild() { return this._step("firstChild"); }
  lastChild() { return this._step("lastChild"); }
  previousSibling() { return this._step("previousSibling"); }
  nextSibling() { return this._step("nextSibling"); }
  parentNode() { return this._step("parentNode"); }
  firstElementChild() { return toElement(this._sel.children().first()); }
  lastElementChild() { return toElement(this._sel.children().last()); }
  previousElementSibling() { return toElement(this._sel.prev()); }
  nextElementSibling() { return toElement(this._sel.next()); }
  parentElement() { return toElement(this._sel.parent()); }
  ownerDocument() { return nodeElement(this._sel, 0); }
  classList() {
    const c = this._sel.attr("class");
    return c === undefined ? [] : c.split(/\s+/).filter((x) => x !== "");
  }
  className() { return this._sel.attr("class"); }
  lang() { return this._sel.attr("lang"); }
  namespaceURI() { return "http://www.w3.org/1999/xhtml"; }
  isDefaultNamespace() { return true; }
  getElementsByClassName(name) { return this._sel.find("." + name).get(); }
  getElementsByTagName(name) { return this._sel.find(name).get(); }
  querySelector(selector) { return toElement(this._sel.find(selector)); }
  querySelectorAll(selector) { return this._sel.find(selector).get(); }
  contains(other) {
    return isElem(other) && other._sel._d === this._sel._d && L.htmlContains(this._sel._d, this._node, other._node);
  }
  matches(selector) { return this._sel.is(selector); }
  isSameNode(other) { return isElem(other) && other._sel._d === this._sel._d && other._node === this._node; }
  isEqualNode(other) { return isElem(other) && other._sel.html() === this._sel.html(); }
}

class Attribute {
  constructor(owner, name, value) {
    this.owner_element = owner;
    this.name = name;
    this.value = value;
  }
  prefix() { return ""; }
  namespaceURI() { return "http://www.w3.org/1999/xhtml"; }
  localName() { return this.name; }
}

function parseHTML(src) {
  return new Selection(L.htmlParse(String(src)), [0], undefined, "");
}

// Response.html(): the document of `body`, parsed once per body.
function fromResponse(res, selector) {
  if (res.body === null || res.body === undefined) {
    throw new Error("the body is null so we can't transform it to HTML - this likely was because of a request error getting the response");
  }
  let cache = res._htmlDoc;
  if (cache === undefined || cache.body !== res.body) {
    cache = { body: res.body, doc: L.htmlParse(ArrayBuffer.isView(res.body) ? res.body.buffer : res.body) };
    Object.defineProperty(res, "_htmlDoc", { value: cache, writable: true, configurable: true });
  }
  const s = new Selection(cache.doc, [0], undefined, res.url);
  return selector === undefined ? s : s.find(String(selector));
}

return { parseHTML, fromResponse, encodeValues };
})()"##;
