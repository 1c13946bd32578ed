#!/usr/bin/env node
// The Node/Express server of the SSE fan-out bench (bench/src/main.rs): the pet store
// notifications stream written the usual Express way, each event encoded once into a string and
// written to every subscriber's response.
//
// Usage: node bench/express-fanout.mjs [--window W] [--lifetime SECONDS]
//
// Uses the `express` that scripts/install-peers puts in tests/peers/node_modules. Listens on
// 127.0.0.1 on a port the kernel picks and prints `port N`; then follows the control lines on
// stdin described in bench/src/servers.rs (`go RATE COUNT`, `ack N`, `stop`). Exits at the end of
// stdin or of its lifetime (default 300 s). Node's HTTP server sets TCP_NODELAY by default.

import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(new URL('../tests/peers/package.json', import.meta.url));
const express = require('express');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const window = option('--window', 512);
const lifetimeSeconds = option('--lifetime', 300);

const subscribers = new Set();
const app = express();
app.get('/v1/pets/notifications', (req, res) => {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.flushHeaders();
  subscribers.add(res);
  res.on('close', () => subscribers.delete(res));
});

// Realtime clock with microseconds, as RFC 3339 with nine fraction digits (like chrono's).
function placedAt() {
  const now = performance.timeOrigin + performance.now();
  const millis = Math.floor(now);
  const nanos = Math.floor((now - millis) * 1e6);
  const iso = new Date(millis).toISOString(); // 2026-11-24T10:00:00.123Z
  return `${iso.slice(0, -1)}${String(nanos).padStart(6, '0')}+00:00`;
}

function publish(seq) {
  const data = JSON.stringify({
    orderId: seq,
    petId: 7,
    userId: 'u-1001',
    total: 149.5,
    placedAt: placedAt(),
  });
  const frame = `event: order-placed\nid: ${seq}\ndata: ${data}\n\n`;
  for (const res of subscribers) res.write(frame);
}

let seq = 0;
let acked = 0;
let mode = null; // { rate, count, since, first }
let scheduled = false;

function pump() {
  scheduled = false;
  if (!mode) return;
  let target = acked + window;
  if (mode.count > 0) target = Math.min(target, mode.count);
  if (mode.rate > 0) {
    const due = Math.floor((mode.rate * (performance.now() - mode.since)) / 1000);
    target = Math.min(target, mode.first + due);
  }
  const end = Math.min(target, seq + 64);
  while (seq < end) publish(seq++);
  if (seq < target) schedule(); // more now, after the sockets had a turn
}

function schedule() {
  if (!scheduled) {
    scheduled = true;
    setImmediate(pump);
  }
}

// Paced publishing checks the clock every millisecond.
setInterval(() => {
  if (mode && mode.rate > 0) schedule();
}, 1);

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, a, b] = line.trim().split(/\s+/);
  if (command === 'ack') {
    acked = Math.max(acked, Number(a));
    schedule();
  } else if (command === 'go') {
    mode = { rate: Number(a) || 0, count: Number(b) || 0, since: performance.now(), first: seq };
    schedule();
  } else if (command === 'stop') {
    mode = null;
  }
}).on('close', () => process.exit(0));

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${server.address().port}\n`);
});
server.on('error', (err) => {
  console.error(`express-fanout: ${err.message}`);
  process.exit(1);
});
setTimeout(() => {
  console.error(`express-fanout: lifetime of ${lifetimeSeconds} s is over, exiting`);
  process.exit(0);
}, lifetimeSeconds * 1000).unref();
