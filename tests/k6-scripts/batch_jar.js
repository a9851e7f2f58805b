// http.batch with cookies: its requests use the jar they name, and after the batch the jars
// hold what every response set or removed, as after single requests.
import http from "k6/http";
import { check } from "k6";
import { base } from "./lib/helpers.js";

export const options = { vus: 2, iterations: 4, batchPerHost: 3 };

const names = (c) => Object.keys(c).sort().join();

export default function () {
  const own = new http.CookieJar();
  const jar = http.cookieJar();
  jar.set(base(), "old", "1");
  jar.set(base(), "kept", "1");
  const rs = http.batch({
    set: `${base()}/cookies/set?fromBatch=1`,
    del: `${base()}/cookies/delete?old`,
    mine: { method: "GET", url: `${base()}/cookies/set?intoOwn=1`, params: { jar: own } },
    sent: { method: "GET", url: `${base()}/headers`, params: { cookies: { extra: "x" }, tags: { name: "batch-headers" } } },
  });
  check(rs, {
    "every request answered": (r) => Object.keys(r).every((k) => r[k].status === 200),
    "request cookies are sent": (r) => r.sent.json("headers.Cookie").split("; ").includes("extra=x"),
  });
  check(jar.cookiesForURL(`${base()}/`), { "the VU's jar after the batch": (c) => names(c) === "fromBatch,kept" });
  check(own.cookiesForURL(`${base()}/`), { "the script's jar after the batch": (c) => names(c) === "intoOwn" });
}
