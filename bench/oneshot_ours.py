"""A one-shot script as a user writes it (the guide's §1.2): a 3-step flow, ``await flow.run(...)``,
print, exit. ``python -m bench`` times it from process start to exit against ``oneshot_baseline.py``,
on the bench's running server (``TEMPORAL_ADDRESS``)."""

import asyncio

from refinire import Flow, FunctionStep


def add_one(data, ctx):
    return int(data or 0) + 1


flow = Flow(steps=[FunctionStep(f"s{i}", add_one) for i in (1, 2, 3)])


async def main() -> None:
    result = await flow.run(0)
    print(result.result)


asyncio.run(main())
