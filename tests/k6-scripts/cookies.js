// The cookie jar: http.cookieJar() is the jar the VU's requests use (reset every iteration, as
// k6 does), new http.CookieJar() one of its own; request cookies merge with the jar's; a
// response shows the cookies it set.
import http from "k6/http";
import { check, group } from "k6";
import { base } from "./lib/helpers.js";

export const options = { vus: 2, iterations: 4 };

const names = (c) => Object.keys(c).sort().join();

export default function () {
  const jar = http.cookieJar();
  check(jar.cookiesForURL(`${base()}/`), { "the jar is empty at the iteration's start": (c) => names(c) === "" });
  group("jar", () => {
    jar.set(base(), "set_here", "1");
    const r = http.get(`${base()}/cookies`);
    check(r, { "a cookie set in the jar is sent": (r) => r.json("cookies.set_here") === "1" });
    http.get(`${base()}/cookies/set?from_server=2`);
    check(jar.cookiesForURL(`${base()}/x`), {
      "the server's cookie is in the jar": (c) => c.from_server[0] === "2" && c.set_here[0] === "1",
    });
    jar.set(`${base()}/cookies`, "scoped", "3", { path: "/cookies", max_age: 60 });
    check(jar.cookiesForURL(`${base()}/`), { "a path scopes a cookie": (c) => c.scoped === undefined });
    check(jar.cookiesForURL(`${base()}/cookies`), { "a path scopes a cookie": (c) => c.scoped[0] === "3" });
    jar.set(base(), "gone", "4", { expires: "Thu, 01 Jan 1970 00:00:00 GMT" });
    jar.set(base(), "secret", "5", { secure: true });
    check(jar.cookiesForURL(`${base()}/`), {
      "an expired or secure cookie is not sent over http": (c) => names(c) === "from_server,set_here",
    });
    jar.delete(`${base()}/`, "set_here");
    check(jar.cookiesForURL(`${base()}/`), { "delete removes one cookie": (c) => names(c) === "from_server" });
    jar.clear(`${base()}/`);
    check(jar.cookiesForURL(`${base()}/`), { "clear removes the URL's cookies": (c) => names(c) === "" });
  });
  group("params", () => {
    jar.set(base(), "a", "jar");
    jar.set(base(), "b", "jar");
    const r = http.get(`${base()}/headers`, { cookies: { a: { value: "req", replace: true }, b: "req", c: null } });
    check(r, {
      "request cookies join the jar's; replace drops the jar's": (r) =>
        r.json("headers.Cookie").split("; ").sort().join("; ") === "a=req; b=jar; b=req",
    });
    check(jar.cookiesForURL(`${base()}/`), { "request cookies stay out of the jar": (c) => c.a[0] === "jar" });
  });
  group("own jar", () => {
    const own = new http.CookieJar();
    own.set(base(), "own", "x");
    const r = http.get(`${base()}/cookies`, { jar: own });
    check(r, { "a jar of its own is used alone": (r) => names(r.json("cookies")) === "own" });
    http.get(`${base()}/cookies/set?only_own=1`, { jar: own });
    check(own, { "its responses' cookies go to it": (j) => j.cookiesForURL(`${base()}/`).only_own[0] === "1" });
    check(jar, { "not to the VU's": (j) => j.cookiesForURL(`${base()}/`).only_own === undefined });
    const n = http.get(`${base()}/cookies`, { jar: null });
    check(n, { "jar: null is the VU's jar, as in k6": (r) => names(r.json("cookies")) === "a,b,scoped" });
  });
  group("response cookies", () => {
    const r = http.get(`${base()}/cookies/set?k=v`, { redirects: 0 });
    check(r, {
      "the response's cookies": (r) => {
        const c = r.cookies.k[0];
        return c.name === "k" && c.value === "v" && c.path === "/" && c.domain === "" &&
          c.http_only === false && c.secure === false && c.max_age === 0;
      },
    });
    const d = http.get(`${base()}/cookies/delete?k`, { redirects: 0 });
    check(d, {
      "an expiring cookie": (r) => r.cookies.k[0].max_age === -1 && r.cookies.k[0].expires === 0,
      "no cookies is an empty object": () => names(http.get(`${base()}/get`).cookies) === "",
    });
  });
}
