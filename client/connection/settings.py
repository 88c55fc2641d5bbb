"""Settings read from the environment (``REFINIRE_*``), checked where they are read.

A bad value is a :class:`~refinire.errors.SettingError` naming the variable, its value, what it may
be and its default, raised before the setting is used, so that it does not surface later as
someone else's fault (a connection that "failed", a bare ``ValueError`` from ``float()``). The CLI
reports it as bad usage (exit 2). Workflow code never reads the environment: these run outside it.
"""

from __future__ import annotations

import math
import os
from typing import Iterable

from refinire.errors import SettingError

__all__ = ["SettingError", "choice", "seconds"]

DAY_S = 86400.0


def _text(name: str) -> str:
    return os.environ.get(name, "").strip()


def seconds(name: str, default: float, *, meaning: str, zero: str | None = None,
            most: float = DAY_S) -> float:
    """The number of seconds in ``name``, else ``default`` when it is unset or empty.

    Args:
        name: The environment variable.
        default: The value when it is unset.
        meaning: What the seconds are for, as the error says it ("how long ...").
        zero: What 0 means, if 0 is allowed; ``None`` when the value must be more than 0.
        most: The largest value allowed (a day by default).

    Raises:
        SettingError: Not a finite number, or outside the range.
    """
    text = _text(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    low_ok = value >= 0 if zero is not None else value > 0
    if not (math.isfinite(value) and low_ok and value <= most):
        low = f"0 or more, up to {most:g}" if zero is not None else f"more than 0, up to {most:g}"
        zero_note = f"; 0 {zero}" if zero is not None else ""
        raise SettingError(
            f"{name}={text!r} is not a number of seconds: set it to {low} ({meaning}"
            f"{zero_note}), or unset it for the default {default:g}.", config_key=name)
    return value


def choice(name: str, default: str, choices: Iterable[str], *, meaning: str) -> str:
    """The value of ``name`` (lower-cased), one of ``choices``, else ``default`` when unset or empty.

    Raises:
        SettingError: A value that is not one of the choices, listing them.
    """
    allowed = list(choices)
    text = _text(name)
    if not text:
        return default
    if text.lower() not in allowed:
        raise SettingError(
            f"{name}={text!r} is not {meaning}: set it to one of {', '.join(map(repr, allowed))}, "
            f"or unset it for the default {default!r}.", config_key=name)
    return text.lower()
