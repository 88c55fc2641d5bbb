"""Serve flows: ``python worker.py MODULE [MODULE ...]``.

The script; the worker factory it runs is ``client.serving.worker`` (``build_worker``,
``flows_in_modules``, ``serve``), which ``refinire-flow worker`` runs too.
"""

from client.serving.worker import build_worker, flows_in_modules, main, serve

__all__ = ["build_worker", "flows_in_modules", "main", "serve"]

if __name__ == "__main__":
    main()
