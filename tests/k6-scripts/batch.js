// http.batch in k6's three request forms, as an array and as an object: the responses come back
// in the shape asked, and every request records its samples as a single request does.
import http from "k6/http";
import { check, group } from "k6";
import { base } from "./lib/helpers.js";

export const options = { vus: 2, iterations: 4 };

export default function () {
  group("list", () => {
    const [plain, arr, obj] = http.batch([
      `${base()}/get?form=plain`,
      ["POST", `${base()}/post`, "a=1", { tags: { name: "batch-post" } }],
      { method: "PUT", url: `${base()}/anything`, body: "x", params: { tags: { name: "batch-put" } } },
    ]);
    check(plain, { "plain url is a GET": (r) => r.status === 200 && r.json("args.form") === "plain" });
    check(arr, { "array form posts its body": (r) => r.json("data") === "a=1" });
    check(obj, { "object form puts": (r) => r.json("method") === "PUT" });
  });
  group("named", () => {
    const res = http.batch({
      home: `${base()}/get?form=named`,
      missing: { url: `${base()}/status/404`, params: { tags: { name: "batch-missing" } } },
    });
    check(res, {
      "keys are kept": (r) => Object.keys(r).sort().join() === "home,missing",
      "each response is its request's": (r) => r.home.status === 200 && r.missing.status === 404,
    });
  });
  const none = http.batch([]);
  check(none, { "an empty batch is an empty array": (r) => Array.isArray(r) && r.length === 0 });
}
