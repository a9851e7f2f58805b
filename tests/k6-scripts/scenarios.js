// Several scenarios with `exec`, per-scenario tags and env, options tags, and exceptions:
// `fail()` and a thrown error end their iteration and the run goes on.
import http from "k6/http";
import { check, fail, group } from "k6";
import { Counter } from "k6/metrics";
import { base } from "./lib/helpers.js";

const attempts = new Counter("attempts");

export const options = {
  discardResponseBodies: true,
  scenarios: {
    readers: {
      executor: "per-vu-iterations",
      vus: 2,
      iterations: 3,
      exec: "read",
      tags: { role: "reader" },
      env: { PAGE: "catalog" },
    },
    writers: {
      executor: "shared-iterations",
      vus: 1,
      iterations: 4,
      exec: "write",
      startTime: "0s",
    },
  },
};

export function read() {
  const res = http.get(`${base()}/get?page=${__ENV.PAGE}`, { tags: { name: "catalog" } });
  check(res, {
    "catalog is 200": (r) => r.status === 200,
    "body discarded": (r) => r.body === null,
  });
  attempts.add(1, { role: "reader" });
  if (__ITER === 1) {
    fail("second read fails on purpose");
  }
  check(res, { "after the failure point": () => true });
}

export function write() {
  group("write", () => {
    const res = http.post(`${base()}/post`, "payload", {
      tags: { name: "write" },
      responseType: "text",
    });
    check(res, {
      "write echoed": (r) => r.json("data") === "payload",
      "json content type": (r) => r.headers["Content-Type"].startsWith("application/json"),
    });
    attempts.add(1, { role: "writer" });
    if (__ITER % 2 === 1) {
      throw new Error("odd write");
    }
  });
}
