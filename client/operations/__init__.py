"""Where runs are operated: the ``refinire-flow`` CLI (``cli.py``, ``commands.py``), the replay gate
before a deploy (``replay.py``) and cancelling a run (``control.py``)."""
