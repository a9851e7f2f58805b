// handleSummary(data): the e2e test compares the data loadrun passes with k6's own (keys,
// types, metric values' names, thresholds, groups and checks), and what it wrote.
import http from "k6/http";
import { check, group } from "k6";
import { Counter, Gauge, Trend } from "k6/metrics";
import { base, isOk } from "./lib/helpers.js";

const items = new Counter("summary_items");
const level = new Gauge("summary_level");
const think = new Trend("summary_think", true);

export const options = {
  scenarios: {
    once: { executor: "per-vu-iterations", vus: 1, iterations: 3 },
  },
  thresholds: {
    checks: ["rate>0.5"],
    http_req_duration: ["p(95)<10000", "avg<10000"],
    "http_reqs{status:200}": ["count>0"],
    summary_items: ["count<100"],
  },
  summaryTrendStats: ["avg", "min", "med", "max", "p(90)", "p(99)", "count"],
};

export function setup() {
  return { started: "yes", n: 2 };
}

export default function () {
  group("fetch", () => {
    const res = http.get(`${base()}/get`);
    check(res, { "status is 200": isOk });
    group("inner", () => {
      const missing = http.get(`${base()}/status/404`);
      check(missing, { "missing is 404": (r) => r.status === 404, "missing is 200": isOk });
    });
  });
  check(null, { "outside any group": () => true });
  items.add(2);
  level.add(7);
  think.add(12.5);
}

export function handleSummary(data) {
  const out = {};
  out[__ENV.SUMMARY_DATA || "summary-data.json"] = JSON.stringify(data, null, 2);
  out.stdout = "handleSummary wrote the data\n";
  out.stderr = new Uint8Array([104, 105, 10]).buffer;
  return out;
}
