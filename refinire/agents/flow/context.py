"""``refinire.agents.flow.context``: Refinire's import path for ``Context`` and ``Message``."""

from ...context import Context, Message

__all__ = ["Context", "Message"]
