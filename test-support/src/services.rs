//! Real backend servers for tests, started by `tests/services/start-NAME.sh`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use crate::artifacts::{target_dir, workspace_root};

/// A running server; stopped (and its state dir removed) on drop.
pub struct Service {
    name: String,
    state: tempfile::TempDir,
    vars: HashMap<String, String>,
    env: Vec<(String, String)>,
}

/// Whether missing servers fail tests instead of skipping them (CI sets it).
pub fn services_required() -> bool {
    std::env::var("LOADRUN_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

fn scripts_dir() -> PathBuf {
    workspace_root().join("tests").join("services")
}

impl Service {
    /// Starts `start-NAME.sh STATE auto` with extra environment variables.
    ///
    /// Returns `None` (after printing a loud SKIP line) when the server software is not
    /// installed and `LOADRUN_REQUIRE_SERVICES` is not set; panics on any other failure.
    pub fn start(name: &str, env: &[(&str, &str)]) -> Option<Service> {
        let state = tempfile::Builder::new()
            .prefix(&format!("loadrun-{name}-"))
            .tempdir()
            .expect("temp dir");
        let script = scripts_dir().join(format!("start-{name}.sh"));
        let mut cmd = Command::new("bash");
        cmd.arg(&script).arg(state.path()).arg("auto");
        // Secondary ports default to fixed numbers in the scripts: tests running side by side
        // would share them. Free ports unless the caller chose.
        for var in [
            "INFLUXDB_RPC_PORT",
            "STATSD_MGMT_PORT",
            "NETDATA_STATSD_PORT",
            "OTLP_GRPC_PORT",
        ] {
            if !env.iter().any(|(k, _)| *k == var) {
                cmd.env(var, "auto");
            }
        }
        if std::env::var_os("STATSD_DIR").is_none() {
            cmd.env("STATSD_DIR", target_dir().join("statsd"));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        // A free port is picked, then bound by the server a moment later: a test starting
        // another server in between can take it. Such a start is tried again on a new port.
        let mut attempt = 0;
        let (out, stderr) = loop {
            attempt += 1;
            let out = cmd.output().expect("run the start script");
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            let port_taken = stderr.contains("already in use") || stderr.contains("Address in use");
            if out.status.success() || !port_taken || attempt >= 3 {
                break (out, stderr);
            }
            eprintln!("{name}: its port was taken meanwhile; starting it again on another");
            let _ = Command::new("bash")
                .arg(scripts_dir().join("stop-service.sh"))
                .arg(state.path())
                .output();
        };
        if !out.status.success() {
            let missing = stderr.contains("not found") || stderr.contains("No module named");
            if missing && !services_required() {
                eprintln!(
                    "\n=== SKIP: the {name} server is not installed ({}). Run .ci/install-deps, \
                     or set LOADRUN_REQUIRE_SERVICES=1 to make this a failure. ===\n",
                    stderr.trim().lines().last().unwrap_or("")
                );
                return None;
            }
            panic!("could not start {name}: {stderr}");
        }
        let vars = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Some(Service {
            name: name.to_string(),
            state,
            vars,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    /// A `KEY=VALUE` the start script printed (e.g. `INFLUXDB_URL`). Panics if absent.
    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("{} printed no {key}: {:?}", self.name, self.vars))
    }

    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    /// The service's state folder (its log is `NAME.log` there).
    pub fn state_dir(&self) -> &std::path::Path {
        self.state.path()
    }

    /// The server's log so far, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join(format!("{}.log", self.name)))
            .unwrap_or_default()
    }

    /// Stops the server now (for restart tests); `restart` starts it again on the same port.
    pub fn stop(&self) {
        let _ = Command::new("bash")
            .arg(scripts_dir().join("stop-service.sh"))
            .arg(self.state.path())
            .arg(&self.name)
            .output();
    }
}

impl Service {
    /// Starts the server again in the same state dir, on the same main port (after `stop`), to
    /// test recovery. The port is read from the `*_PORT` variable the script printed first.
    pub fn restart(&self) {
        self.stop();
        let port_var = self
            .vars
            .keys()
            .filter(|k| k.ends_with("PORT"))
            .min_by_key(|k| k.len())
            .cloned()
            .expect("a *_PORT variable");
        let port = self.vars[&port_var].clone();
        let mut cmd = Command::new("bash");
        cmd.arg(scripts_dir().join(format!("start-{}.sh", self.name)))
            .arg(self.state.path())
            .arg(&port);
        for (k, v) in &self.vars {
            // Secondary ports must stay where the test's clients expect them.
            if k.ends_with("PORT") && k != &port_var {
                cmd.env(k, v);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if std::env::var_os("STATSD_DIR").is_none() {
            cmd.env("STATSD_DIR", target_dir().join("statsd"));
        }
        let out = cmd.output().expect("run the start script");
        assert!(
            out.status.success(),
            "could not restart {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A throwaway PKI for TLS tests, made by `tests/services/make-test-pki.sh` with the openssl
/// CLI: a CA of its own, a server certificate and a client certificate it signed. Removed on
/// drop. Two `TestPki`s never trust each other, so one's CA is "the wrong CA" for the other's
/// server.
pub struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    /// A PKI whose server certificate names `server_names` (a subjectAltName value such as
    /// `DNS:localhost,IP:127.0.0.1`).
    ///
    /// Returns `None` (after a loud SKIP line) when openssl is not installed and
    /// `LOADRUN_REQUIRE_SERVICES` is not set; panics on any other failure.
    pub fn new(server_names: &str) -> Option<TestPki> {
        let dir = tempfile::Builder::new()
            .prefix("loadrun-pki-")
            .tempdir()
            .expect("temp dir");
        let out = Command::new("bash")
            .arg(scripts_dir().join("make-test-pki.sh"))
            .arg(dir.path())
            .arg(server_names)
            .output()
            .expect("run make-test-pki.sh");
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("not found") && !services_required() {
                eprintln!(
                    "\n=== SKIP: cannot make test certificates ({}). Run .ci/install-deps, or set \
                     LOADRUN_REQUIRE_SERVICES=1 to make this a failure. ===\n",
                    stderr.trim()
                );
                return None;
            }
            panic!("make-test-pki.sh failed: {stderr}");
        }
        Some(TestPki { dir })
    }

    /// The CA certificate (PEM) to trust.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn server_cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    pub fn server_key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    /// A client certificate (CN `loadrun-test-client`) the CA signed, for mutual TLS.
    pub fn client_cert(&self) -> PathBuf {
        self.dir.path().join("client.pem")
    }

    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client.key")
    }
}
