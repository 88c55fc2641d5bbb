"""The step classes users put in a Flow.

Each knows how to describe itself as a spec (``_spec``) and how to run directly, outside any flow,
the way Refinire's own steps do. Inside a durable flow the workflow decides what runs where.

One private module per kind: ``_base`` (``Step`` and the shared options), ``_function``
(``FunctionStep``, ``DebugStep``), ``_condition`` (``ConditionStep``), ``_parallel``
(``ParallelStep``, ``ForkStep``, ``JoinStep``) and ``_user_input`` (``UserInputStep``). Import them
from here: ``refinire.steps`` is the public path, and the one their identities name (see
``known_module``), so unnamed flows keep their durable names whatever the files are called.
"""

from ._base import STEP_TIMEOUT_MEANING, Step, _options, retry_spec  # noqa: F401 (the flow and the agents use them)
from ._condition import ConditionStep
from ._function import DebugStep, FunctionStep
from ._parallel import ForkStep, JoinStep, ParallelStep
from ._user_input import UserInputStep

__all__ = ["ConditionStep", "DebugStep", "ForkStep", "FunctionStep", "JoinStep", "ParallelStep", "Step",
           "UserInputStep"]

