"""The long run of `scripts/bench.py` (case `longrun`): minutes at full speed into a real output.

For each output (`-o json` to a file, `-o influxdb` into InfluxDB 1.6, `-o prometheus` remote write
into Prometheus), loadrun runs 50 VUs against nginx for --longrun-minutes. Once a minute it records
loadrun's RSS, the requests nginx served that minute (its own stub_status count, so the figure does
not depend on loadrun), loadrun's CPU time and the load average (the machine is shared: req/s moves
with the load, RSS and counts must not). At the end the server's count is set against the run's
summary (`http_reqs`) and the output's own line (received = written + dropped).

A full-speed NDJSON file grows by hundreds of MB/s, more than the disk holds over 10 minutes. The
file is a real file written through the file system; a reader here counts its `Point` records as
they land and punches holes behind itself (`fallocate(PUNCH_HOLE)`), so the disk keeps only the
unread tail.
"""

import ctypes
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "tests" / "services"
OUTPUTS = ("json", "influxdb", "prometheus")
# Also runnable: `influxdb-block`, the same with the host option whenFull=block, so an output
# slower than the generator slows the test instead of dropping (received = written by design).
VARIANTS = OUTPUTS + ("influxdb-block",)
VUS = 50
# An output slower than the generator fills its bounded queue (queueSize samples), and RSS rises
# with it, once; a leak keeps rising. So the peak RSS of the second half of the readings is set
# against the peak of the first half.
FLAT_RSS_GROWTH_PCT = 5.0


def log(msg):
    print(f"bench: {msg}", file=__import__("sys").stderr, flush=True)


# ---------------------------------------------------------------- servers, as the tests start them

class Service:
    """`tests/services/start-NAME.sh STATE auto`, the same scripts test-support runs."""

    def __init__(self, name, pin, env=None):
        self.name = name
        self.state = Path(tempfile.mkdtemp(prefix=f"loadrun-bench-{name}-"))
        full_env = {**os.environ, "INFLUXDB_RPC_PORT": "auto", **(env or {})}
        r = subprocess.run(pin.srv_prefix() + ["bash", str(SERVICES / f"start-{name}.sh"), str(self.state), "auto"],
                           capture_output=True, text=True, env=full_env)
        if r.returncode != 0:
            raise RuntimeError(f"could not start {name}: {r.stderr.strip()[-600:]}")
        self.vars = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)

    def pid(self):
        try:
            return int((self.state / f"{self.name}.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        subprocess.run(["bash", str(SERVICES / "stop-service.sh"), str(self.state)], capture_output=True)
        subprocess.run(["rm", "-rf", str(self.state)])


def http_get(url, params=None, timeout=600):
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def nginx_requests(nginx):
    """nginx's count of requests served so far (stub_status: `accepts handled requests`)."""
    text = http_get(f"{nginx.url}nginx_status", timeout=10)
    return int(text.splitlines()[2].split()[2])


# ---------------------------------------------------------------- the NDJSON file, read as it grows

class JsonTail(threading.Thread):
    PATTERN = b'"type":"Point"'
    CHUNK = 16 << 20
    FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.points = 0
        self.bytes = 0
        self.peak_disk = 0
        self.punch_ok = True
        self.error = None
        self.writer_done = threading.Event()
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]

    def _punch(self, fd, upto):
        if not self.punch_ok or upto <= 0:
            return
        if self._libc.fallocate(fd, self.FALLOC_FL_KEEP_SIZE | self.FALLOC_FL_PUNCH_HOLE, 0, upto) != 0:
            self.punch_ok = False
            log(f"json long run: this file system cannot punch holes ({os.strerror(ctypes.get_errno())}); "
                "the file keeps its full size")

    def run(self):
        try:
            while not self.path.exists():
                if self.writer_done.is_set():
                    return
                time.sleep(0.05)
            fd = os.open(self.path, os.O_RDWR)
            try:
                self._follow(fd)
            finally:
                os.close(fd)
        except Exception as e:  # reported in the results, not lost in a thread
            self.error = f"{type(e).__name__}: {e}"

    def _follow(self, fd):
        keep = len(self.PATTERN) - 1
        tail = b""
        while True:
            data = os.pread(fd, self.CHUNK, self.bytes)
            if not data:
                # The writer's last bytes may land between its exit and this read: read once more.
                if self.writer_done.is_set():
                    data = os.pread(fd, self.CHUNK, self.bytes)
                    if not data:
                        return
                else:
                    time.sleep(0.1)
                    continue
            # A match cannot fit in `keep` bytes, so one split across two reads is counted once.
            window = tail + data
            self.points += window.count(self.PATTERN)
            tail = window[-keep:]
            self.bytes += len(data)
            self.peak_disk = max(self.peak_disk, os.fstat(fd).st_blocks * 512)
            self._punch(fd, self.bytes & ~((1 << 20) - 1))


# ---------------------------------------------------------------- the run

def proc_rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_cpu_s(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def output_arg(name, d, svc):
    if name == "json":
        return f"json={d}/out.json"
    if name == "influxdb":
        return f"influxdb={svc.vars['INFLUXDB_URL']}/lr"
    if name == "influxdb-block":
        return f"influxdb=addr={svc.vars['INFLUXDB_URL']},db=lr,whenFull=block"
    return f"prometheus=url={svc.vars['PROMETHEUS_RW_URL']}"


def start_service(name, pin):
    if name.startswith("influxdb"):
        return Service("influxdb", pin, {"INFLUXDB_DB": "lr"})
    if name == "prometheus":
        return Service("prometheus", pin)
    return None


def server_counts(name, svc, tail, out_report):
    """What the server holds: total samples and http_reqs, each to set against the run's own."""
    if name == "json":
        return {"server_samples": tail.points, "server_bytes": tail.bytes, "peak_disk_mib": tail.peak_disk / 2**20,
                "tail_error": tail.error}
    if name.startswith("influxdb"):
        base = svc.vars["INFLUXDB_URL"]

        def q(text):
            return json.loads(http_get(f"{base}/query", {"db": "lr", "q": text}))["results"][0].get("series", [])
        total = sum(s["values"][0][1] for s in q("SELECT count(value) FROM /.*/"))
        reqs = q("SELECT sum(value) FROM http_reqs")
        return {"server_samples": total, "server_http_reqs": reqs[0]["values"][0][1] if reqs else 0}
    base = svc.vars["PROMETHEUS_URL"]

    def prom(query):
        r = json.loads(http_get(f"{base}/api/v1/query", {"query": query}))["data"]["result"]
        return float(r[0]["value"][1]) if r else 0.0
    appended = 0.0
    for line in http_get(f"{base}/metrics").splitlines():
        if line.startswith("prometheus_tsdb_head_samples_appended_total"):
            appended += float(line.split()[-1])
    return {"server_samples": appended, "server_http_reqs": prom("sum(k6_http_reqs_total)"),
            "server_iterations": prom("sum(k6_iterations_total)"),
            "series_sent": out_report.get("counters", {}).get("series_sent")}


def one_run(tools, pin, nginx, name, minutes, interval):
    svc = start_service(name, pin)
    d = Path(tempfile.mkdtemp(prefix=f"bench-longrun-{name}-"))
    tail = JsonTail(d / "out.json") if name == "json" else None
    try:
        cmd = pin.gen_prefix() + [tools["loadrun"], "run", "--url", nginx.url, "--vus", str(VUS),
                                  "--duration", f"{minutes}m", "--quiet", "--summary-export", f"{d}/sum.json",
                                  "-o", output_arg(name, d, svc)]
        env = {**os.environ, "LOADRUN_PLUGIN_PATH": tools["plugin_dir"]}
        if tail:
            tail.start()
        log(f"longrun {name}: {minutes} min, {' '.join(cmd[-2:])}")
        with open(d / "stdout", "w") as so, open(d / "stderr", "w") as se:
            proc = subprocess.Popen(cmd, stdout=so, stderr=se, env=env, cwd=d)
        t0 = time.monotonic()
        spid = svc.pid() if svc else None
        prev = {"t": t0, "reqs": nginx_requests(nginx), "cpu": 0.0, "points": 0,
                "srv_cpu": proc_cpu_s(spid) if spid else 0.0}
        minutes_rows, status, usage = [], None, None
        next_at = t0 + interval
        while status is None:
            done, st, ru = os.wait4(proc.pid, os.WNOHANG)
            if done == proc.pid:
                status, usage = st, ru
                break
            if time.monotonic() < next_at:
                time.sleep(0.2)
                continue
            next_at += interval
            try:
                now = {"t": time.monotonic(), "reqs": nginx_requests(nginx), "cpu": proc_cpu_s(proc.pid),
                       "rss": proc_rss_kib(proc.pid), "points": tail.points if tail else 0,
                       "srv_cpu": proc_cpu_s(spid) if spid else 0.0}
            except (OSError, IndexError, ValueError):
                continue  # exiting between the checks
            dt = now["t"] - prev["t"]
            reqs = now["reqs"] - prev["reqs"]
            cpu = now["cpu"] - prev["cpu"]
            minutes_rows.append({"minute": round((now["t"] - t0) / 60, 2), "load1": os.getloadavg()[0],
                                 # After the test's duration loadrun only drains its output queue.
                                 "drain": now["t"] - t0 > minutes * 60 + 1,
                                 "server_cpu_pct": (now["srv_cpu"] - prev["srv_cpu"]) / dt * 100 if spid else None,
                                 "rps": reqs / dt, "req_per_cpu_s": reqs / cpu if cpu else float("nan"),
                                 "cpu_pct": cpu / dt * 100, "rss_kib": now["rss"],
                                 "points_per_s": (now["points"] - prev["points"]) / dt if tail else None})
            log(f"longrun {name}: minute {minutes_rows[-1]['minute']}: {minutes_rows[-1]['rps']:,.0f} req/s, "
                f"RSS {now['rss'] / 1024:.1f} MiB, load {minutes_rows[-1]['load1']:.1f}")
            prev = now
        proc.returncode = os.waitstatus_to_exitcode(status)
        if tail:
            tail.writer_done.set()
            tail.join()
        if proc.returncode != 0:
            raise RuntimeError(f"loadrun exited {proc.returncode}: {(d / 'stderr').read_text()[-800:]}")
        summary = json.loads((d / "sum.json").read_text())
        outs = summary.get("outputs", {})
        outs = outs.get("outputs", []) if isinstance(outs, dict) else outs
        plugin = name.split("-")[0]
        report = next((o for o in outs if o.get("name") in (plugin, "experimental-prometheus-rw")), {})
        counts = server_counts(name, svc, tail, report)
        m = summary["metrics"]
        return {"output": name, "minutes": minutes_rows, "peak_rss_kib": usage.ru_maxrss,
                "http_reqs": m.get("http_reqs", {}).get("count", 0),
                "iterations": m.get("iterations", {}).get("count", 0),
                "received": report.get("received"), "written": report.get("written"),
                "dropped": report.get("dropped"), "output_errors": report.get("errors"),
                "output_line": next((line.strip() for line in (d / "stdout").read_text().splitlines()
                                     if f"{plugin}:" in line and "received=" in line), ""),
                **counts}
    finally:
        if svc:
            svc.stop()
        subprocess.run(["rm", "-rf", str(d)])


# ---------------------------------------------------------------- judging and printing

def rss_growth(r):
    """Peak RSS of the second half of the readings under load against that of the first half (the
    drain after the test is shown, not judged): (MiB, %)."""
    rows = [m["rss_kib"] for m in r["minutes"] if not m.get("drain")]
    if len(rows) < 2:
        return float("nan"), float("nan")
    half = len(rows) // 2
    first, second = max(rows[:half]), max(rows[half:])
    return (second - first) / 1024, (second - first) / first * 100 if first else float("nan")


def nothing_dropped(r):
    """The output wrote every sample it received."""
    return r.get("received") is not None and r["received"] == r["written"]


def server_holds_written(r):
    """The server holds exactly what the output says it wrote."""
    if r["output"] == "prometheus":
        # Remote write sends series, not samples: Prometheus must hold every series sample sent.
        return r["server_samples"] == r.get("series_sent")
    return r["server_samples"] == r["written"]


def server_matches_summary(r):
    """The server's totals are the run's own (only when nothing was dropped can they be)."""
    if r["output"] == "prometheus":
        return r["server_http_reqs"] == r["http_reqs"] and r["server_iterations"] == r["iterations"]
    if "server_http_reqs" in r:
        return r["server_http_reqs"] == r["http_reqs"]
    return True


def counts_equal(r):
    return nothing_dropped(r) and server_holds_written(r) and server_matches_summary(r)


def verdict(r):
    mib, pct = rss_growth(r)
    flat = pct == pct and pct <= FLAT_RSS_GROWTH_PCT
    return flat, counts_equal(r)


def render(results, minutes):
    lines = [f"### 7. long run: {minutes} min at full speed, {VUS} VUs, into each output's real server", ""]
    for r in results:
        if "error" in r:
            lines += [f"**-o {r['output']}**: not measured: {r['error']}", ""]
            continue
        json_col = r["output"] == "json"
        extra = " points written/s |" if json_col else " server CPU % |"
        lines += [f"**-o {r['output']}** (peak RSS {r['peak_rss_kib'] / 1024:.1f} MiB)", "",
                  "| minute | load avg (1 min) | req/s (nginx) | req per CPU-s | loadrun CPU % | RSS MiB |" + extra,
                  "|---|---|---|---|---|---|---|"]
        for m in r["minutes"]:
            last = f" {m['points_per_s']:,.0f} |" if json_col else f" {m.get('server_cpu_pct') or 0:.0f} |"
            when = f"{m['minute']:g}" + (" (drain)" if m.get("drain") else "")
            lines.append(f"| {when} | {m['load1']:.1f} | {m['rps']:,.0f} | {m['req_per_cpu_s']:,.0f} | "
                         f"{m['cpu_pct']:.0f} | {m['rss_kib'] / 1024:.1f} |" + last)
        mib, pct = rss_growth(r)
        flat, equal = verdict(r)
        dropped = r.get("dropped") or {}
        drops = ", ".join(f"{k}={v}" for k, v in dropped.items() if v) or "none"
        lines += ["", f"- peak RSS, second half of the run against the first: {mib:+.1f} MiB ({pct:+.1f}%): "
                      f"{'flat' if flat else 'GROWS'}",
                  f"- summary: http_reqs={r['http_reqs']:,}, iterations={r['iterations']:,}; output: "
                  f"received={r['received']:,} written={r['written']:,} dropped: {drops}"]
        if r["output"] == "json":
            lines.append(f"- file: {r['server_samples']:,} Point records ({r['server_bytes'] / 2**30:.1f} GiB written, "
                         f"at most {r['peak_disk_mib']:.0f} MiB on disk at once)")
        elif r["output"].startswith("influxdb"):
            lines.append(f"- InfluxDB: {r['server_samples']:,} points, sum(http_reqs)={r['server_http_reqs']:,}")
        else:
            lines.append(f"- Prometheus: {r['server_samples']:,.0f} samples appended (series samples sent: "
                         f"{r['series_sent']}), sum(k6_http_reqs_total)={r['server_http_reqs']:,.0f}, "
                         f"sum(k6_iterations_total)={r['server_iterations']:,.0f}")
        lines.append(f"- output line: `{r['output_line']}`")
        if r.get("output_errors"):
            lines.append(f"- output errors: {r['output_errors']}")
        lines += [f"- received = written: {'yes' if nothing_dropped(r) else 'NO'}; server = written: "
                  f"{'yes' if server_holds_written(r) else 'NO'}; server = summary: "
                  f"{'yes' if server_matches_summary(r) else 'NO'}", ""]
    return "\n".join(lines) + "\n"


def run(tools, pin, nginx, minutes, outputs, interval=60):
    results = []
    for name in outputs:
        try:
            results.append(one_run(tools, pin, nginx, name, minutes, interval))
        except Exception as e:  # one output's failure must not lose the others' figures
            log(f"longrun {name}: {e}")
            results.append({"output": name, "error": str(e)})
    return render(results, minutes), {"minutes": minutes, "runs": results}
