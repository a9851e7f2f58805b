// auth: a URL's credentials go as Basic auth (the url/name tags mask them, as k6's do);
// auth: "digest" answers the server's 401 challenge with a second request, both recorded.
import http from "k6/http";
import { check, group } from "k6";
import { base } from "./lib/helpers.js";

export const options = { vus: 2, iterations: 4 };

const withCredentials = (user, pass, path) => base().replace("://", `://${user}:${pass}@`) + path;

export default function () {
  group("basic", () => {
    const r = http.get(withCredentials("u", "p", "/basic-auth/u/p"));
    check(r, { "basic auth from the URL": (r) => r.status === 200 && r.json("user") === "u" });
    const bad = http.get(withCredentials("u", "wrong", "/basic-auth/u/p"));
    check(bad, { "wrong basic credentials get 401": (r) => r.status === 401 });
    const named = http.get(withCredentials("u", "p", "/basic-auth/u/p"), { tags: { name: "basic-named" } });
    check(named, { "a name tag is kept": (r) => r.status === 200 });
  });
  group("digest", () => {
    const r = http.get(withCredentials("u", "p", "/digest-auth/auth/u/p"), { auth: "digest" });
    check(r, {
      "digest auth answers the challenge": (r) => r.status === 200 && r.json("user") === "u",
      "the response's url has no credentials": (r) => r.url === `${base()}/digest-auth/auth/u/p`,
    });
    const bad = http.get(withCredentials("u", "wrong", "/digest-auth/auth/u/p"), { auth: "digest" });
    check(bad, { "wrong digest credentials get 401": (r) => r.status === 401 });
    const plain = http.get(withCredentials("u", "p", "/get"), { auth: "digest" });
    check(plain, { "no challenge, one request": (r) => r.status === 200 });
    const post = http.post(withCredentials("u", "p", "/digest-auth/auth/u/p"), "x=1", { auth: "digest" });
    check(post, { "a POST answers its own challenge": (r) => r.status === 200 });
  });
}
