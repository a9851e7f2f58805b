//! A k6 script's `options` see the same `__ENV` as its VUs: the process environment, the
//! built-in test server's `TEST_SERVER` (`--test-server`), then `--env`.

use std::process::Command;

use loadrun_test_support::loadrun_bin;
use serde_json::Value;

const SCRIPT: &str = r#"
import http from "k6/http";
import { check } from "k6";

// Read while the options are: k6 scripts often build their options from __ENV.
if (!__ENV.TEST_SERVER) {
  throw new Error("TEST_SERVER is unset while the options are read");
}
export const options = {
  scenarios: {
    from_env: {
      executor: "shared-iterations",
      iterations: Number(__ENV.ITERATIONS || 1),
      env: { TARGET: __ENV.TEST_SERVER },
    },
  },
};

export default function () {
  const res = http.get(`${__ENV.TARGET}/get`);
  check(res, { "the server from the options answered": (r) => r.status === 200 });
}
"#;

#[test]
fn options_see_the_test_server_and_env_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.js"), SCRIPT).unwrap();
    let out = Command::new(loadrun_bin())
        .args([
            "run",
            "-q",
            "--test-server",
            "--env",
            "ITERATIONS=3",
            "s.js",
            "--summary-export",
            "export.json",
        ])
        .current_dir(dir.path())
        .env_remove("TEST_SERVER")
        .env_remove("ITERATIONS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let export: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("export.json")).unwrap())
            .unwrap();
    assert_eq!(export["metrics"]["iterations"]["count"], 3, "{export}");
    let check = &export["root_group"]["checks"]["the server from the options answered"];
    assert_eq!(check["passes"], 3, "{export}");
}
