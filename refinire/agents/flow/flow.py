"""``refinire.agents.flow.flow``: Refinire's import path for ``Flow`` and its constructors."""

from ..compat import create_conditional_flow, create_simple_flow
from ...errors import FlowExecutionError
from ...flow import Flow

__all__ = ["Flow", "FlowExecutionError", "create_conditional_flow", "create_simple_flow"]
