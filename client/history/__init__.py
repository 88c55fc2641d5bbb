"""Where a run's history is read back: one reader (``reader.py``) turns a run's events, every
Temporal run of its chain, decoded through the payload codec, into one ``RunRecord`` (``record.py``); ``show``
(``trace.py``), rerun and replay (``steps.py``) are views of it."""
