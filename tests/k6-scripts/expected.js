// http.expectedStatuses with http.setResponseCallback and a per-request responseCallback: they
// decide each request's expected_response tag and its http_req_failed sample.
import http from "k6/http";
import { check } from "k6";
import { base } from "./lib/helpers.js";

export const options = { vus: 1, iterations: 3 };

http.setResponseCallback(http.expectedStatuses(200, { min: 404, max: 404 }));

export default function () {
  const found = http.get(`${base()}/status/404`, { tags: { name: "default-404" } });
  const created = http.get(`${base()}/status/201`, { tags: { name: "default-201" } });
  const broken = http.get(`${base()}/status/503`, {
    tags: { name: "own-503" },
    responseCallback: http.expectedStatuses({ min: 500, max: 599 }),
  });
  const [batched] = http.batch([
    ["GET", `${base()}/status/204`, null, { tags: { name: "batch-204" }, responseCallback: http.expectedStatuses(204) }],
  ]);
  check(null, {
    "statuses as asked": () =>
      found.status === 404 && created.status === 201 && broken.status === 503 && batched.status === 204,
    "a function as responseCallback fails the request unsent": () => {
      const r = http.get(`${base()}/get`, { responseCallback: () => true });
      return r.status === 0 && r.error === "unsupported responseCallback";
    },
    "setResponseCallback takes no function": () => {
      try {
        http.setResponseCallback(() => true);
        return false;
      } catch (e) {
        return true;
      }
    },
  });
}
