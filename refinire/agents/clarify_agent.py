"""``refinire.agents.clarify_agent``: Refinire's import path for ``ClarifyAgent``."""

from .compat import create_evaluated_clarify_agent, create_simple_clarify_agent
from ._agents import ClarifyAgent

__all__ = ["ClarifyAgent", "create_evaluated_clarify_agent", "create_simple_clarify_agent"]
