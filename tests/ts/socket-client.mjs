#!/usr/bin/env node
// The client of a socket several channels share, generated from the corpus's Kraken document
// (`kraken-websocket-request-reply-multiple-channels`), compiled by the caller, against a `ws`
// server on 127.0.0.1 that sends one frame of each channel, a frame with an unknown tag and one
// that is not JSON, and records what the client sends.
//
// Usage: node tests/ts/socket-client.mjs COMPILED_MODULE
// Prints one JSON line (what the client received and the server got) and exits 0, or 1 with
// the reason; everything within 10 s.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const peers = createRequire(join(here, "..", "peers", "package.json"));
const WebSocket = peers("ws");
const { WebSocketServer } = WebSocket;

const watchdog = setTimeout(() => {
  console.error("socket-client: nothing finished within 10 s");
  process.exit(1);
}, 10_000);

const mod = await import(pathToFileURL(process.argv[2]).href);
const got = [];
const frames = [
  '{"event":"pong","reqid":7}',
  '{"event":"heartbeat"}',
  '{"event":"systemStatus","status":"online","version":"1.9.0","connectionID":1}',
  '{"event":"nope"}',
  "not json",
];
const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
await new Promise((resolve) => server.once("listening", resolve));
server.on("connection", (socket) => {
  socket.on("message", (data) => {
    got.push(String(data));
    for (const frame of frames) socket.send(frame);
    socket.close(1000, "done");
  });
});

const config = { baseUrl: `http://127.0.0.1:${server.address().port}`, webSocket: (url, headers) => new WebSocket(url, { headers }) };
const connection = mod.socket.connect(config);
connection.send({ event: "ping", reqid: 7 });
const items = [];
for await (const item of connection) {
  items.push(item.kind === "message" ? { kind: item.kind, event: item.message.event } : { kind: item.kind, ...(item.kind === "closed" ? { code: item.code } : {}) });
}
server.close();
clearTimeout(watchdog);
const expected = [
  { kind: "message", event: "pong" },
  { kind: "message", event: "heartbeat" },
  { kind: "message", event: "systemStatus" },
  { kind: "unknown" },
  { kind: "malformed" },
  { kind: "closed", code: 1000 },
];
const ok = JSON.stringify(items) === JSON.stringify(expected) && JSON.stringify(got) === JSON.stringify(['{"event":"ping","reqid":7}']);
console.log(JSON.stringify({ ok, items, got }));
process.exit(ok ? 0 : 1);
