"""The embedded default against a stock ``temporal server start-dev --db-filename FILE``, per step.

Our 1- and 10-step flows run on both servers in turn (one worker each); the per-step time of a
round is (t10 - t1) / 9, which removes what a run pays once (start, result, completion upsert).
The stock server lacks our search attributes, so runs there upsert none: the subtraction removes
that difference too.
"""

from __future__ import annotations

from temporalio.client import Client

from bench import flows
from bench.harness import ours, running
from bench.server import stock_server
from client.serving.worker import build_worker


async def per_step(client: Client, sizes, res) -> None:
    from client.connection.codec import data_converter

    chains = {n: flows.chain(n) for n in (1, 10)}
    async with stock_server() as (address, started):
        res.stock_start_s = started
        stock = await Client.connect(address, namespace="default", data_converter=data_converter())
        clients = {"embedded": client, "stock": stock}
        times: dict[str, dict[int, list[float]]] = {who: {1: [], 10: []} for who in clients}
        workers = [build_worker(c, f) for c in clients.values() for f in chains.values()]
        async with running(*workers):
            for c in clients.values():
                for f in chains.values():
                    await ours(c, f)
            for i in range(sizes.server_rounds):
                order = list(clients) if i % 2 == 0 else list(clients)[::-1]
                for who in order:
                    for n, f in chains.items():
                        times[who][n].append((await ours(clients[who], f))[0])
    res.servers = {who: [(a - b) / 9 for a, b in zip(t[10], t[1])] for who, t in times.items()}
