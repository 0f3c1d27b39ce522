"""The baseline for signal benchmarks: a bare aiohttp WebSocket relay with no session logic.

    python -m bench.lab.ws_baseline --host 127.0.0.1 --port 8799

Each client is given an id on connect (``{"op": "hello", "id": n}``).  For every
``{"csq": n, "to": id | null, "type": …, "data": …}`` it receives, it answers the sender
``{"op": "ack", "csq": n}`` and sends ``{"op": "signal_received", "from": id, …}`` to ``to``
or, when ``to`` is null, to everyone (sender included) — the shape of work a Tether server does
for a signal, minus tokens, sequence numbers, replay and de-duplication.
"""

from __future__ import annotations

import argparse
import itertools
import json

from aiohttp import WSMsgType, web


def make_app() -> web.Application:
    clients: dict[int, web.WebSocketResponse] = {}
    ids = itertools.count(1)

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        me = next(ids)
        clients[me] = ws
        await ws.send_str(json.dumps({"op": "hello", "id": me}))
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                m = json.loads(msg.data)
                await ws.send_str(json.dumps({"op": "ack", "csq": m["csq"]}))
                out = json.dumps(
                    {
                        "op": "signal_received",
                        "from": me,
                        "type": m.get("type", ""),
                        "data": m.get("data", ""),
                        "to": m.get("to"),
                    }
                )
                to = m.get("to")
                targets = [clients[to]] if to in clients else list(clients.values())
                for peer in targets:
                    if not peer.closed:
                        await peer.send_str(out)
        finally:
            clients.pop(me, None)
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    web.run_app(
        make_app(),
        host=args.host,
        port=args.port,
        print=lambda *_: print(f"baseline listening on {args.host}:{args.port}", flush=True),
    )


if __name__ == "__main__":
    main()
