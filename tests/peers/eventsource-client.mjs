#!/usr/bin/env node
// A third-party SSE client for wiregen's tests: the npm `eventsource` package (WHATWG
// EventSource on top of Node's fetch), pointed at a server under test.
//
// Usage: node tests/peers/eventsource-client.mjs URL COUNT [TIMEOUT_MS] [options]
//   --events a,b,c        also listen for these event names (`message` is always listened for;
//                         EventSource delivers a named event only to listeners of that name)
//   --last-event-id ID    send `Last-Event-ID: ID` on the first request
//   --reconnect-after N   after N events, close and open a new EventSource that sends the last
//                         lastEventId seen as `Last-Event-ID` (a resume driven by the client)
//   --header 'Name: value'  send this header on every request (repeatable)
//   --open-lines          also print {"open":true} each time a connection opens
//
// Prints one JSON line per event on stdout, in arrival order:
//   {"type": event.type, "data": event.data, "lastEventId": event.lastEventId}
// and exits 0 after COUNT events. Exits 1 on timeout (TIMEOUT_MS, default 10000) or when the
// EventSource gives up (readyState CLOSED: an HTTP error status or a wrong content type), and 2 on
// a usage error. Reconnects after the server ends a response happen as the package does them
// (sending Last-Event-ID); they are reported on stderr.

import { EventSource } from 'eventsource';

function usage(message) {
  if (message) console.error(`eventsource-client: ${message}`);
  console.error('usage: eventsource-client.mjs URL COUNT [TIMEOUT_MS] [--events a,b] [--last-event-id ID]');
  console.error('       [--reconnect-after N] [--header "Name: value"]... [--open-lines]');
  process.exit(2);
}

const positional = [];
const options = { events: [], headers: {}, lastEventId: undefined, reconnectAfter: 0, openLines: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  const value = () => {
    if (i + 1 >= argv.length) usage(`${arg} needs a value`);
    return argv[++i];
  };
  if (arg === '--events') options.events = value().split(',').filter(Boolean);
  else if (arg === '--last-event-id') options.lastEventId = value();
  else if (arg === '--reconnect-after') options.reconnectAfter = Number(value());
  else if (arg === '--header') {
    const header = value();
    const colon = header.indexOf(':');
    if (colon < 1) usage(`--header wants 'Name: value', got ${JSON.stringify(header)}`);
    options.headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  } else if (arg === '--open-lines') options.openLines = true;
  else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
  else positional.push(arg);
}
const [url, countText, timeoutText = '10000'] = positional;
const count = Number(countText);
const timeoutMs = Number(timeoutText);
if (!url || positional.length > 3 || !Number.isInteger(count) || count < 1 || !(timeoutMs > 0)) usage();

let received = 0;
let source;

const timer = setTimeout(() => {
  console.error(`eventsource-client: timed out after ${timeoutMs} ms with ${received} of ${count} events`);
  finish(1);
}, timeoutMs);

function finish(code) {
  clearTimeout(timer);
  source?.close();
  // Let stdout drain before exiting.
  process.stdout.write('', () => process.exit(code));
}

function connect(lastEventId) {
  const extra = { ...options.headers };
  if (lastEventId !== undefined) extra['Last-Event-ID'] = lastEventId;
  const es = new EventSource(url, {
    // The package sends its own Last-Event-ID on reconnects; ours only rides on the first request.
    fetch: (input, init) => {
      const headers = { ...extra, ...init.headers };
      delete extra['Last-Event-ID'];
      return fetch(input, { ...init, headers });
    },
  });
  let lastSeen = lastEventId ?? '';
  const onEvent = (event) => {
    if (es !== source) return;
    received += 1;
    lastSeen = event.lastEventId;
    process.stdout.write(
      `${JSON.stringify({ type: event.type, data: event.data, lastEventId: event.lastEventId })}\n`,
    );
    if (received >= count) finish(0);
    else if (options.reconnectAfter > 0 && received === options.reconnectAfter) {
      console.error(`eventsource-client: reconnecting after ${received} events, Last-Event-ID ${lastSeen}`);
      es.close();
      source = connect(lastSeen);
    }
  };
  for (const name of new Set(['message', ...options.events])) es.addEventListener(name, onEvent);
  es.addEventListener('open', () => {
    if (options.openLines && es === source) process.stdout.write(`${JSON.stringify({ open: true })}\n`);
  });
  es.addEventListener('error', (event) => {
    if (es !== source) return;
    const detail = [event.code && `status ${event.code}`, event.message].filter(Boolean).join(': ');
    if (es.readyState === EventSource.CLOSED) {
      console.error(`eventsource-client: the EventSource gave up${detail ? ` (${detail})` : ''}`);
      finish(1);
    } else {
      console.error(`eventsource-client: connection lost, reconnecting${detail ? ` (${detail})` : ''}`);
    }
  });
  return es;
}

source = connect(options.lastEventId);
