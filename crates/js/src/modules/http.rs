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
  for (const k of ["cookies", "jar", "auth", "compression", "responseCallback"]) {
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

function notYet(what) {
  return function () { throw new Error(what + " is not supported by loadrun yet"); };
}
export const batch = notYet("http.batch()");
export const setResponseCallback = notYet("http.setResponseCallback()");
export const expectedStatuses = notYet("http.expectedStatuses()");
export const cookieJar = notYet("http.cookieJar()");
export const file = notYet("http.file()");

export default {
  request, get, head, post, put, patch, del, options,
  batch, setResponseCallback, expectedStatuses, cookieJar, file,
};
"##;
