"""Finding a flow's code from the command line: ``module:variable`` or a durable flow name.

Names follow the worker's rule (``worker.flows_in_modules``), so a run started here by
``module:variable`` is picked up by ``refinire-flow worker module`` and the other way round.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Iterable

from refinire.errors import FlowExecutionError
from refinire.flow import Flow

FLOW_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def _importable_cwd() -> None:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def import_flows(modules: Iterable[str]) -> dict[str, Flow]:
    """Every module-level flow of the modules, by durable name, registered in this process."""
    from .worker import flows_in_modules

    modules = list(modules)
    _importable_cwd()
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise FlowExecutionError(
                f"Cannot import module {name!r}: {exc}. Run from the directory that holds it or add "
                "that directory to PYTHONPATH.") from None
    try:
        flows = flows_in_modules(modules)
    except SystemExit as exc:
        raise FlowExecutionError(str(exc)) from None
    for flow in flows.values():
        flow.register()
    return flows


def load_flow(ref: str) -> Flow:
    """``module:variable`` -> the Flow, named as the worker names it."""
    if not FLOW_REF.match(ref):
        raise FlowExecutionError(f"{ref!r} is not MODULE:FLOW (for example `examples.hello:flow`).")
    module_name, _, var = ref.partition(":")
    flows = import_flows([module_name])
    flow = getattr(sys.modules[module_name], var, None)
    if not isinstance(flow, Flow):
        raise FlowExecutionError(
            f"Module {module_name!r} has no flow {var!r}. Flows it defines: "
            f"{sorted(v for v, o in vars(sys.modules[module_name]).items() if isinstance(o, Flow))!r}")
    assert flow.durable_name in flows
    return flow


def module_of(flow_name: str) -> str | None:
    """The module a ``module:variable`` flow name comes from; ``None`` for explicit names."""
    return flow_name.partition(":")[0] if FLOW_REF.match(flow_name) else None


def flow_by_name(flow_name: str, modules: Iterable[str] = (), code: str | None = None) -> Flow:
    """The code of a flow by durable name, from ``modules``, the module its name points to, or
    ``code`` (the ``module:variable`` a run recorded where it was started)."""
    modules = list(modules)
    # The modules named win; the code location the run recorded is the fallback (a deploy gate
    # replays old runs against new code named by --module).
    for own in (module_of(flow_name), None if modules else module_of(code or "")):
        if own and own not in modules:
            modules.append(own)
    if not modules:
        raise FlowExecutionError(
            f"Flow {flow_name!r} has an explicit name and its runs do not say where its code is: "
            "pass --module MODULE (the module that defines it).")
    flows = import_flows(modules)
    if flow_name not in flows:
        raise FlowExecutionError(
            f"No flow named {flow_name!r} in {modules!r}. Flows there: {sorted(flows)!r}")
    return flows[flow_name]
