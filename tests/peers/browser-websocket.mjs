#!/usr/bin/env node
// A real browser's WebSocket as a peer for wiregen's tests: Debian's Chromium, headless,
// driven by playwright-core (see chromium.mjs).
//
// Usage: node tests/peers/browser-websocket.mjs URL COUNT [TIMEOUT_MS] [--send TEXT]...
//
// Opens `new WebSocket(URL)` in a blank page, sends every --send as a text frame once open, and
// prints one JSON line per frame received:
//   {"type": "text", "data": "..."} or {"type": "binary", "size": N}
// After COUNT frames the page closes the socket with 1000 and waits for the close event, then
// prints {"type": "closed", "code": N, "wasClean": bool}. When the server closes first it prints
// {"type": "close", "code": N, "reason": "...", "wasClean": bool}. Exits 0 when COUNT frames came
// or the server closed, 1 on a timeout (TIMEOUT_MS, default 15000) or an error, 2 on a usage
// error.

import { launchChromium } from './chromium.mjs';

function usage(message) {
  if (message) console.error(`browser-websocket: ${message}`);
  console.error('usage: browser-websocket.mjs URL COUNT [TIMEOUT_MS] [--send TEXT]...');
  process.exit(2);
}

const positional = [];
const sends = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg === '--send') {
    if (i + 1 >= argv.length) usage('--send needs a value');
    sends.push(argv[++i]);
  } else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
  else positional.push(arg);
}
const [url, countText, timeoutText = '15000'] = positional;
const count = Number(countText);
const timeoutMs = Number(timeoutText);
if (!url || positional.length > 3 || !Number.isInteger(count) || count < 1 || !(timeoutMs > 0)) usage();

let browser;
const timer = setTimeout(async () => {
  console.error(`browser-websocket: timed out after ${timeoutMs} ms`);
  await browser?.close();
  process.exit(1);
}, timeoutMs);

try {
  browser = await launchChromium();
  await browser.page.exposeFunction('wiregenLine', (line) => console.log(line));
  await browser.page.evaluate(
    ({ url, count, sends }) =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(url);
        let received = 0;
        let closing = false;
        socket.onopen = () => {
          for (const text of sends) socket.send(text);
        };
        socket.onmessage = async (event) => {
          if (closing) return;
          const line =
            typeof event.data === 'string'
              ? { type: 'text', data: event.data }
              : { type: 'binary', size: event.data.size };
          await window.wiregenLine(JSON.stringify(line));
          received += 1;
          if (received >= count) {
            closing = true;
            socket.close(1000);
          }
        };
        socket.onclose = async (event) => {
          const type = closing ? 'closed' : 'close';
          await window.wiregenLine(
            JSON.stringify({ type, code: event.code, reason: event.reason, wasClean: event.wasClean }),
          );
          resolve();
        };
        // A failed connection also fires `close` (code 1006), which settles the promise.
        socket.onerror = () => console.error('the WebSocket reported an error');
        void reject;
      }),
    { url, count, sends },
  );
  clearTimeout(timer);
  await browser.close();
  process.exit(0);
} catch (error) {
  console.error(`browser-websocket: ${error.message}`);
  clearTimeout(timer);
  await browser?.close();
  process.exit(1);
}
