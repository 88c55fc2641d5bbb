"""The public API explains itself: every name in ``refinire.__all__`` has a docstring, every
constructor argument of a flow, step or agent is in its ``Args`` (times in seconds), ``Flow.run``
says what it raises, and every option field carries its own docstring. No server needed."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import pytest

import refinire
from refinire import (
    ClarifyAgent,
    ConditionStep,
    Context,
    DebugStep,
    Flow,
    FlowSpec,
    ForkStep,
    FunctionStep,
    HistoryBudget,
    JoinStep,
    LLMResult,
    ParallelStep,
    RefinireAgent,
    RetrySpec,
    RouterAgent,
    RouterConfig,
    Step,
    UserInputStep,
)
from refinire.spec import StepOptions

BUILDERS = [Flow, Step, FunctionStep, ConditionStep, ParallelStep, UserInputStep, DebugStep, ForkStep,
            JoinStep, RefinireAgent, RouterAgent, ClarifyAgent]
OPTION_MODELS = [RetrySpec, HistoryBudget, StepOptions, FlowSpec, RouterConfig, LLMResult, Context]


def section(doc: str, title: str) -> str:
    """The text of a Google-style section (``Args:``), up to the next section."""
    found = re.search(rf"^{title}:\n(.*?)(?=^\S[^\n]*:\n|\Z)", doc, re.S | re.M)
    return found.group(1) if found else ""


def entries(args: str) -> dict[str, str]:
    """``name: text`` entries of an Args section, each with its continuation lines."""
    out: dict[str, str] = {}
    name = None
    for line in args.splitlines():
        head = re.match(r"^    (\*{0,2}\w+): (.*)", line)
        if head:
            name = head.group(1)
            out[name] = head.group(2)
        elif name:
            out[name] += " " + line.strip()
    return out


def test_every_public_name_has_its_own_docstring():
    missing = [name for name in refinire.__all__ if not (getattr(refinire, name).__doc__ or "").strip()]
    assert missing == []


@pytest.mark.parametrize("cls", [getattr(refinire, n) for n in refinire.__all__
                                 if inspect.isclass(getattr(refinire, n))], ids=lambda c: c.__name__)
def test_every_public_method_and_property_has_a_docstring(cls):
    missing = []
    members: dict[str, object] = {}
    for klass in reversed(cls.__mro__[:-1]):  # mixins too (Flow's parts live in private modules)
        if klass.__module__.split(".")[0] == "refinire":
            members.update(vars(klass))
    for name, value in members.items():
        if name.startswith("_") or not (callable(value) or isinstance(value, (property, classmethod))):
            continue
        func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if not (getattr(func, "__doc__", None) or "").strip():
            missing.append(name)
    assert missing == [], f"{cls.__name__}: {missing}"


@pytest.mark.parametrize("cls", BUILDERS, ids=lambda c: c.__name__)
def test_every_constructor_argument_is_documented_with_its_unit(cls):
    doc = inspect.getdoc(cls)
    documented = entries(section(doc, "Args"))
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.kind is not p.VAR_KEYWORD]
    assert params, cls
    missing = [p.name for p in params if p.name not in documented]
    assert missing == [], f"{cls.__name__} Args lacks {missing}"
    for name, text in documented.items():
        if name.endswith("timeout") or name == "heartbeat":
            assert "econds" in text, f"{cls.__name__}({name}=) gives no unit: {text!r}"


def test_every_router_config_key_is_documented():
    doc = inspect.getdoc(RouterAgent)
    assert [k for k in RouterAgent.CONFIG_KEYS if f"``{k}``" not in doc] == []


def test_flow_run_says_what_it_returns_and_raises():
    doc = inspect.getdoc(Flow.run)
    raises = entries(section(doc, "Raises"))
    assert set(raises) == {"FlowExecutionError", "FlowCancelled"}
    assert "run_id" in raises["FlowExecutionError"] and "cause" in raises["FlowExecutionError"]
    assert section(doc, "Returns").strip()
    assert set(entries(section(doc, "Args"))) == {"input_data", "ctx", "run_id"}


@pytest.mark.parametrize("method", [Flow.show, Flow.start_run, Flow.run_loop, Flow.set_error_handler,
                                    Flow.get_possible_routes], ids=lambda m: m.__name__)
def test_flow_methods_have_args_and_raises(method):
    doc = inspect.getdoc(method)
    assert section(doc, "Args").strip() and section(doc, "Raises").strip(), method.__name__


def field_docstrings(cls: type) -> dict[str, str]:
    """Field name → the string literal right after its annotated assignment in the class body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    docs = {}
    for stmt, after in zip(body, body[1:]):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            docs[stmt.target.id] = after.value.value
    return docs


@pytest.mark.parametrize("model", OPTION_MODELS, ids=lambda c: c.__name__)
def test_every_option_field_carries_a_docstring(model):
    own = [name for name in model.model_fields if name in vars(model).get("__annotations__", {})]
    assert own, model
    docs = field_docstrings(model)
    assert [name for name in own if not docs.get(name, "").strip()] == []


def test_options_that_break_runs_in_flight_say_so():
    assert "breaks runs in flight" in inspect.getdoc(Step)
    assert "runs in flight" in entries(section(inspect.getdoc(Flow), "Args"))["name"]
    assert "runs in flight" in entries(section(inspect.getdoc(Flow), "Args"))["steps"]
    assert "runs in flight" in field_docstrings(FlowSpec)["name"]
    assert "runs in flight" in field_docstrings(RouterConfig)["routes"]
