"""Logs people can read: one line per failed step attempt, the traceback only at debug.

Temporal's SDK logs every failed activity attempt with the whole traceback, SDK frames included,
at WARNING. A step that Temporal retries is not news worth a screen of frames: at the default level
each failed attempt is one line (``step 'fetch' attempt 2 failed: ValueError: ...``); at DEBUG the
traceback follows. The level comes from ``--log-level`` (the worker), else ``REFINIRE_LOG_LEVEL``,
else INFO.
"""

from __future__ import annotations

import logging
import os

from client.connection import settings
from workflows.formats import branch_label, parse_activity_id

__all__ = ["LEVEL_ENV", "configure", "one_line_failures", "script_level"]

LEVEL_ENV = "REFINIRE_LOG_LEVEL"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
           "warning": logging.WARNING, "error": logging.ERROR}


class _OneLineFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "__temporal_error_identifier", None) == "ActivityFailure" and record.exc_info:
            err = record.exc_info[1]
            # The step's own exception, not the ApplicationError that carries it to Temporal.
            err = err.__cause__ if type(err).__name__ == "ApplicationError" and err.__cause__ else err
            info = getattr(record, "temporal_activity", None) or {}
            step = branch_label(*parse_activity_id(str(info.get("activity_id", "?")))[:2])
            record.msg = f"step {step!r} attempt {info.get('attempt', '?')} failed: {type(err).__name__}: {err}"
            record.args = ()
            if not logging.getLogger("refinire").isEnabledFor(logging.DEBUG):
                record.exc_info = None
        return True


_FILTER = _OneLineFailures()


def level_from(name: str | None = None) -> int:
    """``name`` (debug, info, warn, error), else ``REFINIRE_LOG_LEVEL``, else INFO.

    Raises:
        ValueError: an unknown level name, listing the known ones.
        SettingError: ``REFINIRE_LOG_LEVEL`` is not a level (a ValueError too).
    """
    if name:
        text = name.strip().lower()
        if text not in _LEVELS:
            raise ValueError(f"Unknown log level {text!r} (--log-level). "
                             f"Known levels: {sorted(set(_LEVELS) - {'warning'})!r}")
        return _LEVELS[text]
    return _LEVELS[settings.choice(LEVEL_ENV, "info", _LEVELS, meaning="a log level")]


def script_level() -> None:
    """A script's in-process worker: ``REFINIRE_LOG_LEVEL``, when set, is Refinire's log level
    (``debug`` keeps a failed attempt's traceback); checked even when unset elsewhere.

    Raises:
        SettingError: ``REFINIRE_LOG_LEVEL`` is not a level.
    """
    if os.environ.get(LEVEL_ENV, "").strip():
        logging.getLogger("refinire").setLevel(level_from())


def one_line_failures() -> None:
    """Failed step attempts log as one line (in this process), whatever else is configured."""
    logger = logging.getLogger("temporalio.activity")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def configure(name: str | None = None) -> int:
    """Set up logging for a long-lived process (the worker): level, a compact format, one-line
    failures. Returns the level."""
    level = level_from(name)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for logger in ("refinire", "temporalio.activity", "temporalio.workflow"):
        logging.getLogger(logger).setLevel(level)
    # The SDK's own worker chatter (start, shutdown) only when debugging.
    logging.getLogger("temporalio.worker").setLevel(level if level <= logging.DEBUG else logging.WARNING)
    one_line_failures()
    return level
