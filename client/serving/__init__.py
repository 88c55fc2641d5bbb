"""Where workers are built: the worker factory and its sandbox (``worker.py``), the flows found in
modules (``modules.py``), and what a worker reports while it runs steps (telemetry, hooks, logs,
the steps in flight: ``inflight.py``)."""
