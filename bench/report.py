"""Figures → the JSON object and the printed table. Ratios are ours / baseline of medians."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bench.scenarios import Results, Sizes, median

TARGETS = {"latency": 1.10, "throughput": 0.90, "fanout_wall_s": 1.10, "local_step_speedup": 2.0}


def summary(res: Results, sizes: Sizes, *, quick: bool, cpus: int | None) -> dict[str, Any]:
    lat = {n: {who: median(xs) for who, xs in t.items()} for n, t in res.latency.items()}
    thr = {who: median(xs) for who, xs in res.throughput.items()}
    per_step = {k: median(v) for k, v in res.local.items() if k in ("regular", "local")}
    ratios = {f"latency_{n}": lat[n]["ours"] / lat[n]["baseline"] for n in lat}
    ratios["throughput"] = thr["ours"] / thr["baseline"]
    return {
        "ratios": ratios,
        "latency_s": {str(n): v for n, v in lat.items()},
        "throughput_runs_per_s": thr,
        "throughput_runs": sizes.throughput_runs,
        "fanout_wall_s": median(res.fanout),
        "fanout_flow_run_s": median(res.fanout_flow_run),
        "local_step_s": per_step,
        "local_step_speedup": per_step["regular"] / per_step["local"],
        "server_start_s": res.server_start_s,
        "history": res.history,
        "targets": TARGETS,
        "sizes": asdict(sizes),
        "quick": quick,
        "cpus": cpus,
    }


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


def table(s: dict[str, Any]) -> str:
    r = s["ratios"]
    rows = [("measure", "ours", "baseline", "ratio", "target", "")]
    for n, v in s["latency_s"].items():
        ratio = r[f"latency_{n}"]
        rows.append((f"latency, {n}-step flow (median s)", f"{v['ours']:.4f}", f"{v['baseline']:.4f}",
                     f"{ratio:.3f}", "<= 1.10", _ok(ratio <= TARGETS["latency"])))
    t = s["throughput_runs_per_s"]
    rows.append((f"throughput, {s['throughput_runs']} x 3-step (runs/s)", f"{t['ours']:.1f}",
                 f"{t['baseline']:.1f}", f"{r['throughput']:.3f}", ">= 0.90",
                 _ok(r["throughput"] >= TARGETS["throughput"])))
    ls = s["local_step_s"]
    rows.append(("per step, regular / local activity (s)", f"{ls['regular']:.4f}", f"{ls['local']:.4f}",
                 f"{s['local_step_speedup']:.2f}x", ">= 2x",
                 _ok(s["local_step_speedup"] >= TARGETS["local_step_speedup"])))
    rows.append(("fan-out §2.2, run wall time (s)", f"{s['fanout_wall_s']:.3f}", "", "", "<= 1.10",
                 _ok(s["fanout_wall_s"] <= TARGETS["fanout_wall_s"])))
    rows.append(("fan-out §2.2, flow.run incl. worker (s)", f"{s['fanout_flow_run_s']:.3f}", "", "", "", ""))
    rows.append(("embedded server start-up (s)", f"{s['server_start_s']:.2f}", "", "", "", ""))
    for who in ("ours_3", "baseline_3"):
        h = s["history"].get(who)
        if h:
            rows.append((f"history of one 3-step run, {who.split('_')[0]}",
                         f"{h['events']} events", f"{h['workflow_tasks']} wf tasks",
                         f"{h['history_bytes']} B", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
