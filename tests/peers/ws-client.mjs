#!/usr/bin/env node
// Node's `ws` package as a WebSocket client peer for wiregen's tests.
//
// Usage: node tests/peers/ws-client.mjs URL COUNT [TIMEOUT_MS] [--send TEXT]... [--send-binary HEX]...
//
// Connects to URL, sends every --send as a text frame and every --send-binary as a binary frame
// (in the order given) once open, and prints one JSON line per frame received:
//   {"type": "text", "data": "..."} or {"type": "binary", "hex": "..."}
// After COUNT frames it closes with 1000 and waits for the server's Close. When the server
// closes first it prints {"type": "close", "code": N, "reason": "..."} and exits. Exits 0 when
// COUNT frames came or the server closed, 1 on a timeout (TIMEOUT_MS, default 15000) or an
// error, 2 on a usage error.

import WebSocket from 'ws';

function usage(message) {
  if (message) console.error(`ws-client: ${message}`);
  console.error('usage: ws-client.mjs URL COUNT [TIMEOUT_MS] [--send TEXT]... [--send-binary HEX]...');
  process.exit(2);
}

const positional = [];
const frames = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg === '--send' || arg === '--send-binary') {
    if (i + 1 >= argv.length) usage(`${arg} needs a value`);
    const value = argv[++i];
    frames.push(arg === '--send' ? { text: value } : { binary: Buffer.from(value, 'hex') });
  } else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
  else positional.push(arg);
}
const [url, countText, timeoutText = '15000'] = positional;
const count = Number(countText);
const timeoutMs = Number(timeoutText);
if (!url || positional.length > 3 || !Number.isInteger(count) || count < 0 || !(timeoutMs > 0)) usage();

const timer = setTimeout(() => {
  console.error(`ws-client: timed out after ${timeoutMs} ms`);
  process.exit(1);
}, timeoutMs);

let received = 0;
let closing = false;
const socket = new WebSocket(url);
socket.on('open', () => {
  for (const frame of frames) {
    if (frame.text !== undefined) socket.send(frame.text);
    else socket.send(frame.binary, { binary: true });
  }
  if (count === 0) {
    closing = true;
    socket.close(1000);
  }
});
socket.on('message', (data, isBinary) => {
  if (closing) return;
  const line = isBinary
    ? { type: 'binary', hex: Buffer.from(data).toString('hex') }
    : { type: 'text', data: data.toString('utf8') };
  console.log(JSON.stringify(line));
  received += 1;
  if (received >= count) {
    closing = true;
    socket.close(1000);
  }
});
socket.on('close', (code, reason) => {
  clearTimeout(timer);
  if (!closing) console.log(JSON.stringify({ type: 'close', code, reason: reason.toString('utf8') }));
  process.exit(0);
});
socket.on('error', (error) => {
  console.error(`ws-client: ${error.message}`);
  clearTimeout(timer);
  process.exit(1);
});
