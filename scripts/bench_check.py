"""`scripts/bench.py --check`: each measured figure against issue 24's targets, as one table.

Figures only: a target not met is a row saying so, never a failing exit.
"""

import bench_longrun


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _median(res, row, key):
    return _get(res, row, key, "median")


def _row(rows, figure, value, unit, target, ok, digits=1):
    if value is None or value != value:
        rows.append((figure, "not measured", target, "–"))
    else:
        rows.append((figure, f"{value:,.{digits}f}{unit}", target, "met" if ok(value) else "NOT met"))


def check_rows(results):
    rows = []
    ka = results.get("keepalive", {})
    _row(rows, "requests per CPU-second, loadrun ÷ wrk", ka.get("loadrun_per_cpu_vs_wrk"), "×", "≥ 1.00×",
         lambda v: v >= 1.0, 2)

    out = results.get("outputs", {})
    for o, limit in (("json", 25.0), ("csv", 15.0)):
        for key, what in (("req_per_cpu_s", "requests per CPU-second"), ("rps", "req/s")):
            _row(rows, f"{what} lost to -o {o} (one pinned core; median of per-run ratios)",
                 _get(out, "loss_pct", "loadrun", f"{o}_{key}"), "%", f"< {limit:.0f}%", lambda v, l=limit: v < l)
        _row(rows, f"req/s lost to -o {o} with the output on its own core",
             _get(out, "loss_pct", "loadrun", f"{o}_own_core_rps"), "%", f"< {limit:.0f}%", lambda v, l=limit: v < l)

    ps = results.get("persample", {})
    for label, o, limit in (("json", "json", 100), ("csv", "csv", 60)):
        _row(rows, f"{o} output, ns per sample incl. the write (`cargo bench -p out-{o} --bench per_sample`)",
             _get(ps, label, "ns_per_sample"), " ns", f"≤ {limit} ns", lambda v, l=limit: v <= l, 0)
        _row(rows, f"{o} end to end, loadrun CPU ns per sample written (outputs case)",
             out.get(f"e2e_ns_per_sample_{o}"), " ns", f"≤ {limit} ns", lambda v, l=limit: v <= l, 0)

    st = results.get("startup", {})
    _row(rows, "`run --url URL -i 1` wall time (median)", _median(st, "loadrun", "wall_ms"), " ms", "≤ 10 ms",
         lambda v: v <= 10.0)
    _row(rows, "`vus` (max) reported by a 1-iteration run", st.get("vus_i1"), "", "= 1", lambda v: v == 1, 0)

    mem = results.get("memory", {})
    for vus, limit in ((1000, 10.0), (5000, 6.0)):
        _row(rows, f"peak RSS per VU at {vus:,} VUs (base included)", _median(mem, f"loadrun {vus} VUs", "rss_per_vu_kib"),
             " KiB", f"≤ {limit:.0f} KiB", lambda v, l=limit: v <= l)

    lr = results.get("longrun", {})
    runs = {r["output"]: r for r in lr.get("runs", [])}
    for name in list(bench_longrun.OUTPUTS) + [n for n in runs if n not in bench_longrun.OUTPUTS]:
        r = runs.get(name)
        if r is None or "error" in r:
            _row(rows, f"long run -o {name}: RSS growth, peak of 2nd half vs 1st", None, "", "flat (≤ 5%)", None)
            _row(rows, f"long run -o {name}: received = written = server = summary", None, "", "equal", None)
            continue
        _, pct = bench_longrun.rss_growth(r)
        _row(rows, f"long run -o {name} ({lr['minutes']} min): RSS growth, peak of 2nd half vs 1st", pct, "%",
             f"flat (≤ {bench_longrun.FLAT_RSS_GROWTH_PCT:.0f}%)", lambda v: v <= bench_longrun.FLAT_RSS_GROWTH_PCT)
        for what, ok in (("received = written", bench_longrun.nothing_dropped(r)),
                         ("server = written", bench_longrun.server_holds_written(r)),
                         ("server = summary", bench_longrun.server_matches_summary(r))):
            rows.append((f"long run -o {name}: {what}", "equal" if ok else "differ", "equal",
                         "met" if ok else "NOT met"))
    return rows


def render(results):
    lines = ["### Issue 24 targets (`--check`: figures, never a failure)", "",
             "| figure | measured | target | |", "|---|---|---|---|"]
    lines += [f"| {f} | {v} | {t} | {m} |" for f, v, t, m in check_rows(results)]
    return "\n".join(lines) + "\n"
