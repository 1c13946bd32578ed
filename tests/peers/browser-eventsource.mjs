#!/usr/bin/env node
// A real browser's EventSource as a peer for wiregen's tests: Debian's Chromium, headless,
// driven by playwright-core.
//
// Usage: node tests/peers/browser-eventsource.mjs URL COUNT [TIMEOUT_MS] [options]
//   --events a,b,c    also listen for these event names (`message` is always listened for)
//   --page PAGE_URL   open this page and create the EventSource there (the server must then
//                     allow the page's origin: same origin, or CORS)
//   --open-lines      also print {"open":true} each time the connection opens
//
// By default no request reaches the server before the stream: the script answers the
// navigation to `<origin of URL>/__wiregen_peer` itself with an empty HTML page, so the page
// is same-origin with URL and `new EventSource(URL)` needs no CORS.
//
// Prints one JSON line per event on stdout, in arrival order:
//   {"type": event.type, "data": event.data, "lastEventId": event.lastEventId}
// and exits 0 after COUNT events. Exits 1 on timeout (TIMEOUT_MS, default 15000) or when the
// browser gives up on the stream (readyState CLOSED: an HTTP error or a wrong content type),
// 2 on a usage error. The browser's own reconnects are reported on stderr.

import { launchChromium } from './chromium.mjs';

function usage(message) {
  if (message) console.error(`browser-eventsource: ${message}`);
  console.error('usage: browser-eventsource.mjs URL COUNT [TIMEOUT_MS] [--events a,b] [--page PAGE_URL] [--open-lines]');
  process.exit(2);
}

const positional = [];
let events = [];
let pageUrl;
let openLines = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  const value = () => {
    if (i + 1 >= argv.length) usage(`${arg} needs a value`);
    return argv[++i];
  };
  if (arg === '--events') events = value().split(',').filter(Boolean);
  else if (arg === '--page') pageUrl = value();
  else if (arg === '--open-lines') openLines = true;
  else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
  else positional.push(arg);
}
const [url, countText, timeoutText = '15000'] = positional;
const count = Number(countText);
const timeoutMs = Number(timeoutText);
if (!url || positional.length > 3 || !Number.isInteger(count) || count < 1 || !(timeoutMs > 0)) usage();
let streamUrl;
try {
  streamUrl = new URL(url);
} catch {
  usage(`not a URL: ${url}`);
}

let browser;
let received = 0;
let settled = false;

async function finish(code, message) {
  if (settled) return;
  settled = true;
  clearTimeout(timer);
  if (message) console.error(`browser-eventsource: ${message}`);
  await browser?.close();
  process.stdout.write('', () => process.exit(code));
}

const timer = setTimeout(
  () => finish(1, `timed out after ${timeoutMs} ms with ${received} of ${count} events`),
  timeoutMs,
);

try {
  browser = await launchChromium();
  const { page } = browser;

  await page.exposeFunction('__wiregenEvent', (event) => {
    if (settled) return;
    received += 1;
    process.stdout.write(`${JSON.stringify(event)}\n`);
    if (received >= count) finish(0);
  });
  await page.exposeFunction('__wiregenOpen', () => {
    if (openLines && !settled) process.stdout.write(`${JSON.stringify({ open: true })}\n`);
  });
  await page.exposeFunction('__wiregenError', (readyState) => {
    if (readyState === 2) finish(1, 'the browser gave up on the stream (readyState CLOSED)');
    else console.error('browser-eventsource: connection lost, the browser reconnects');
  });

  if (pageUrl) {
    await page.goto(pageUrl, { timeout: timeoutMs });
  } else {
    const blank = `${streamUrl.origin}/__wiregen_peer`;
    await page.route(blank, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>wiregen peer</title>' }),
    );
    await page.goto(blank, { timeout: timeoutMs });
    await page.unrouteAll();
  }

  await page.evaluate(
    ({ url, names }) => {
      const es = new EventSource(url);
      window.__wiregenSource = es;
      const forward = (event) =>
        window.__wiregenEvent({ type: event.type, data: event.data, lastEventId: event.lastEventId });
      for (const name of new Set(['message', ...names])) es.addEventListener(name, forward);
      es.addEventListener('open', () => window.__wiregenOpen());
      es.addEventListener('error', () => window.__wiregenError(es.readyState));
    },
    { url: streamUrl.href, names: events },
  );
} catch (error) {
  await finish(1, error.message);
}
