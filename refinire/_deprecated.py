"""Old spellings of arguments that still work for a while, each with a ``DeprecationWarning``.

``timeout`` has one meaning in the public API: the seconds one model call of an agent may take
(Refinire's meaning). A step's time limit per attempt is ``step_timeout`` on every step and on
``Flow``; how long a step waits for a person is ``answer_timeout``. ``FunctionStep(timeout=)``,
``Flow(timeout=)`` and ``UserInputStep(timeout=)`` are the older spellings: they compile to the very
same spec as the new ones (a run's content hash does not change) and warn, naming the class, the
argument and its replacement.
"""

from __future__ import annotations

import warnings
from typing import Any

from .errors import FlowDefinitionError

__all__ = ["renamed"]


def renamed(owner: str, name: Any, old: str, new: str, old_value: Any, new_value: Any,
            meaning: str) -> Any:
    """The value to use for ``new``, taking the deprecated ``old`` spelling into account.

    Args:
        owner: The class whose constructor was called (``"FunctionStep"``), for the messages.
        name: The step's or flow's name, for the error when both spellings are given.
        old: The deprecated argument's name (``"timeout"``).
        new: Its replacement (``"step_timeout"``).
        old_value: What was passed as ``old`` (``None`` when it was not).
        new_value: What was passed as ``new`` (``None`` when it was not).
        meaning: What ``new`` means, in a few words, for the warning.

    Returns:
        ``new_value``, else ``old_value`` (after warning).

    Raises:
        FlowDefinitionError: Both spellings were given.
    """
    if old_value is None:
        return new_value
    if new_value is not None:
        raise FlowDefinitionError(
            f"{owner} {name!r}: {old}={old_value!r} and {new}={new_value!r} are both given; {old}= is "
            f"the deprecated spelling of {new}= ({meaning}). Pass only {new}=.")
    warnings.warn(
        f"{owner}({old}=...) is deprecated: pass {new}={old_value!r} instead ({meaning}). "
        "`timeout` is the model-call timeout of agents (RefinireAgent, RouterAgent, ClarifyAgent).",
        DeprecationWarning, stacklevel=3)
    return old_value
