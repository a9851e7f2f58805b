//! `k6/http`: requests through the engine's HTTP client, and k6's Response.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;

function canonical(name) {
  return String(name).toLowerCase().replace(/(^|-)([a-z])/g, (m, d, c) => d + c.toUpperCase());
}

function formBody(obj) {
  return Object.keys(obj)
    .map((k) => encodeURIComponent(k) + "=" + encodeURIComponent(obj[k] === undefined || obj[k] === null ? "" : String(obj[k])))
    .join("&");
}

function select(doc, path) {
  let cur = doc;
  for (const part of String(path).split(".")) {
    if (cur === null || cur === undefined) return undefined;
    if (part === "#" && Array.isArray(cur)) return cur.length;
    cur = cur[part];
  }
  return cur;
}

class Response {
  constructor(raw, request) {
    this.status = raw.status;
    this.proto = raw.proto;
    this.url = raw.url;
    this.body = raw.body;
    this.error = raw.error;
    this.error_code = raw.error_code;
    this.timings = raw.timings;
    this.request = request;
    this._raw = raw.headers;
    this._headers = undefined;
  }
  // Built on first use: most scripts never read the headers of most responses.
  get headers() {
    if (this._headers === undefined) {
      const headers = {};
      for (const [k, v] of this._raw) {
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
  json(selector) {
    if (typeof this.body !== "string") {
      throw new Error("the response has no body to parse as JSON (responseType is not \"text\")");
    }
    const doc = JSON.parse(this.body);
    return selector === undefined ? doc : select(doc, selector);
  }
  html() {
    throw new Error("Response.html() is not supported by loadrun yet");
  }
  submitForm() {
    throw new Error("Response.submitForm() is not supported by loadrun yet");
  }
  clickLink() {
    throw new Error("Response.clickLink() is not supported by loadrun yet");
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

const NO_TIMINGS = { duration: 0, blocked: 0, connecting: 0, tls_handshaking: 0, sending: 0, waiting: 0, receiving: 0 };

// A request k6 refuses before sending is logged and answered with an empty response, not thrown.
function refused(message) {
  L.log(2, "Request Failed: " + message);
  const raw = { status: 0, proto: "", url: "", body: null, error: message, error_code: 0, timings: Object.assign({}, NO_TIMINGS), headers: [] };
  return new Response(raw, null);
}

// This VU's default, as k6's is: each VU has its own runtime.
let defaultCallback;

export function setResponseCallback(cb) {
  defaultCallback = responseCallback(cb, "http.setResponseCallback()");
}

export function request(method, url, body, params) {
  const p = params || {};
  const headers = {};
  for (const k of Object.keys(p.headers || {})) headers[k] = String(p.headers[k]);
  let text = null;
  if (body !== undefined && body !== null) {
    if (typeof body === "string") {
      text = body;
    } else if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
      throw new Error("binary request bodies are not supported by loadrun yet");
    } else if (typeof body === "object") {
      text = formBody(body);
      if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) {
        headers["Content-Type"] = "application/x-www-form-urlencoded";
      }
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
      return refused("unsupported responseCallback");
    } else {
      cb = p.responseCallback;
    }
  }
  if (cb === NO_CALLBACK) sent.noResponseCallback = true;
  else if (cb !== undefined) sent.expected = cb.list;
  for (const k of ["cookies", "jar", "auth", "compression"]) {
    if (p[k] !== undefined) throw new Error("request parameter " + k + " is not supported by loadrun yet");
  }
  const raw = L.request(m, u, text, JSON.stringify(sent));
  return new Response(raw, { method: m, url: u, headers: headers, body: text === null ? "" : text });
}

export function get(url, params) { return request("GET", url, null, params); }
export function head(url, params) { return request("HEAD", url, null, params); }
export function post(url, body, params) { return request("POST", url, body, params); }
export function put(url, body, params) { return request("PUT", url, body, params); }
export function patch(url, body, params) { return request("PATCH", url, body, params); }
export function del(url, body, params) { return request("DELETE", url, body, params); }
export function options(url, body, params) { return request("OPTIONS", url, body, params); }

// One request of a batch, in any of k6's three forms: a URL, [method, url, body, params], or
// { method, url, body, params }.
function batchOne(key, item) {
  if (typeof item === "string") return request("GET", item, null, undefined);
  if (Array.isArray(item)) {
    if (item.length < 2) throw new Error("http.batch(): request " + key + ": expected [method, url, body, params]");
    return request(item[0], item[1], item[2], item[3]);
  }
  if (item !== null && typeof item === "object") {
    if (item.url === undefined) throw new Error("http.batch(): request " + key + " has no url");
    return request(item.method === undefined ? "GET" : item.method, item.url, item.body, item.params);
  }
  throw new Error("http.batch(): request " + key + ": expected a URL, an array or an object");
}

// Sent one after another for now: the responses and the samples are k6's, the wall time is
// the sum of the requests' rather than k6's concurrent batchPerHost at a time.
export function batch(requests) {
  if (Array.isArray(requests)) return requests.map((item, i) => batchOne(i, item));
  if (requests !== null && typeof requests === "object") {
    const out = {};
    for (const k of Object.keys(requests)) out[k] = batchOne(JSON.stringify(k), requests[k]);
    return out;
  }
  throw new Error("http.batch(): expected an array or an object of requests");
}

function notYet(what) {
  return function () { throw new Error(what + " is not supported by loadrun yet"); };
}
export const cookieJar = notYet("http.cookieJar()");
export const file = notYet("http.file()");

export default {
  request, get, head, post, put, patch, del, options,
  batch, setResponseCallback, expectedStatuses, cookieJar, file,
};
"##;
