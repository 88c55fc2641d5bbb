"""The SDK core's log lines go through Python logging, never onto stdout.

Temporal's Rust core prints its warnings on stdout by default, in colour, in the middle of what
a script or ``refinire-flow run`` prints there: the run's result, which scripts pipe on. Forwarded
to the Python logger ``temporalio.core`` they are ordinary log records (stderr, the level and
format the process chose; without any logging set up, Python prints warnings on stderr).
``connect()`` sets this up before the first client, unless the process made its own Temporal
runtime already (that one is left as it is). Two of them are the expected cost of following a run with queries (``run`` shows
progress by asking its own in-process worker): an answer that came after the client stopped waiting,
and a query still queued when a run continued as new. Those are debug records, not warnings.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from temporalio.runtime import LoggingConfig

__all__ = ["CORE_LOGGER", "forward_core_logs", "logging_config"]

CORE_LOGGER = "temporalio.core"
_PROGRESS_NOISE = ("Query not found when attempting to respond",
                   "There were leftover buffered tasks when evicting run")


class _Demote(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and any(n in record.getMessage() for n in _PROGRESS_NOISE):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(CORE_LOGGER).isEnabledFor(logging.DEBUG)
        return True


def logging_config() -> "LoggingConfig":
    """The core's logging as every runtime of ours sets it: forwarded to ``temporalio.core``."""
    from temporalio.runtime import LogForwardingConfig, LoggingConfig

    logger = logging.getLogger(CORE_LOGGER)
    if not any(isinstance(f, _Demote) for f in logger.filters):
        logger.addFilter(_Demote())
    return LoggingConfig(filter=LoggingConfig.default.filter,
                         forwarding=LogForwardingConfig(logger=logger, append_target_to_name=False))


def forward_core_logs() -> bool:
    """Make this process's Temporal runtime forward core logs to Python logging (call before the
    first client connects; a runtime set later, e.g. for Prometheus metrics, replaces it).

    Returns:
        Whether it did: ``False`` when the process has a default runtime already (its own, or
        one the SDK made for a client), which is kept.
    """
    from temporalio.runtime import Runtime, TelemetryConfig

    try:
        Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=logging_config())),
                            error_if_already_set=True)
    except RuntimeError:  # "Runtime default already set": the process chose, or a client exists
        return False
    return True
