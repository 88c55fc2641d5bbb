"""The SDK core's log lines go through Python logging in ``refinire-flow``, never onto stdout.

Temporal's Rust core prints its warnings on stdout by default, in colour, in the middle of what
``refinire-flow run`` prints there: the run's result, which scripts pipe on. Forwarded to the
Python logger ``temporalio.core`` they are ordinary log records (stderr, the level and format the
process chose). Two of them are the expected cost of following a run with queries (``run`` shows
progress by asking its own in-process worker): an answer that came after the client stopped waiting,
and a query still queued when a run continued as new. Those are debug records, not warnings.
"""

from __future__ import annotations

import logging

__all__ = ["CORE_LOGGER", "forward_core_logs"]

CORE_LOGGER = "temporalio.core"
_PROGRESS_NOISE = ("Query not found when attempting to respond",
                   "There were leftover buffered tasks when evicting run")


class _Demote(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and any(n in record.getMessage() for n in _PROGRESS_NOISE):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(CORE_LOGGER).isEnabledFor(logging.DEBUG)
        return True


def forward_core_logs() -> None:
    """Make this process's Temporal runtime forward core logs to Python logging (call before the
    first client connects; a runtime set later, e.g. for Prometheus metrics, replaces it)."""
    from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig

    logger = logging.getLogger(CORE_LOGGER)
    if not any(isinstance(f, _Demote) for f in logger.filters):
        logger.addFilter(_Demote())
    logging_config = LoggingConfig(filter=LoggingConfig.default.filter,
                                   forwarding=LogForwardingConfig(logger=logger, append_target_to_name=False))
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=logging_config)),
                        error_if_already_set=False)
