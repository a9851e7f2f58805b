// Lifecycle, groups, checks, every request function, params, Response fields and custom
// metrics. Runs unchanged under k6 and loadrun; the e2e test compares what both record.
import http from "k6/http";
import { check, group, sleep } from "k6";
import { Counter, Gauge, Rate, Trend } from "k6/metrics";
import { base, isOk } from "./lib/helpers.js";

const orders = new Counter("orders_placed");
const depth = new Gauge("queue_depth");
const good = new Rate("good_responses");
const wait = new Trend("server_wait", true);

export const options = {
  scenarios: {
    shop: { executor: "shared-iterations", vus: 2, iterations: 6, maxDuration: "30s" },
  },
  thresholds: {
    checks: ["rate>0.5"],
    "http_req_duration{group:::browse}": ["p(95)<5000"],
  },
  tags: { suite: "basics" },
};

export function setup() {
  const res = http.get(`${base()}/json`);
  return { author: res.json("slideshow.author"), slides: res.json().slideshow.slides.length };
}

export default function (data) {
  group("browse", () => {
    const res = http.get(`${base()}/get?page=home`, { tags: { name: "home" } });
    check(res, {
      "home is 200": isOk,
      "home echoes the query": (r) => r.json("args.page") === "home",
      "setup data arrived": () => data.author === "Yours Truly" && data.slides === 2,
    });
    wait.add(res.timings.waiting, { page: "home" });
    good.add(isOk(res));
    group("details", () => {
      const h = http.head(`${base()}/get`, { tags: { name: "head" } });
      check(h, { "head has no body": (r) => !r.body });
      http.options(`${base()}/anything`, null, { tags: { name: "options" } });
    });
  });
  group("order", () => {
    const form = http.post(`${base()}/post`, { item: "book", qty: 2 }, { tags: { name: "form" } });
    check(form, { "form is echoed": (r) => r.json("form.item") === "book" });
    const body = JSON.stringify({ vu: __VU, iter: __ITER });
    const put = http.put(`${base()}/anything`, body, {
      headers: { "Content-Type": "application/json", "X-Suite": "basics" },
      tags: { name: "put", kind: "json" },
    });
    check(put, {
      "put is echoed": (r) => r.json("json.vu") === __VU,
      "header was sent": (r) => r.json("headers.X-Suite") === "basics",
      "method is PUT": (r) => r.request.method === "PUT",
    });
    http.patch(`${base()}/anything`, "x=1", { tags: { name: "patch" } });
    http.del(`${base()}/anything`, null, { tags: { name: "delete" } });
    http.request("POST", `${base()}/anything`, "raw", { tags: { name: "request" } });
    orders.add(1, { item: "book" });
    depth.add(__ITER);
  });
  const missing = http.get(`${base()}/status/404`, { tags: { name: "missing" } });
  check(missing, {
    "404 is reported": (r) => r.status === 404 && r.error_code === 1404,
  });
  good.add(isOk(missing));
  const none = http.get(`${base()}/bytes/100`, { responseType: "none", tags: { name: "none" } });
  check(none, { "no body kept": (r) => r.body === null });
  const hop = http.get(`${base()}/redirect/2`, { redirects: 1, tags: { name: "redirect" } });
  check(hop, { "stopped at the limit": (r) => r.status === 302 });
  sleep(0.01);
}

export function teardown(data) {
  http.get(`${base()}/get?teardown=${data.slides}`, { tags: { name: "teardown" } });
}
