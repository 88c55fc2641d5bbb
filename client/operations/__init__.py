"""Where runs are operated: the ``refinire-flow`` CLI (``cli.py``: its parser and how a problem
ends it; ``exits.py``: exit statuses and errors; ``targets.py``: reaching Temporal, a flow's code,
a run; the commands by kind in ``cmd_serve.py``, ``cmd_run.py``, ``cmd_look.py``,
``cmd_control.py``), the replay gate before a deploy (``replay.py``) and cancelling a run
(``control.py``)."""
