"""Figures → the JSON object and the printed table. Ratios are ours / baseline: of medians, but
for latency the median of each round's own ratio (the two runs of a round are neighbours in time,
so load that comes and goes hits both; ``latency_median_ratios`` keeps the ratio of medians)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bench.scenarios import Results, Sizes, median

TARGETS = {"latency": 1.05, "throughput": 1.00, "fanout_wall_s": 1.10, "local_step_speedup": 2.0,
           "history_bytes": 1.3, "stock_per_step": 4.0, "oneshot": 1.2}
"""Issue 14's targets (fan-out and local steps: the guide's and issue 9's)."""


def summary(res: Results, sizes: Sizes, *, quick: bool, cpus: int | None) -> dict[str, Any]:
    lat = {n: {who: median(xs) for who, xs in t.items()} for n, t in res.latency.items()}
    thr = {who: median(xs) for who, xs in res.throughput.items()}
    per_step = {k: median(v) for k, v in res.local.items() if k in ("regular", "local")}
    ratios = {f"latency_{n}": median([o / b for o, b in zip(t["ours"], t["baseline"])])
              for n, t in res.latency.items()}
    ratios["throughput"] = thr["ours"] / thr["baseline"]
    hist = res.history
    if "ours_3" in hist and "baseline_3" in hist:
        ratios["history_bytes_3"] = hist["ours_3"]["history_bytes"] / hist["baseline_3"]["history_bytes"]
    servers = {who: median(v) for who, v in res.servers.items()}
    if servers:
        ratios["stock_per_step"] = servers["stock"] / servers["embedded"]
    oneshot = {who: median(v) for who, v in res.oneshot.items()}
    if oneshot:
        ratios["oneshot"] = oneshot["ours"] / oneshot["baseline"]
    cpu = {str(n): c for n, c in res.cpu.items()}
    for n, c in res.cpu.items():
        ratios[f"cpu_{n}"] = c["ours"]["process"] / c["baseline"]["process"] if c["baseline"]["process"] else float("nan")
    return {
        "ratios": ratios,
        "latency_s": {str(n): v for n, v in lat.items()},
        "latency_median_ratios": {str(n): v["ours"] / v["baseline"] for n, v in lat.items()},
        "cpu_s_per_run": cpu,
        "throughput_runs_per_s": thr,
        "throughput_runs": sizes.throughput_runs,
        "fanout_wall_s": median(res.fanout),
        "fanout_flow_run_s": median(res.fanout_flow_run),
        "local_step_s": per_step,
        "local_step_speedup": per_step["regular"] / per_step["local"],
        "server_start_s": res.server_start_s,
        "stock_server_start_s": res.stock_start_s,
        "server_step_s": servers,
        "oneshot_s": oneshot,
        "history": res.history,
        "targets": TARGETS,
        "sizes": asdict(sizes),
        "quick": quick,
        "cpus": cpus,
    }


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


def table(s: dict[str, Any]) -> str:
    r, t_ = s["ratios"], TARGETS
    rows = [("measure", "ours", "baseline", "ratio", "target", "")]
    for n, v in s["latency_s"].items():
        ratio = r[f"latency_{n}"]
        rows.append((f"latency, {n}-step flow (median s)", f"{v['ours']:.4f}", f"{v['baseline']:.4f}",
                     f"{ratio:.3f}", f"<= {t_['latency']:.2f}", _ok(ratio <= t_["latency"])))
    for n, c in s.get("cpu_s_per_run", {}).items():
        rows.append((f"  CPU per {n}-step run: worker+client / server (ms)",
                     f"{c['ours']['process'] * 1e3:.1f} / {c['ours']['server'] * 1e3:.1f}",
                     f"{c['baseline']['process'] * 1e3:.1f} / {c['baseline']['server'] * 1e3:.1f}",
                     f"{r[f'cpu_{n}']:.3f}", "", ""))
    t = s["throughput_runs_per_s"]
    rows.append((f"throughput, {s['throughput_runs']} x 3-step (runs/s)", f"{t['ours']:.1f}",
                 f"{t['baseline']:.1f}", f"{r['throughput']:.3f}", f">= {t_['throughput']:.2f}",
                 _ok(r["throughput"] >= t_["throughput"])))
    h = s["history"]
    if "history_bytes_3" in r:
        o, b = h["ours_3"], h["baseline_3"]
        rows.append(("history of one 3-step run (bytes)", f"{o['history_bytes']}", f"{b['history_bytes']}",
                     f"{r['history_bytes_3']:.2f}", f"<= {t_['history_bytes']}",
                     _ok(r["history_bytes_3"] <= t_["history_bytes"])))
        rows.append(("  events / workflow tasks", f"{o['events']} / {o['workflow_tasks']}",
                     f"{b['events']} / {b['workflow_tasks']}", "", "", ""))
    sv = s.get("server_step_s") or {}
    if sv:
        rows.append(("per step: stock start-dev / embedded default (s)", f"{sv['stock']:.4f}",
                     f"{sv['embedded']:.4f}", f"{r['stock_per_step']:.2f}x", f">= {t_['stock_per_step']:g}x",
                     _ok(r["stock_per_step"] >= t_["stock_per_step"])))
    os_ = s.get("oneshot_s") or {}
    if os_:
        rows.append(("one-shot 3-step script, start to exit (s)", f"{os_['ours']:.3f}", f"{os_['baseline']:.3f}",
                     f"{r['oneshot']:.3f}", f"<= {t_['oneshot']}", _ok(r["oneshot"] <= t_["oneshot"])))
    ls = s["local_step_s"]
    rows.append(("per step, regular / local activity (s)", f"{ls['regular']:.4f}", f"{ls['local']:.4f}",
                 f"{s['local_step_speedup']:.2f}x", f">= {t_['local_step_speedup']:g}x",
                 _ok(s["local_step_speedup"] >= t_["local_step_speedup"])))
    rows.append(("fan-out §2.2, run wall time (s)", f"{s['fanout_wall_s']:.3f}", "", "",
                 f"<= {t_['fanout_wall_s']}", _ok(s["fanout_wall_s"] <= t_["fanout_wall_s"])))
    rows.append(("fan-out §2.2, flow.run incl. worker (s)", f"{s['fanout_flow_run_s']:.3f}", "", "", "", ""))
    start = f"{s['server_start_s']:.2f}"
    if s.get("stock_server_start_s"):
        start += f" (stock {s['stock_server_start_s']:.2f})"
    rows.append(("embedded server start-up (s)", start, "", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
