// exec.vu.tags and exec.vu.metrics.metadata: a tag set there is on every later sample of the VU
// (requests, checks, groups, custom metrics, iterations), across its iterations; a request's own
// tag wins over the VU's; deleting one takes it off; metadata goes with the samples, not as a tag.
import http from "k6/http";
import exec from "k6/execution";
import { check, group } from "k6";
import { Counter } from "k6/metrics";
import { base } from "./lib/helpers.js";

const marks = new Counter("marks");

export const options = {
  tags: { team: "a" },
  scenarios: {
    tagged: { executor: "per-vu-iterations", vus: 2, iterations: 2 },
  },
};

export function setup() {
  exec.vu.tags.stage = "setup";
  http.get(`${base()}/get`, { tags: { name: "setup" } });
}

function refused(set) {
  try {
    set();
    return false;
  } catch (e) {
    return e instanceof TypeError && String(e.message).includes("only String, Boolean and Number");
  }
}

export default function () {
  const first = exec.vu.iterationInScenario === 0;
  check(null, {
    "starts with the scenario's tags": () =>
      exec.vu.tags.scenario === "tagged" && exec.vu.tags.team === "a" && exec.vu.tags.group === "",
    "a tag set before is still there": () => (first ? exec.vu.tags.round === undefined : exec.vu.tags.round === "0"),
  });
  exec.vu.tags.round = exec.vu.iterationInScenario;
  http.get(`${base()}/get`, { tags: { name: "tagged" } });
  group("g", () => {
    check(null, { "the group is among the tags": () => exec.vu.tags.group === "::g" });
    http.get(`${base()}/get`, { tags: { name: "own", round: "own" } });
  });
  exec.vu.metrics.tags.flag = true;
  exec.vu.metrics.metadata.trace = `t${exec.vu.idInTest}`;
  check(null, {
    "values become strings": () => exec.vu.tags.round === String(exec.vu.iterationInScenario) && exec.vu.tags.flag === "true",
    "metadata is not a tag": () => exec.vu.tags.trace === undefined && exec.vu.metrics.metadata.trace !== undefined,
    "objects are refused": () => refused(() => { exec.vu.tags.obj = { a: 1 }; }),
    "null metadata is refused": () => refused(() => { exec.vu.metrics.metadata.m = null; }),
    "keys are listed": () => Object.keys(exec.vu.tags).includes("flag") && "team" in exec.vu.tags,
  });
  marks.add(1);
  delete exec.vu.tags.flag;
  delete exec.vu.metrics.metadata.trace;
  marks.add(1, { round: "own" });
}
