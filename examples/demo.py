"""The demo: the guide's §1.4 and §2.2 flows (and an agent flow when a model is configured), each
a durable Temporal run on the embedded server, with its Temporal UI link.

    scripts/demo            # or: python -m examples.demo
"""

from __future__ import annotations

import asyncio
import os

from examples import guide_basics
from refinire import FlowExecutionError


def _link(result) -> str:
    return f"    run {result.run_id}  →  {result.ui_url or '(set TEMPORAL_UI_URL for a link)'}"


async def main() -> None:
    print("§1.4 Conditional branching")
    for age in ("25", "15"):
        result = await guide_basics.condition_flow.run(age)
        print(f"  {age}-year-old result: {result}")
        print(_link(result))

    print("\n§2.2 Parallel processing (three 1-second branches, max_workers=3)")
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await guide_basics.parallel_flow.run(
        "Python is a programming language suitable for machine learning and AI development")
    print(f"  Execution time: {loop.time() - started:.2f} seconds")
    print(f"  Result: {result}")
    for branch in ("sentiment", "keywords", "category"):
        print(f"    {branch}: {result.shared_state[branch]}")
    print(_link(result))

    print()
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        try:
            from examples import guide_agents
        except ImportError:
            print("Agent flows: examples.guide_agents is not available in this build.")
        else:
            print("§2.1 Agent flow (model from OPENAI_BASE_URL / OPENAI_API_KEY)")
            try:
                result = await guide_agents.agent_flow.run("What are the features of Python?")
            except FlowExecutionError as err:
                raise SystemExit(f"  The agent flow failed: {err}")
            print(f"  {result}")
            print(_link(result))
    else:
        print("Agent flows are off: set OPENAI_API_KEY (or OPENAI_BASE_URL for any OpenAI-compatible "
              "server, e.g. a local vLLM or Ollama) and run the demo again.")


if __name__ == "__main__":
    asyncio.run(main())
