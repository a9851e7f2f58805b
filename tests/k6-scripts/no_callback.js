// responseCallback: null (a request parameter) and http.setResponseCallback(null): as in k6,
// those requests get no expected_response tag and no http_req_failed sample.
import http from "k6/http";
import { check } from "k6";
import { base } from "./lib/helpers.js";

export const options = { vus: 1, iterations: 2 };

export default function () {
  http.setResponseCallback(http.expectedStatuses(200));
  const own = http.get(`${base()}/status/404`, { tags: { name: "param-null" }, responseCallback: null });
  const judged = http.get(`${base()}/status/404`, { tags: { name: "judged-404" } });
  http.setResponseCallback(null);
  const vu = http.get(`${base()}/status/500`, { tags: { name: "vu-null" } });
  const back = http.get(`${base()}/status/200`, {
    tags: { name: "param-back" },
    responseCallback: http.expectedStatuses(200),
  });
  check(null, {
    "statuses as asked": () =>
      own.status === 404 && judged.status === 404 && vu.status === 500 && back.status === 200,
  });
}
