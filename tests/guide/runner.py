"""Run the guide's code blocks exactly as written: only imports are added.

Blocks of one section share a namespace, as a reader pasting them into one notebook would; top-level
``await`` is allowed, as in a notebook or ``python -m asyncio``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CANDIDATES = [HERE / "flow_guide.md"]
"""The repository's copy of the user's guide (tests/test_guide_basics.py checks it is the seed's)."""

PRELUDE = """
import asyncio
import logging
from refinire import *
from refinire import Context, Flow, FunctionStep, ConditionStep, FlowExecutionError
logger = logging.getLogger("guide")
"""


def guide_text() -> str:
    for path in CANDIDATES:
        if path.exists():
            return path.read_text()
    raise FileNotFoundError(f"flow_guide.md not found in {CANDIDATES}")


def section_blocks(section: str) -> list[str]:
    """The python blocks under the heading that starts with ``### <section>``."""
    text = guide_text()
    parts = re.split(r"^### ", text, flags=re.M)
    for part in parts:
        if part.startswith(section + " "):
            return re.findall(r"```python\n(.*?)```", part, flags=re.S)
    raise KeyError(f"no section {section!r} in the guide")


async def run_source(source: str, namespace: dict[str, Any]) -> Any:
    code = compile(source, "<flow_guide>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)
    if result is not None and hasattr(result, "__await__"):
        return await result
    return result


async def run_section(section: str, namespace: dict[str, Any] | None = None,
                      blocks: slice = slice(None)) -> dict[str, Any]:
    ns = namespace if namespace is not None else {"__name__": f"guide_{section.replace('.', '_')}"}
    if "Flow" not in ns:
        exec(PRELUDE, ns)
    for block in section_blocks(section)[blocks]:
        await run_source(block, ns)
    return ns


def expected_output(section: str) -> str:
    """The first plain ``` block after "**Expected Output:**" in a section."""
    text = guide_text()
    part = next(p for p in re.split(r"^### ", text, flags=re.M) if p.startswith(section + " "))
    after = part.split("**Expected Output:**", 1)[1]
    return re.search(r"```\n(.*?)```", after, flags=re.S).group(1).rstrip("\n")


def run_section_in_thread(section: str) -> dict[str, Any]:
    """For sections that call ``asyncio.run`` at top level, as a script does: they need a thread
    with no running event loop."""
    import asyncio
    import threading

    box: dict[str, Any] = {}

    def target() -> None:
        ns: dict[str, Any] = {"__name__": f"guide_{section.replace('.', '_')}"}
        try:
            exec(PRELUDE, ns)
            for block in section_blocks(section):
                code = compile(block, "<flow_guide>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
                result = eval(code, ns)
                if result is not None and hasattr(result, "__await__"):
                    asyncio.run(result)
            box["ns"] = ns
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"guide-{section}")
    thread.start()
    thread.join(120)
    if thread.is_alive():
        raise TimeoutError(f"guide section {section} did not finish within 120 s")
    if "error" in box:
        raise box["error"]
    return box["ns"]
