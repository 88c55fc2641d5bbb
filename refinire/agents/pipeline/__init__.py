"""``refinire.agents.pipeline``: Refinire's import path for ``RefinireAgent`` and its constructors."""

from ..compat import create_evaluated_agent, create_simple_agent
from .._agents import LLMResult, RefinireAgent

__all__ = ["LLMResult", "RefinireAgent", "create_evaluated_agent", "create_simple_agent"]
