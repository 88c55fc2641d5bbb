"""Where a run starts: ``flow.run`` and ``flow.start_run`` (``start.py``), the in-process worker a
script hosts while it waits (``hosting.py``) and how that worker stops without abandoning a step
(``draining.py``), handles to runs (``handle.py``), reruns from a step (``rerun.py``) and agents run
outside a flow (``standalone.py``). The run itself is interpreted by ``workflows/``; its steps
execute in ``activities/``."""
