"""A third-party SSE server for wiregen's tests: the pet store stream served by sse-starlette.

Usage: tests/peers/.venv/bin/python tests/peers/sse_starlette_server.py PORTFILE [--lifetime SECONDS]

Listens on 127.0.0.1 on a port the kernel picks, writes that port (digits only, written
atomically) to PORTFILE, prints {"port": N} on stdout, and serves until killed or until
--lifetime seconds (default 300) have passed. sse-starlette ends lines with CRLF and sends
`Content-Type: text/event-stream; charset=utf-8`, which is the point of this peer.

Routes (every stream honours the `Last-Event-ID` header: it resumes after the event with
that id; an id it does not know replays everything):
  GET /v1/pets/notifications            the events of petstore-events.json, ids 1..6, then ends
  GET /unknown[/v1/pets/notifications]  adoption (1), an undeclared `pet-teleported` (2), status-change (3)
  GET /malformed[/v1/pets/notifications] adoption (1), adoption whose data is not JSON (2), status-change (3)
  GET /v1/pets/{petId}                  the Pet JSON for 42 or 7, else 404 with an Error body
Query parameters of every stream:
  limit=K     send at most K events on this connection, then end it (to test resuming)
  retry=MS    send a `retry: MS` field before the first event
  delay_ms=D  wait D ms before each event (default 0)
  hold=1      keep the connection open after the last event instead of ending it
"""

import argparse
import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import uvicorn
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

HERE = Path(__file__).resolve().parent
PETSTORE = json.loads((HERE / "petstore-events.json").read_text(encoding="utf-8"))


def compact(value):
    return json.dumps(value, separators=(",", ":"))


# Each event: (id, event name, data text exactly as it goes on the wire).
SEQUENCES = {
    "petstore": [(e["id"], e["event"], compact(e["data"])) for e in PETSTORE],
    "unknown": [
        ("1", "adoption", compact(PETSTORE[0]["data"])),
        ("2", "pet-teleported", compact({"petId": 42, "to": "the moon"})),
        ("3", "status-change", compact(PETSTORE[1]["data"])),
    ],
    "malformed": [
        ("1", "adoption", compact(PETSTORE[0]["data"])),
        ("2", "adoption", '{"petId":42,"petName":'),
        ("3", "status-change", compact(PETSTORE[1]["data"])),
    ],
}

PETS = {
    42: {"id": 42, "name": "Biscuit", "status": "AVAILABLE", "tags": ["dog", "puppy"], "nickname": "Biss"},
    7: {"id": 7, "name": "Whiskers", "status": "PENDING", "nickname": None},
}


def stream(sequence_name):
    sequence = SEQUENCES[sequence_name]

    async def endpoint(request: Request):
        last_id = request.headers.get("last-event-id")
        ids = [event_id for event_id, _, _ in sequence]
        start = ids.index(last_id) + 1 if last_id in ids else 0
        query = request.query_params
        limit = int(query["limit"]) if "limit" in query else None
        retry = int(query["retry"]) if "retry" in query else None
        delay = int(query.get("delay_ms", "0")) / 1000
        hold = query.get("hold") == "1"
        events = sequence[start:]
        if limit is not None:
            events = events[:limit]

        async def generate():
            if retry is not None:
                yield ServerSentEvent(retry=retry)
            for event_id, name, data in events:
                if delay:
                    await asyncio.sleep(delay)
                yield ServerSentEvent(data=data, event=name, id=event_id)
            if hold:
                while not await request.is_disconnected():
                    await asyncio.sleep(0.1)

        return EventSourceResponse(generate())

    return endpoint


async def get_pet(request: Request):
    try:
        pet_id = int(request.path_params["pet_id"])
    except ValueError:
        pet_id = -1
    if pet_id in PETS:
        return JSONResponse(PETS[pet_id])
    return JSONResponse(
        {"code": "pet_not_found", "message": f"No pet with id {request.path_params['pet_id']} exists."},
        status_code=404,
    )


app = Starlette(
    routes=[
        Route("/v1/pets/notifications", stream("petstore")),
        Route("/unknown", stream("unknown")),
        Route("/unknown/v1/pets/notifications", stream("unknown")),
        Route("/malformed", stream("malformed")),
        Route("/malformed/v1/pets/notifications", stream("malformed")),
        Route("/v1/pets/{pet_id}", get_pet),
    ]
)


def write_port_file(path, port):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(str(port))
    os.replace(tmp, path)


async def main():
    parser = argparse.ArgumentParser(description="pet store SSE server (sse-starlette)")
    parser.add_argument("portfile")
    parser.add_argument("--lifetime", type=float, default=300.0)
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]

    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not serving.done():
        await asyncio.sleep(0.01)
    if serving.done():
        await serving  # re-raises the startup error
        sys.exit(1)
    write_port_file(args.portfile, port)
    print(json.dumps({"port": port}), flush=True)

    try:
        await asyncio.wait_for(asyncio.shield(serving), timeout=args.lifetime)
    except asyncio.TimeoutError:
        print(f"sse_starlette_server: lifetime of {args.lifetime:g} s is over, exiting", file=sys.stderr)
        server.should_exit = True
        await serving


if __name__ == "__main__":
    asyncio.run(main())
