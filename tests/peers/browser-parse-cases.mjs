#!/usr/bin/env node
// Checks the SSE parser case table against a real browser: every case of
// runtime/tests/sse_cases.json is sent by a raw HTTP server of this script, chunk by chunk,
// to an EventSource in Debian's Chromium, and what the browser does must be what the table
// expects. The browser is the judge.
//
// Usage: node tests/peers/browser-parse-cases.mjs [CASES_JSON] [--only NAME]...
//   CASES_JSON defaults to runtime/tests/sse_cases.json of this repository.
//
// The table: {"cases": [...]} (or a bare array of cases), each
//   {"name": "...", "chunks": ["text" | [byte, ...], ...],
//    "expected": [{"event": "message", "data": "...", "id": "..."}, ...],
//    "expected_retry": 1500,             (optional: the reconnection time the stream sets)
//    "expected_last_event_id": "7",      (optional: the last event ID when the stream ends)
//    "chromium_expected": [...]}         (optional: what Chromium dispatches where it knowingly
//                                         differs from the standard; compared instead of
//                                         `expected`, and reported as a known difference)
//
// 1. Events. Each case is served once: `HTTP/1.1 200`, `Content-Type: text/event-stream`,
//    `Cache-Control: no-cache`, then each chunk as its own write 25 ms apart, then the close.
//    The page records every event until the first `error` (the close) and closes the
//    EventSource so it does not reconnect. Each expected event is compared with the browser's
//    {type, data, lastEventId}: `event` (absent or null: "message") with type, `data` with data,
//    `id` (absent or null: "") with lastEventId.
// 2. Reconnects. A case with `expected_retry`, `expected_last_event_id` or a `retry` line in its
//    chunks is served again, and this time the browser may reconnect once (it is answered 204
//    and stops). The delay between the close and the new request must be `expected_retry`, or
//    Chromium's default of 3000 ms when there is none, within [-50 ms, +1500 ms]; the
//    `Last-Event-ID` header it sends must be `expected_last_event_id` (absent when that is "").
//    These runs go five at a time.
//
// Prints one JSON line per case on stdout:
//   {"case": NAME, "ok": bool, "expected": [...], "actual": [...], "problems": [...],
//    "reconnect"?: {"delay_ms": N, "last_event_id": "..." | null}, "known_difference"?: true}
// then {"summary": {"cases": N, "passed": P, "failed": F, "failed_cases": [...],
//                   "known_differences": [...]}}.
// Exits 0 when every case matches, 1 on any mismatch or error, 2 on a usage error.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CHUNK_GAP_MS = 25;
const CHROMIUM_DEFAULT_RETRY_MS = 3000;
const RETRY_EARLY_MS = 50;
const RETRY_LATE_MS = 1500;
const RECONNECT_CHECKS_AT_ONCE = 5; // Chromium opens at most 6 HTTP/1.1 connections per host
const CASE_TIMEOUT_MS = 10_000;

function usage(message) {
  if (message) console.error(`browser-parse-cases: ${message}`);
  console.error('usage: browser-parse-cases.mjs [CASES_JSON] [--only NAME]...');
  process.exit(2);
}

let casesPath = resolve(here, '../../runtime/tests/sse_cases.json');
const only = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg === '--only' && i + 1 < argv.length) only.push(argv[++i]);
  else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
  else casesPath = resolve(arg);
}

// ---- the table ---------------------------------------------------------------------------

function loadCases(path) {
  let table;
  try {
    table = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the case table ${path}: ${error.message}`);
  }
  const cases = Array.isArray(table) ? table : table?.cases;
  if (!Array.isArray(cases)) throw new Error(`${path}: expected {"cases": [...]} or an array of cases`);
  const names = new Set();
  return cases.map((c, index) => {
    const where = `${path}: case ${index}${c?.name ? ` (${c.name})` : ''}`;
    if (typeof c?.name !== 'string') throw new Error(`${where}: "name" must be a string`);
    if (names.has(c.name)) throw new Error(`${where}: the name is used twice`);
    names.add(c.name);
    if (!Array.isArray(c.chunks)) throw new Error(`${where}: "chunks" must be an array`);
    const chunks = c.chunks.map((chunk, k) => {
      if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
      if (Array.isArray(chunk) && chunk.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
        return Buffer.from(chunk);
      }
      throw new Error(`${where}: chunk ${k} must be a string or an array of bytes`);
    });
    const events = (list, field) => {
      if (!Array.isArray(list)) throw new Error(`${where}: "${field}" must be an array`);
      return list.map((e, k) => {
        if (typeof e?.data !== 'string') throw new Error(`${where}: ${field}[${k}].data must be a string`);
        return { type: e.event ?? 'message', data: e.data, lastEventId: e.id ?? '' };
      });
    };
    const retry = c.expected_retry ?? null;
    if (retry !== null && !(Number.isInteger(retry) && retry >= 0)) {
      throw new Error(`${where}: "expected_retry" must be a non-negative integer`);
    }
    const lastEventId = c.expected_last_event_id ?? null;
    if (lastEventId !== null && typeof lastEventId !== 'string') {
      throw new Error(`${where}: "expected_last_event_id" must be a string`);
    }
    const hasRetryLine = Buffer.concat(chunks)
      .toString('utf8')
      .split(/\r\n|\r|\n/)
      .some((line) => line.replace(/^\ufeff/, '').startsWith('retry'));
    return {
      index,
      name: c.name,
      chunks,
      expected: events(c.expected, 'expected'),
      chromiumExpected: c.chromium_expected === undefined ? null : events(c.chromium_expected, 'chromium_expected'),
      expectedRetry: retry,
      expectedLastEventId: lastEventId,
      checkReconnect: retry !== null || lastEventId !== null || hasRetryLine,
    };
  });
}

// Every `event:` value in a case's text: EventSource hands a named event only to listeners of
// that name, so the page listens for all of them (and `message`).
function eventNamesIn(c) {
  return Buffer.concat(c.chunks)
    .toString('utf8')
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/^\ufeff/, ''))
    .filter((line) => line.startsWith('event:'))
    .map((line) => line.slice(6).replace(/^ /, ''));
}

// ---- the raw HTTP server -----------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// For each run (`<case index>-<run>`): the requests seen ({at, lastEventId}) and when the
// first response was closed.
const runs = new Map();

function startServer(cases) {
  const byIndex = new Map(cases.map((c) => [c.index, c]));
  const server = createServer((socket) => {
    let head = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', function onData(data) {
      head = Buffer.concat([head, data]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const [, path = '/'] = lines[0].split(' ');
      const header = (name) => {
        const line = lines.slice(1).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
        return line === undefined ? null : line.slice(name.length + 1).trim();
      };
      respond(socket, path, header, byIndex);
    });
  });
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen(server));
  });
}

async function respond(socket, path, header, byIndex) {
  const send = (status, type, body) =>
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  if (path === '/favicon.ico') return send('204 No Content', 'text/plain', '');
  if (path === '/') return send('200 OK', 'text/html; charset=utf-8', '<!doctype html><title>sse cases</title>');
  const match = /^\/case\/(\d+)\?run=(\w+)$/.exec(path);
  const c = match && byIndex.get(Number(match[1]));
  if (!c) return send('404 Not Found', 'text/plain', 'no such case');

  const key = `${match[1]}-${match[2]}`;
  const run = runs.get(key) ?? { requests: [], endedAt: null };
  runs.set(key, run);
  run.requests.push({ at: performance.now(), lastEventId: header('Last-Event-ID') });
  // A reconnect gets 204 No Content: the browser stops for good.
  if (run.requests.length > 1) return send('204 No Content', 'text/plain', '');

  socket.setNoDelay(true);
  socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n');
  for (const chunk of c.chunks) {
    await sleep(CHUNK_GAP_MS);
    if (socket.destroyed) return;
    socket.write(chunk);
  }
  await sleep(CHUNK_GAP_MS);
  run.endedAt = performance.now();
  socket.end();
}

// ---- the browser side --------------------------------------------------------------------

// Runs in the page: records events until the first error, then closes; with allowReconnect,
// until the browser gives up after the 204 of its reconnect.
function collectInPage({ path, names, allowReconnect, timeoutMs }) {
  return new Promise((resolveRun) => {
    const events = [];
    const es = new EventSource(path);
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    function done(outcome) {
      clearTimeout(timer);
      es.close();
      resolveRun({ events, outcome });
    }
    const record = (event) => events.push({ type: event.type, data: event.data, lastEventId: event.lastEventId });
    for (const name of names) es.addEventListener(name, record);
    es.addEventListener('error', () => {
      if (!allowReconnect) done('closed');
      else if (es.readyState === EventSource.CLOSED) done('gave-up');
    });
  });
}

function compareEvents(expected, actual) {
  const problems = [];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const e = expected[i];
    const a = actual[i];
    if (!e) problems.push(`event ${i}: the browser dispatched an extra event ${JSON.stringify(a)}`);
    else if (!a) problems.push(`event ${i}: the browser did not dispatch ${JSON.stringify(e)}`);
    else {
      for (const field of ['type', 'data', 'lastEventId']) {
        if (e[field] !== a[field]) {
          problems.push(
            `event ${i}: ${field} is ${JSON.stringify(a[field])} in the browser, ${JSON.stringify(e[field])} in the table`,
          );
        }
      }
    }
  }
  return problems;
}

async function checkReconnect(page, c, names) {
  const retry = c.expectedRetry ?? CHROMIUM_DEFAULT_RETRY_MS;
  const run = await page.evaluate(collectInPage, {
    path: `/case/${c.index}?run=reconnect`,
    names,
    allowReconnect: true,
    timeoutMs: retry + RETRY_LATE_MS + CASE_TIMEOUT_MS,
  });
  const seen = runs.get(`${c.index}-reconnect`);
  if (run.outcome !== 'gave-up' || !seen || seen.requests.length < 2 || seen.endedAt === null) {
    return { problems: [`reconnect: the browser did not reconnect (${run.outcome})`] };
  }
  const reconnect = {
    delay_ms: Math.round(seen.requests[1].at - seen.endedAt),
    last_event_id: seen.requests[1].lastEventId,
  };
  const problems = [];
  if (reconnect.delay_ms < retry - RETRY_EARLY_MS || reconnect.delay_ms > retry + RETRY_LATE_MS) {
    const want = c.expectedRetry === null ? `no retry (Chromium's default ${retry} ms)` : `retry ${retry}`;
    problems.push(`reconnect: the browser waited ${reconnect.delay_ms} ms, the table expects ${want}`);
  }
  if (c.expectedLastEventId !== null) {
    const want = c.expectedLastEventId === '' ? null : c.expectedLastEventId;
    if (reconnect.last_event_id !== want) {
      problems.push(
        `reconnect: the browser sent Last-Event-ID ${JSON.stringify(reconnect.last_event_id)}, the table expects ` +
          `${JSON.stringify(c.expectedLastEventId)}${want === null ? ' (no header)' : ''}`,
      );
    }
  }
  return { reconnect, problems };
}

async function main() {
  const cases = loadCases(casesPath).filter((c) => only.length === 0 || only.includes(c.name));
  if (cases.length === 0) throw new Error(`no cases to run in ${casesPath}`);
  const server = await startServer(cases);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await launchChromium();
  const results = new Map();
  try {
    const { page } = browser;
    await page.goto(`${origin}/`, { timeout: 30_000 });
    const names = [...new Set(['message', ...cases.flatMap((c) => [
      ...c.expected.map((e) => e.type),
      ...(c.chromiumExpected ?? []).map((e) => e.type),
      ...eventNamesIn(c),
    ])])];

    // 1. Events, one case at a time.
    for (const c of cases) {
      const run = await page.evaluate(collectInPage, {
        path: `/case/${c.index}?run=events`,
        names,
        allowReconnect: false,
        timeoutMs: CASE_TIMEOUT_MS,
      });
      const expected = c.chromiumExpected ?? c.expected;
      const problems = run.outcome === 'timeout' ? [`no error (close) event within ${CASE_TIMEOUT_MS} ms`] : [];
      problems.push(...compareEvents(expected, run.events));
      const result = { case: c.name, ok: false, expected, actual: run.events, problems };
      if (c.chromiumExpected) {
        result.known_difference = true;
        result.standard_expected = c.expected;
      }
      results.set(c.index, result);
    }

    // 2. Reconnects, a few at a time (they mostly wait for the browser's timer).
    const pending = cases.filter((c) => c.checkReconnect);
    const worker = async () => {
      for (let c = pending.shift(); c; c = pending.shift()) {
        const { reconnect, problems } = await checkReconnect(page, c, names);
        const result = results.get(c.index);
        if (reconnect) result.reconnect = reconnect;
        result.problems.push(...problems);
      }
    };
    await Promise.all(Array.from({ length: RECONNECT_CHECKS_AT_ONCE }, worker));
  } finally {
    await browser.close();
    server.close();
  }

  for (const result of results.values()) {
    result.ok = result.problems.length === 0;
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  const all = [...results.values()];
  const failed = all.filter((r) => !r.ok).map((r) => r.case);
  const summary = {
    cases: all.length,
    passed: all.length - failed.length,
    failed: failed.length,
    failed_cases: failed,
    known_differences: all.filter((r) => r.known_difference).map((r) => r.case),
  };
  process.stdout.write(`${JSON.stringify({ summary })}\n`);
  console.error(`browser-parse-cases: ${summary.passed} passed, ${summary.failed} failed (Chromium, ${casesPath})`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (error) => {
    console.error(`browser-parse-cases: ${error.message}`);
    process.stdout.write('', () => process.exit(1));
  },
);
