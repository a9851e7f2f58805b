//! `k6/http`: requests through the engine's HTTP client, and k6's Response.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;

function canonical(name) {
  return String(name).toLowerCase().replace(/(^|-)([a-z])/g, (m, d, c) => d + c.toUpperCase());
}

// Go's url.QueryEscape: only letters, digits and -_.~ are kept, a space is '+'.
function queryEscape(t) {
  return encodeURIComponent(t)
    .replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, "+");
}

// Go's url.Values.Encode, as k6 sends an object body: keys sorted, an array's elements as
// repeated keys.
function formBody(obj) {
  const pairs = [];
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (Array.isArray(v)) for (const el of v) pairs.push(queryEscape(k) + "=" + queryEscape(formValue(el)));
    else pairs.push(queryEscape(k) + "=" + queryEscape(formValue(v)));
  }
  return pairs.join("&");
}

// What Go's zero time gives k6 for a cookie with no Expires: its UnixNano()/1e6, overflowed.
const NO_EXPIRY = -6795364578871;

// Go's readSetCookies, as far as k6 shows it.
function parseSetCookie(line) {
  const parts = String(line).split(";");
  const first = parts.shift();
  const eq = first.indexOf("=");
  if (eq < 0) return null;
  const name = first.slice(0, eq).trim();
  if (name === "") return null;
  let value = first.slice(eq + 1).trim();
  if (value.length > 1 && value[0] === '"' && value[value.length - 1] === '"') value = value.slice(1, -1);
  const c = { name, value, domain: "", path: "", http_only: false, secure: false, max_age: 0, expires: NO_EXPIRY };
  for (const part of parts) {
    const i = part.indexOf("=");
    const k = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
    const v = i < 0 ? "" : part.slice(i + 1).trim();
    if (k === "domain") c.domain = v.replace(/^\./, "");
    else if (k === "path") c.path = v;
    else if (k === "max-age") {
      if (/^-?[0-9]+$/.test(v) && !(v[0] === "0" && Number(v) !== 0)) c.max_age = Number(v) <= 0 ? -1 : Number(v);
    } else if (k === "expires") {
      const t = Date.parse(v);
      c.expires = Number.isNaN(t) ? NO_EXPIRY : t;
    } else if (k === "secure") c.secure = true;
    else if (k === "httponly") c.http_only = true;
  }
  return c;
}

// The data of a file part of a multipart body (k6's FileData).
class FileData {
  constructor(data, filename, contentType) {
    this.data = data;
    this.filename = filename;
    this.content_type = contentType;
  }
}

export function file(data, filename, contentType) {
  if (ArrayBuffer.isView(data)) data = viewBuffer(data);
  if (typeof data !== "string" && !(data instanceof ArrayBuffer)) {
    throw new Error("http.file(): invalid type " + typeof data + ", expected string or ArrayBuffer");
  }
  // k6's defaults: the time in nanoseconds as the name, the generic binary type.
  const name = filename === undefined ? String(Date.now()) + "000000" : String(filename);
  const type = contentType === undefined ? "application/octet-stream" : String(contentType);
  return new FileData(data, name, type);
}

function viewBuffer(v) {
  return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
}

// Go's fmt of a form value, as k6 writes it; nested objects are k6's empty value.
function formValue(v) {
  if (v === undefined || v === null) return "";
  if (typeof v === "object") {
    L.log(2, "cannot urlencode a nested value in a request form body; encoding it as an empty value, use JSON.stringify() to send structured data");
    return "";
  }
  return String(v);
}

function multipartBody(obj) {
  const parts = [];
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v instanceof FileData) parts.push([k, v.data, v.filename, v.content_type]);
    else parts.push([k, formValue(v), null, null]);
  }
  return L.multipart(parts);
}

// The jars a script makes are numbered per VU; 0 is the VU's own (the engine's VU_JAR).
let jarCount = 0;

function setCookieLine(name, value, opts) {
  // A ';' or a line break would add attributes or headers of its own.
  const clean = (s) => String(s).replace(/[;\r\n\0]/g, "");
  let line = clean(name) + "=" + clean(value);
  if (opts !== undefined && opts !== null) {
    for (const k of Object.keys(opts)) {
      const v = opts[k];
      switch (k.toLowerCase()) {
        case "path": line += "; Path=" + clean(v); break;
        case "domain": line += "; Domain=" + clean(v); break;
        case "expires":
          if (String(v) !== "") {
            if (Number.isNaN(Date.parse(String(v)))) throw new Error('unable to parse "expires" date string "' + v + '"');
            line += "; Expires=" + clean(v);
          }
          break;
        case "max_age": {
          const n = Math.trunc(Number(v));
          if (n > 0) line += "; Max-Age=" + n;
          else if (n < 0) line += "; Max-Age=0";
          break;
        }
        case "secure": if (v) line += "; Secure"; break;
        case "http_only": if (v) line += "; HttpOnly"; break;
      }
    }
  }
  return line;
}

// k6's CookieJar: `new http.CookieJar()` is a jar of its own, http.cookieJar() the VU's.
export class CookieJar {
  constructor() {
    this._id = ++jarCount;
  }
  cookiesForURL(url) {
    const out = {};
    for (const [n, v] of L.jar(this._id, "get", String(url))) (out[n] = out[n] || []).push(v);
    return out;
  }
  set(url, name, value, opts) {
    L.jar(this._id, "set", String(url), setCookieLine(name, value, opts));
    return true;
  }
  clear(url) {
    L.jar(this._id, "clear", String(url));
  }
  delete(url, name) {
    if (name === undefined || name === null || name === "") throw new Error("cookie: is null");
    L.jar(this._id, "delete", String(url), String(name));
  }
}

const vuJar = Object.create(CookieJar.prototype);
vuJar._id = 0;

export function cookieJar() {
  return vuJar;
}

function requestCookies(cookies) {
  const out = [];
  for (const k of Object.keys(cookies)) {
    const c = cookies[k];
    if (c === undefined || c === null) continue;
    if (typeof c === "object" && !Array.isArray(c)) {
      out.push([k, c.value === undefined || c.value === null ? "" : String(c.value), !!c.replace]);
    } else {
      out.push([k, String(c), false]);
    }
  }
  return out;
}

// The response head's fields, in order, as [name, value] pairs.
function headerPairs(head) {
  const out = [];
  const lines = head.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    if (colon >= 0) out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

// What the request native answers: an array (indexed, which is cheaper to make from Rust than
// named properties) of the status, proto, url, head, body, error, error_code, then the timings.
const RAW_STATUS = 0, RAW_HEAD = 3, RAW_TIMINGS = 7;

// The native hands the head as its text and the timings in its array, and the module keeps the
// request as prepared: each becomes an object only when read, as most scripts never read most.
class Response {
  constructor(raw, prepared) {
    this.status = raw[0];
    this.proto = raw[1];
    this.url = raw[2];
    this.body = raw[4];
    this.error = raw[5];
    this.error_code = raw[6];
    this._raw = raw;
    this._prepared = prepared;
  }
  get _fields() {
    if (this._pairs === undefined) this._pairs = headerPairs(this._raw[RAW_HEAD]);
    return this._pairs;
  }
  get timings() {
    if (this._timings === undefined) {
      const t = this._raw, i = RAW_TIMINGS;
      this._timings = { duration: t[i], blocked: t[i + 1], connecting: t[i + 2], tls_handshaking: t[i + 3], sending: t[i + 4], waiting: t[i + 5], receiving: t[i + 6] };
    }
    return this._timings;
  }
  set timings(value) {
    this._timings = value;
  }
  get request() {
    if (this._request === undefined) {
      const r = this._prepared;
      this._request = r === null ? null : { method: r.m, url: r.u, headers: r.headers === undefined ? {} : r.headers, body: typeof r.text === "string" ? r.text : "" };
    }
    return this._request;
  }
  set request(value) {
    this._request = value;
  }
  get headers() {
    if (this._headers === undefined) {
      const headers = {};
      for (const [k, v] of this._fields) {
        const key = canonical(k);
        headers[key] = key in headers ? headers[key] + ", " + v : v;
      }
      this._headers = headers;
    }
    return this._headers;
  }
  set headers(value) {
    this._headers = value;
  }
  // k6's response cookies: those the last response set, by name.
  get cookies() {
    if (this._cookies === undefined) {
      const out = {};
      for (const [k, v] of this._fields) {
        if (k.toLowerCase() !== "set-cookie") continue;
        const c = parseSetCookie(v);
        if (c !== null) (out[c.name] = out[c.name] || []).push(c);
      }
      this._cookies = out;
    }
    return this._cookies;
  }
  set cookies(value) {
    this._cookies = value;
  }
  // What JSON.stringify and console.log show: the fields, not the lazy internals (k6's Go
  // object serializes its fields the same way).
  toJSON() {
    return {
      url: this.url, status: this.status, proto: this.proto, headers: this.headers, cookies: this.cookies,
      body: this.body, timings: this.timings, error: this.error, error_code: this.error_code, request: this.request,
    };
  }
  json(selector) {
    if (this.body === null || this.body === undefined) {
      throw new Error("the body is null so we can't transform it to JSON - this likely was because of a request error getting the response");
    }
    if (selector === undefined) {
      if (typeof this.body !== "string") {
        throw new Error("the response has no body to parse as JSON (responseType is not \"text\")");
      }
      return JSON.parse(this.body);
    }
    // A gjson path, as k6's: undefined when the body is no JSON or the path selects nothing.
    const b = this.body;
    const raw = L.jsonPath(ArrayBuffer.isView(b) ? b.buffer : b, String(selector));
    return raw === undefined ? undefined : JSON.parse(raw);
  }
  html(selector) {
    return L.html().fromResponse(this, selector);
  }
  submitForm(args) {
    return submitForm(this, args || {});
  }
  clickLink(args) {
    return clickLink(this, args || {});
  }
}

// What http.expectedStatuses() returns: the only response callback k6 takes.
class ExpectedStatuses {
  constructor(list) {
    this.list = list;
  }
}

export function expectedStatuses(...args) {
  const list = [];
  const status = (n) => Number.isInteger(n) && n >= 0 && n <= 999;
  for (const a of args) {
    if (status(a)) {
      list.push(a);
    } else if (a !== null && typeof a === "object" && status(a.min) && status(a.max)) {
      for (let s = a.min; s <= a.max; s++) list.push(s);
    } else {
      throw new Error("http.expectedStatuses(): " + JSON.stringify(a) + " is neither a status code nor {min, max}");
    }
  }
  return new ExpectedStatuses(list);
}

// null: no response callback, so no expected_response tag and no http_req_failed, as in k6.
const NO_CALLBACK = new ExpectedStatuses(null);

function responseCallback(cb, where) {
  if (cb instanceof ExpectedStatuses) return cb;
  if (cb === null) return NO_CALLBACK;
  throw new Error(where + ": expected a callback made by http.expectedStatuses(), as in k6");
}

// A request k6 refuses before sending is logged and answered with an empty response, not thrown.
function refused(message) {
  L.log(2, "Request Failed: " + message);
  const raw = [0, "", "", "", null, message, 0, 0, 0, 0, 0, 0, 0, 0];
  return new Response(raw, null);
}

// This VU's default, as k6's is: each VU has its own runtime.
let defaultCallback;

export function setResponseCallback(cb) {
  defaultCallback = responseCallback(cb, "http.setResponseCallback()");
}

export function request(method, url, body, params) {
  return send(prepare(method, url, body, params));
}

// A request ready to send: { m, u, text, sent, request, digest, cred }, or { done } when it is
// answered without being sent.
function prepare(method, url, body, params) {
  // A bare `http.get(url)`, the commonest request: nothing to build, nothing for the native to read.
  if ((params === undefined || params === null) && (body === undefined || body === null) && defaultCallback === undefined) {
    const m = String(method).toUpperCase();
    const u = String(url);
    if (u.indexOf("@") < 0) return { m, u, text: null, headers: undefined, sent: undefined, digest: false, cred: null };
  }
  const p = params || {};
  const headers = {};
  for (const k of Object.keys(p.headers || {})) headers[k] = String(p.headers[k]);
  let text = null;
  const contentType = (t) => {
    if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) headers["Content-Type"] = t;
  };
  if (body !== undefined && body !== null) {
    if (typeof body === "string" || body instanceof ArrayBuffer) {
      text = body;
    } else if (ArrayBuffer.isView(body)) {
      text = viewBuffer(body);
    } else if (typeof body === "object" && Object.values(body).some((v) => v instanceof FileData)) {
      const [bytes, type] = multipartBody(body);
      text = bytes;
      contentType(type);
    } else if (typeof body === "object") {
      text = formBody(body);
      contentType("application/x-www-form-urlencoded");
    } else {
      text = String(body);
    }
  }
  const m = String(method).toUpperCase();
  const u = String(url);
  const sent = {
    headers: headers,
    tags: p.tags,
    timeout: p.timeout,
    redirects: p.redirects,
    responseType: p.responseType,
  };
  let cb = defaultCallback;
  if (p.responseCallback !== undefined) {
    if (p.responseCallback === null) {
      cb = NO_CALLBACK;
    } else if (!(p.responseCallback instanceof ExpectedStatuses)) {
      return { done: refused("unsupported responseCallback") };
    } else {
      cb = p.responseCallback;
    }
  }
  if (cb === NO_CALLBACK) sent.noResponseCallback = true;
  else if (cb !== undefined) sent.expected = cb.list;
  if (p.cookies !== undefined && p.cookies !== null && typeof p.cookies === "object") sent.cookies = requestCookies(p.cookies);
  // As k6: anything but a CookieJar (null among them) leaves the VU's jar in use.
  if (p.jar instanceof CookieJar) sent.jar = p.jar._id;
  if (p.compression !== undefined) throw new Error("request parameter compression is not supported by loadrun yet");
  const auth = p.auth === undefined || p.auth === null ? "" : String(p.auth);
  if (auth === "ntlm") throw new Error('request parameter auth: "ntlm" is not supported by loadrun yet');
  const cred = userinfo(u);
  if (auth === "digest") {
    // As k6: the credentials leave the URL (no Basic header), the response's url among them.
    const bare = cred === null ? u : cred.url;
    return { m, u: bare, text, headers, sent, digest: true, cred };
  }
  // The engine sends a URL's credentials as Basic auth; k6 tags the URL with them masked.
  if (cred !== null && !(p.tags && p.tags.name !== undefined)) sent.tags = Object.assign({}, p.tags, { name: cred.masked });
  // No params, no body, no callback: the native has nothing to read.
  if (params === undefined || params === null) {
    if (text === null && cb === undefined && cred === null) return { m, u, text, headers, sent: undefined, digest: false, cred };
  }
  return { m, u, text, headers, sent, digest: false, cred };
}

function send(r) {
  if (r.done !== undefined) return r.done;
  if (r.digest) return new Response(digestRequest(r.m, r.u, r.cred, r.text, r.sent), r);
  return new Response(L.request(r.m, r.u, r.text, r.sent), r);
}

// The credentials of `scheme://user:pass@host...`, the URL without them, and k6's masked form.
function userinfo(url) {
  if (url.indexOf("@") < 0) return null;
  const x = /^([a-z][a-z0-9+.-]*:\/\/)([^@\/?#]*)@(.*)$/is.exec(url);
  if (x === null) return null;
  const dec = (t) => { try { return decodeURIComponent(t); } catch (e) { return t; } };
  const i = x[2].indexOf(":");
  return {
    user: dec(i < 0 ? x[2] : x[2].slice(0, i)),
    pass: dec(i < 0 ? "" : x[2].slice(i + 1)),
    url: x[1] + x[3],
    masked: x[1] + (i < 0 ? "****" : "****:****") + "@" + x[3],
  };
}

// k6's digest auth: a request without credentials, and on a 401 with a Digest challenge a
// second one answering it. Both record their samples; the first counts 401 as expected (and,
// as k6, only 401).
function digestRequest(m, url, cred, body, sent) {
  // With no response callback (null) k6 has none to swap for the challenge's.
  const first = sent.noResponseCallback ? sent : Object.assign({}, sent, { expected: [401] });
  const raw = L.request(m, url, body, first);
  if (raw[RAW_STATUS] !== 401) return raw;
  let challenge = null;
  for (const [k, v] of headerPairs(raw[RAW_HEAD])) {
    if (k.toLowerCase() === "www-authenticate" && /^digest\s/i.test(v)) challenge = v;
  }
  if (challenge === null) return raw;
  const uri = (url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^\/?#]*/i, "").replace(/#.*$/s, "")) || "/";
  const authorization = digestAnswer(challenge, m, uri, cred === null ? "" : cred.user, cred === null ? "" : cred.pass);
  const headers = Object.assign({}, sent.headers, { Authorization: authorization });
  return L.request(m, url, body, Object.assign({}, sent, { headers }));
}

function digestAnswer(challenge, method, uri, user, pass) {
  const f = {};
  const re = /([a-z0-9_-]+)=("([^"]*)"|[^,\s]*)/gi;
  let x;
  while ((x = re.exec(challenge.replace(/^digest\s+/i, ""))) !== null) f[x[1].toLowerCase()] = x[3] !== undefined ? x[3] : x[2];
  const md5 = (t) => L.hash("md5", [t], "hex");
  const realm = f.realm || "";
  const nonce = f.nonce || "";
  const qop = f.qop !== undefined && f.qop.split(",").map((q) => q.trim()).includes("auth") ? "auth" : null;
  const nc = "00000001";
  let cnonce = "";
  for (let i = 0; i < 16; i++) cnonce += Math.floor(Math.random() * 16).toString(16);
  let ha1 = md5(user + ":" + realm + ":" + pass);
  if ((f.algorithm || "").toUpperCase() === "MD5-SESS") ha1 = md5(ha1 + ":" + nonce + ":" + cnonce);
  const ha2 = md5(method + ":" + uri);
  const response = qop === null ? md5(ha1 + ":" + nonce + ":" + ha2) : md5([ha1, nonce, nc, cnonce, qop, ha2].join(":"));
  let h = 'Digest username="' + user + '", realm="' + realm + '", nonce="' + nonce + '", uri="' + uri + '", response="' + response + '"';
  if (f.algorithm !== undefined) h += ", algorithm=" + f.algorithm;
  if (f.opaque !== undefined) h += ', opaque="' + f.opaque + '"';
  if (qop !== null) h += ", qop=" + qop + ", nc=" + nc + ', cnonce="' + cnonce + '"';
  return h;
}

export function get(url, params) { return request("GET", url, null, params); }
export function head(url, params) { return request("HEAD", url, null, params); }
export function post(url, body, params) { return request("POST", url, body, params); }
export function put(url, body, params) { return request("PUT", url, body, params); }
export function patch(url, body, params) { return request("PATCH", url, body, params); }
export function del(url, body, params) { return request("DELETE", url, body, params); }
export function options(url, body, params) { return request("OPTIONS", url, body, params); }

// One request of a batch, in any of k6's three forms: a URL, [method, url, body, params], or
// { method, url, body, params }; prepared, not sent.
function batchOne(key, item) {
  if (typeof item === "string") return prepare("GET", item, null, undefined);
  if (Array.isArray(item)) {
    if (item.length < 2) throw new Error("http.batch(): request " + key + ": expected [method, url, body, params]");
    return prepare(item[0], item[1], item[2], item[3]);
  }
  if (item !== null && typeof item === "object") {
    if (item.url === undefined) throw new Error("http.batch(): request " + key + " has no url");
    return prepare(item.method === undefined ? "GET" : item.method, item.url, item.body, item.params);
  }
  throw new Error("http.batch(): request " + key + ": expected a URL, an array or an object");
}

// The prepared requests sent together: concurrently by the engine, within the batch and
// batchPerHost options. A digest request takes two round trips: those go one after another,
// once the others are done.
function sendAll(list) {
  const out = new Array(list.length);
  const together = [];
  list.forEach((r, i) => {
    if (r.done === undefined && !r.digest) together.push(i);
  });
  const raws = together.length === 0 ? [] : L.batch(together.map((i) => [list[i].m, list[i].u, list[i].text, list[i].sent]));
  together.forEach((i, k) => {
    out[i] = new Response(raws[k], list[i]);
  });
  list.forEach((r, i) => {
    if (out[i] === undefined) out[i] = send(r);
  });
  return out;
}

export function batch(requests) {
  if (Array.isArray(requests)) return sendAll(requests.map((item, i) => batchOne(i, item)));
  if (requests !== null && typeof requests === "object") {
    const keys = Object.keys(requests);
    const responses = sendAll(keys.map((k) => batchOne(JSON.stringify(k), requests[k])));
    const out = {};
    keys.forEach((k, i) => {
      out[k] = responses[i];
    });
    return out;
  }
  throw new Error("http.batch(): expected an array or an object of requests");
}

// k6's Response.submitForm: the form's fields (serializeObject), its submit button's name and
// value, then `fields`; sent to the form's action resolved against the response's URL.
function submitForm(res, args) {
  const formSelector = args.formSelector === undefined ? "form" : String(args.formSelector);
  const submitSelector = args.submitSelector === undefined ? "[type=\"submit\"]" : String(args.submitSelector);
  const form = res.html(formSelector);
  if (form.size() === 0) {
    throw new Error("no form found for selector '" + formSelector + "' in response '" + res.url + "'");
  }
  const methodAttr = form.attr("method");
  const method = methodAttr === undefined ? "GET" : methodAttr.toUpperCase();
  const actionAttr = form.attr("action");
  let target = actionAttr === undefined ? res.url : L.resolveUrl(res.url, actionAttr);
  const values = form.serializeObject();
  const submit = form.find(submitSelector);
  const submitName = submit.attr("name");
  const submitValue = submit.val();
  if (submitName !== undefined && submitValue !== undefined) values[submitName] = submitValue;
  const fields = args.fields;
  if (fields !== null && typeof fields === "object") {
    for (const k of Object.keys(fields)) values[k] = fields[k];
  }
  const params = args.params === undefined ? null : args.params;
  if (method === "GET") {
    const lists = {};
    for (const k of Object.keys(values)) lists[k] = [String(values[k])];
    const query = L.html().encodeValues(lists);
    const cut = target.search(/[?#]/);
    target = (cut < 0 ? target : target.slice(0, cut)) + (query === "" ? "" : "?" + query);
    return request(method, target, null, params);
  }
  return request(method, target, values, params);
}

// k6's Response.clickLink: a GET of the first matching element's href, resolved against the
// response's URL.
function clickLink(res, args) {
  const selector = args.selector === undefined ? "a[href]" : String(args.selector);
  const link = res.html(selector);
  if (link.size() === 0) {
    throw new Error("no element found for selector '" + selector + "' in response '" + res.url + "'");
  }
  const href = link.attr("href");
  if (href === undefined) {
    throw new Error("no valid href attribute value found on element '" + selector + "' in response '" + res.url + "'");
  }
  return request("GET", L.resolveUrl(res.url, href), null, args.params === undefined ? null : args.params);
}

export default {
  request, get, head, post, put, patch, del, options,
  batch, setResponseCallback, expectedStatuses, cookieJar, file, CookieJar,
};
"##;
