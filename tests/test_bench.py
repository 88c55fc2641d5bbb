"""``python -m bench --quick`` runs end to end on its own server and reports every figure.

Correctness only: the figures themselves are machine-dependent and asserted nowhere.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE")}
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--json", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    ratios = figures["ratios"]
    values = [ratios["latency_1"], ratios["latency_3"], ratios["latency_10"], ratios["throughput"],
              figures["fanout_wall_s"], figures["local_step_speedup"], figures["server_start_s"],
              ratios["history_bytes_3"], ratios["stock_per_step"], ratios["oneshot"], ratios["cpu_3"],
              figures["server_step_s"]["stock"], figures["server_step_s"]["embedded"],
              figures["oneshot_s"]["ours"], figures["oneshot_s"]["baseline"]]
    assert all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in values), figures
    assert figures["fanout_wall_s"] >= 1.0, "three one-second branches cannot finish sooner"
    assert figures["history"]["ours_3"]["workflow_tasks"] >= 4, figures["history"]
    assert figures["oneshot_s"]["ours"] > figures["latency_s"]["3"]["ours"], "a script also starts Python"
    for words in ("latency, 3-step flow", "ratio", "stock start-dev", "one-shot 3-step script", "CPU per"):
        assert words in proc.stdout, proc.stdout
