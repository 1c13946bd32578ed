#!/usr/bin/env python3
"""Python's `websockets` package as a WebSocket client peer for wiregen's tests.

Usage: tests/peers/.venv/bin/python tests/peers/ws_client.py URL COUNT [TIMEOUT_S] [--send TEXT]...

Connects to URL, sends every --send as a text frame, and prints one JSON line per frame
received: {"type": "text", "data": "..."} or {"type": "binary", "hex": "..."}. After COUNT
frames it closes with 1000 (waiting for the server's Close). When the server closes first it
prints {"type": "close", "code": N, "reason": "..."}. Exits 0 when COUNT frames came or the
server closed, 1 on a timeout (TIMEOUT_S, default 15) or an error, 2 on a usage error.
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def usage(message=None):
    if message:
        print(f"ws_client.py: {message}", file=sys.stderr)
    print("usage: ws_client.py URL COUNT [TIMEOUT_S] [--send TEXT]...", file=sys.stderr)
    sys.exit(2)


def parse(argv):
    positional, sends = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--send":
            if i + 1 >= len(argv):
                usage("--send needs a value")
            sends.append(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--"):
            usage(f"unknown option {arg}")
        positional.append(arg)
        i += 1
    if len(positional) < 2 or len(positional) > 3:
        usage()
    try:
        count = int(positional[1])
        timeout = float(positional[2]) if len(positional) == 3 else 15.0
    except ValueError:
        usage()
    return positional[0], count, timeout, sends


async def run(url, count, sends):
    async with connect(url, max_size=2**20) as socket:
        for text in sends:
            await socket.send(text)
        received = 0
        while received < count:
            try:
                frame = await socket.recv()
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                reason = closed.rcvd.reason if closed.rcvd else ""
                print(json.dumps({"type": "close", "code": code, "reason": reason}), flush=True)
                return
            if isinstance(frame, str):
                print(json.dumps({"type": "text", "data": frame}), flush=True)
            else:
                print(json.dumps({"type": "binary", "hex": frame.hex()}), flush=True)
            received += 1
        await socket.close(code=1000)


def main():
    url, count, timeout, sends = parse(sys.argv[1:])
    try:
        asyncio.run(asyncio.wait_for(run(url, count, sends), timeout))
    except asyncio.TimeoutError:
        print(f"ws_client.py: timed out after {timeout} s", file=sys.stderr)
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - any failure is the test's to see
        print(f"ws_client.py: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
