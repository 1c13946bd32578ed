// Tests of wiregen's TypeScript runtime (src/emit/typescript/runtime.ts), compiled by tsc with
// the strict flags, against real servers on 127.0.0.1: node:http for calls and Server-Sent
// Events, the `ws` package of tests/peers for WebSockets, and the `eventsource` package as the
// EventSource of the EventSource variant. Run: node --test tests/ts/
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { compileRuntime } from "./compile.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const peers = createRequire(join(root, "tests", "peers", "package.json"));
const { WebSocket, WebSocketServer } = peers("ws");
const { EventSource } = await import(pathToFileURL(peers.resolve("eventsource")).href.replace(/index\.cjs$/, "index.js"));

const outDir = await mkdtemp(join(tmpdir(), "wiregen-ts-runtime-"));
after(() => rm(outDir, { recursive: true, force: true }));
const rt = await import(pathToFileURL(await compileRuntime(outDir)).href);

// ---- helpers ------------------------------------------------------------------------------

/** Waits until `condition()` is truthy, checking every 5 ms, failing after `ms`. */
async function until(condition, ms = 5000, what = String(condition)) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every item of an async iterable, failing if it does not end within `ms`. */
async function collect(iterable, ms = 5000) {
  const items = [];
  const reading = (async () => {
    for await (const item of iterable) items.push(item);
  })();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the stream did not end within ${ms} ms: ${JSON.stringify(items)}`)), ms);
  });
  try {
    await Promise.race([reading, deadline]);
  } finally {
    clearTimeout(timer);
  }
  return items;
}

/** An HTTP server on 127.0.0.1; `handler(req, res, n)` gets the 1-based request number. */
async function httpServer(t, handler) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res, requests.length);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return { base: `http://127.0.0.1:${server.address().port}`, requests };
}

function sseHead(res) {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  res.flushHeaders();
}

async function bodyOf(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return body;
}

/** A port nothing listens on. */
async function closedPort() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The decoder generated code would write for a stream of `tick` (JSON) and `note` (text). */
const decoder = {
  names: ["tick", "note"],
  sentinel: "[DONE]",
  decode(frame) {
    switch (frame.event) {
      case "tick":
        return { event: "tick", data: JSON.parse(frame.data) };
      case "note":
        return { event: "note", data: frame.data };
      default:
        return undefined;
    }
  },
};

const tick = (n, id) => ({ kind: "event", event: { event: "tick", data: { n } }, id });

// ---- (a) the parser against the case table ------------------------------------------------

const table = JSON.parse(await readFile(join(root, "runtime", "tests", "sse_cases.json"), "utf8"));
const cases = Array.isArray(table) ? table : table.cases;
const utf8 = new TextEncoder();

/** The chunks of a case as fed in one of three ways. */
function chunksOf(entry, mode) {
  const bytes = entry.chunks.map((chunk) => (typeof chunk === "string" ? utf8.encode(chunk) : new Uint8Array(chunk)));
  if (mode === "as given") return entry.chunks.map((chunk, i) => (typeof chunk === "string" ? chunk : bytes[i]));
  if (mode === "as bytes") return bytes;
  return bytes.flatMap((chunk) => [...chunk].map((byte) => new Uint8Array([byte])));
}

for (const mode of ["as given", "as bytes", "one byte at a time"]) {
  test(`SseParser: every case of sse_cases.json, chunks ${mode}`, () => {
    assert.ok(cases.length >= 60, "the case table is there");
    for (const entry of cases) {
      const frames = [];
      let retry;
      const parser = new rt.SseParser((frame) => frames.push(frame), (ms) => (retry = ms));
      for (const chunk of chunksOf(entry, mode)) parser.push(chunk);
      parser.end();
      const expected = entry.expected.map((e) => ({ event: e.event ?? "message", data: e.data, id: e.id ?? "" }));
      assert.deepEqual(frames, expected, `${entry.name}: frames`);
      assert.equal(retry, entry.expected_retry, `${entry.name}: retry`);
      if ("expected_last_event_id" in entry) {
        assert.equal(parser.lastEventId, entry.expected_last_event_id ?? "", `${entry.name}: last event id`);
      }
    }
  });
}

test("SseParser: a new stream after end() strips its BOM, keeps the last id, drops the cut event", () => {
  const frames = [];
  const parser = new rt.SseParser((frame) => frames.push(frame), undefined, { lastEventId: "5" });
  parser.push(utf8.encode("\uFEFFdata: a\n\ndata: cut"));
  parser.end();
  parser.push(utf8.encode("\uFEFFdata: b\n\n"));
  assert.deepEqual(frames, [
    { event: "message", data: "a", id: "5" },
    { event: "message", data: "b", id: "5" },
  ]);
});

test("SseParser: an event over maxEventSize is dropped, its id still applies", () => {
  const frames = [];
  const dropped = [];
  const parser = new rt.SseParser((frame) => frames.push(frame), undefined, {
    maxEventSize: 16,
    onTooLarge: (limit) => dropped.push(limit),
  });
  parser.push("id: 1\ndata: 0123456789");
  parser.push("0123456789\ndata: more\n\ndata: ok\n\n");
  parser.push("data: a line much longer than sixteen\n\nid: 2\ndata: fine\n\n");
  assert.deepEqual(frames, [
    { event: "message", data: "ok", id: "1" },
    { event: "message", data: "fine", id: "2" },
  ]);
  assert.deepEqual(dropped, [16, 16]);
});

// ---- (b) subscribe against a real SSE server ---------------------------------------------

test("subscribe: typed events, Last-Event-ID after a cut, retry: honoured, the sentinel ends it", async (t) => {
  let cutAt = 0;
  let reconnectedAt = 0;
  const server = await httpServer(t, (req, res, n) => {
    sseHead(res);
    if (n === 1) {
      res.write("retry: 50\n\n");
      res.write('id: 1\nevent: tick\ndata: {"n":1}\n\n');
      res.write('id: 2\nevent: tick\ndata: {"n":2}\n\n', () => {
        cutAt = Date.now();
        res.socket.destroy();
      });
    } else {
      reconnectedAt = Date.now();
      res.write('event: tick\ndata: {"n":3}\n\ndata: [DONE]\n\nevent: tick\ndata: {"n":4}\n\n');
    }
  });
  const states = [];
  const sub = rt.subscribe({ baseUrl: `${server.base}/` }, rt.request("GET", "/events", []), decoder, { retryMs: 10_000 });
  sub.onState((state) => states.push(state));
  const items = await collect(sub);
  assert.deepEqual(items, [tick(1, "1"), tick(2, "2"), tick(3, "2")]);
  assert.equal(server.requests.length, 2);
  const [first, second] = server.requests;
  assert.equal(first.url, "/events");
  assert.equal(first.headers.accept, "text/event-stream");
  assert.equal(first.headers["cache-control"], "no-cache");
  assert.equal(first.headers["last-event-id"], undefined);
  assert.equal(second.headers["last-event-id"], "2");
  assert.ok(reconnectedAt - cutAt < 2000, `reconnected after ${reconnectedAt - cutAt} ms, not after retry: 50`);
  assert.deepEqual(states, ["open", "reconnecting", "open", "closed"]);
  assert.equal(sub.state, "closed");
  assert.equal(sub.lastEventId, "2");
});

test("subscribe: malformed data, unknown names and the gap event are items; the stream goes on", async (t) => {
  const server = await httpServer(t, (req, res) => {
    sseHead(res);
    res.write("event: tick\ndata: {bad json\n\n");
    res.write("event: surprise\ndata: hello\n\n");
    res.write('event: wiregen-gap\nid: 50\ndata: {"lastEventId":"41","reason":"expired"}\n\n');
    res.write("event: wiregen-gap\ndata: not json\n\n");
    res.write(": a comment\nevent: note\ndata: still here\n\n");
    res.write("data: [DONE]\n\n");
  });
  const sub = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/events", []), decoder, { lastEventId: "41" });
  const notes = [];
  sub.on("note", (event, id) => notes.push([event.data, id]));
  const items = await collect(sub);
  assert.equal(server.requests[0].headers["last-event-id"], "41");
  assert.equal(items.length, 5);
  const [malformed, unknown, gap, badGap, note] = items;
  assert.equal(malformed.kind, "malformed");
  assert.deepEqual(malformed.frame, { event: "tick", data: "{bad json", id: "41" });
  assert.ok(malformed.error instanceof rt.WiregenError);
  assert.equal(malformed.error.kind, "decode");
  assert.ok(malformed.error.cause instanceof SyntaxError);
  assert.deepEqual(unknown, { kind: "unknown", frame: { event: "surprise", data: "hello", id: "41" } });
  assert.deepEqual(gap, { kind: "gap", gap: { lastEventId: "41", reason: "expired" }, id: "50" });
  assert.deepEqual(badGap, { kind: "gap", gap: { lastEventId: null, reason: "" }, id: "50" });
  assert.deepEqual(note, { kind: "event", event: { event: "note", data: "still here" }, id: "50" });
  assert.deepEqual(notes, [["still here", "50"]]);
});

test("subscribe: 404 is a terminal status error with the body, without reconnecting", async (t) => {
  const server = await httpServer(t, (req, res) => {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("no such stream");
  });
  const sub = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/nope", []), decoder, { retryMs: 10 });
  const items = await collect(sub);
  assert.equal(items.length, 1);
  const [{ kind, error }] = items;
  assert.equal(kind, "error");
  assert.ok(error instanceof rt.WiregenError);
  assert.equal(error.kind, "status");
  assert.equal(error.status, 404);
  assert.equal(error.body, "no such stream");
  assert.equal(sub.state, "closed");
  assert.equal(server.requests.length, 1);
});

test("subscribe: 503 is retried; maxAttempts failures in a row end it", async (t) => {
  const server = await httpServer(t, (req, res, n) => {
    if (n === 1 || n >= 3) {
      res.writeHead(503);
      res.end("busy");
      return;
    }
    sseHead(res);
    res.end('id: 9\nevent: tick\ndata: {"n":1}\n\n');
  });
  const sub = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/events", []), decoder, {
    retryMs: 5,
    maxAttempts: 3,
  });
  const items = await collect(sub);
  assert.deepEqual(items[0], tick(1, "9"));
  assert.equal(items.length, 2);
  assert.equal(items[1].kind, "error");
  assert.equal(items[1].error.kind, "status");
  assert.equal(items[1].error.status, 503);
  assert.match(items[1].error.message, /gave up after 3 failed connection attempts/);
  // 503, 200 (delivered: the count starts again), then three 503s in a row.
  assert.equal(server.requests.length, 5);
  assert.equal(server.requests[4].headers["last-event-id"], "9");
});

test("subscribe: 204 closes without an error; another content type is a protocol error", async (t) => {
  const server = await httpServer(t, (req, res) => {
    if (req.url === "/gone") {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    }
  });
  const config = { baseUrl: server.base };
  assert.deepEqual(await collect(rt.subscribe(config, rt.request("GET", "/gone", []), decoder)), []);
  const items = await collect(rt.subscribe(config, rt.request("GET", "/json", []), decoder));
  assert.equal(items.length, 1);
  assert.equal(items[0].error.kind, "protocol");
  assert.equal(server.requests.length, 2);
});

test("subscribe: a POST stream sends its body and headers, and does not reconnect by default", async (t) => {
  let seen;
  const server = await httpServer(t, async (req, res) => {
    seen = { body: await bodyOf(req), type: req.headers["content-type"], auth: req.headers.authorization, x: req.headers["x-extra"] };
    sseHead(res);
    res.end('event: tick\ndata: {"n":1}\n\n');
  });
  const parts = rt.request("POST", "/complete", [{ kind: "bearer" }]);
  rt.jsonBody(parts, { prompt: "hi" });
  const config = { baseUrl: server.base, auth: { bearer: "tok" } };
  const items = await collect(rt.subscribe(config, parts, decoder, { headers: { "X-Extra": "1" }, retryMs: 5 }));
  assert.deepEqual(items, [tick(1, "")]);
  assert.deepEqual(seen, { body: '{"prompt":"hi"}', type: "application/json", auth: "Bearer tok", x: "1" });
  assert.equal(server.requests.length, 1);
});

test("subscribe: close() is idempotent, ends the iterator and the connection; break closes too", async (t) => {
  const closed = [];
  const server = await httpServer(t, (req, res, n) => {
    req.on("close", () => closed.push(n));
    sseHead(res);
    res.write('event: tick\ndata: {"n":1}\n\n');
  });
  const sub = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/events", []), decoder);
  const items = [];
  for await (const item of sub) {
    items.push(item);
    sub.close();
    sub.close();
  }
  assert.deepEqual(items, [tick(1, "")]);
  assert.equal(sub.state, "closed");
  await until(() => closed.includes(1), 5000, "the server saw the first stream closed");

  const again = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/events", []), decoder);
  for await (const item of again) {
    assert.deepEqual(item, tick(1, ""));
    break;
  }
  assert.equal(again.state, "closed");
  await until(() => closed.includes(2), 5000, "the server saw the second stream closed");
});

test("subscribe: an aborted signal closes it", async (t) => {
  const server = await httpServer(t, (req, res) => {
    sseHead(res);
    res.write('event: tick\ndata: {"n":1}\n\n');
  });
  const controller = new AbortController();
  const sub = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/events", []), decoder, { signal: controller.signal });
  sub.onItem(() => controller.abort());
  await until(() => sub.state === "closed");
});

test("subscribe: a slow iterator pauses reading and loses nothing (bufferSize 2)", async (t) => {
  const count = 300;
  const server = await httpServer(t, (req, res) => {
    sseHead(res);
    let text = "";
    for (let i = 1; i <= count; i++) text += `id: ${i}\nevent: tick\ndata: {"n":${i}}\n\n`;
    res.end(`${text}data: [DONE]\n\n`);
  });
  const sub = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/events", []), decoder, { bufferSize: 2 });
  const seen = [];
  for await (const item of sub) {
    seen.push(item.event.data.n);
    if (seen.length % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i + 1));
});

test("subscribe: a silent connection is replaced after idleTimeoutMs", async (t) => {
  const server = await httpServer(t, (req, res, n) => {
    sseHead(res);
    res.write(n === 1 ? 'id: 1\nevent: tick\ndata: {"n":1}\n\n' : "data: [DONE]\n\n");
  });
  const sub = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/events", []), decoder, {
    idleTimeoutMs: 100,
    retryMs: 5,
  });
  assert.deepEqual(await collect(sub), [tick(1, "1")]);
  assert.equal(server.requests.length, 2);
  assert.equal(server.requests[1].headers["last-event-id"], "1");
});

test("subscribe: a listener that throws does not stop the stream", async (t) => {
  const server = await httpServer(t, (req, res) => {
    sseHead(res);
    res.end('event: tick\ndata: {"n":1}\n\nevent: tick\ndata: {"n":2}\n\ndata: [DONE]\n\n');
  });
  const reported = [];
  const original = console.error;
  console.error = (error) => reported.push(error);
  t.after(() => (console.error = original));
  const sub = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/events", []), decoder);
  const heard = [];
  sub.on("tick", () => {
    throw new Error("listener bug");
  });
  sub.on("tick", (event) => heard.push(event.data.n));
  sub.onState(async () => {
    throw new Error("async listener bug");
  });
  const items = await collect(sub);
  assert.deepEqual(items, [tick(1, ""), tick(2, "")]);
  assert.deepEqual(heard, [1, 2]);
  await until(() => reported.length === 4, 1000, "every listener error reported");
  assert.deepEqual(reported.map((e) => e.message).sort(), ["async listener bug", "async listener bug", "listener bug", "listener bug"]);
});

test("eventSource: the same items through an EventSource (the eventsource package)", async (t) => {
  const server = await httpServer(t, (req, res) => {
    sseHead(res);
    res.write('event: wiregen-gap\nid: 7\ndata: {"lastEventId":"3","reason":"unknown"}\n\n');
    res.write('id: 8\nevent: tick\ndata: {"n":1}\n\n');
    res.write("data: surprise\n\n");
    res.write("data: [DONE]\n\n");
  });
  const parts = rt.request("GET", "/events", [{ kind: "apiKey", in: "query", name: "key" }]);
  rt.addQuery(parts, "topic", "a b");
  const config = { baseUrl: server.base, auth: { apiKeys: { key: "s3cret" } } };
  const sub = rt.eventSource(config, parts, decoder, { EventSource });
  const items = await collect(sub);
  assert.deepEqual(items, [
    { kind: "gap", gap: { lastEventId: "3", reason: "unknown" }, id: "7" },
    tick(1, "8"),
    { kind: "unknown", frame: { event: "message", data: "surprise", id: "8" } },
  ]);
  assert.equal(server.requests[0].url, "/events?topic=a%20b&key=s3cret");
  assert.equal(sub.lastEventId, "8");
  assert.equal(sub.state, "closed");

  const post = await collect(rt.eventSource(config, rt.request("POST", "/events", []), decoder, { EventSource }));
  assert.equal(post[0].error.kind, "protocol");
});

test("eventSource: a refused connection is a terminal network error", async (t) => {
  const server = await httpServer(t, (req, res) => {
    res.writeHead(404);
    res.end();
  });
  const items = await collect(rt.eventSource({ baseUrl: server.base }, rt.request("GET", "/nope", []), decoder, { EventSource }));
  assert.equal(items.length, 1);
  assert.equal(items[0].kind, "error");
  assert.equal(items[0].error.kind, "network");
  assert.equal(server.requests.length, 1);
});

test("subscribe: an event over maxEventSize is a malformed item, and the stream goes on", async (t) => {
  const server = await httpServer(t, (req, res) => {
    sseHead(res);
    res.end(`id: 1\nevent: note\ndata: ${"x".repeat(1000)}\n\nevent: note\ndata: small\n\ndata: [DONE]\n\n`);
  });
  const sub = rt.subscribe({ baseUrl: server.base }, rt.request("GET", "/events", []), decoder, { maxEventSize: 100 });
  const [dropped, note, ...rest] = await collect(sub);
  assert.equal(dropped.kind, "malformed");
  assert.equal(dropped.error.kind, "decode");
  assert.deepEqual(note, { kind: "event", event: { event: "note", data: "small" }, id: "1" });
  assert.deepEqual(rest, []);
});

// ---- (c) plain calls ------------------------------------------------------------------------

test("send/readJson: path, query, headers, body and bearer credentials reach the server", async (t) => {
  const server = await httpServer(t, async (req, res) => {
    const body = await bodyOf(req);
    res.writeHead(201, { "content-type": "application/json" });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
  });
  const config = { baseUrl: `${server.base}/`, headers: { "X-Client": "tests" }, auth: { bearer: "tok" } };
  const parts = rt.request("POST", `/pets/${rt.pathParam("a b/c")}/tags/${rt.pathParam(["x", "y,z"])}`, [
    { kind: "apiKey", in: "header", name: "X-Key" },
    { kind: "bearer" },
  ]);
  rt.addQuery(parts, "tags", ["x", "y"]);
  rt.addQuery(parts, "limit", 10);
  rt.addQuery(parts, "missing", undefined);
  rt.addHeader(parts, "X-Trace", ["a", "b"]);
  rt.addHeader(parts, "X-None", undefined);
  rt.jsonBody(parts, { name: "Rex" });
  const response = await rt.send(config, parts, { headers: { "X-Call": "1" } });
  assert.equal(response.status, 201);
  const echo = await rt.readJson(response);
  assert.equal(echo.method, "POST");
  assert.equal(echo.url, "/pets/a%20b%2Fc/tags/x,y%2Cz?tags=x&tags=y&limit=10");
  assert.equal(echo.headers.authorization, "Bearer tok");
  assert.equal(echo.headers["x-key"], undefined);
  assert.equal(echo.headers["x-client"], "tests");
  assert.equal(echo.headers["x-call"], "1");
  assert.equal(echo.headers["x-trace"], "a,b");
  assert.equal(echo.headers["x-none"], undefined);
  assert.equal(echo.headers["content-type"], "application/json");
  assert.equal(echo.body, '{"name":"Rex"}');
});

test("unexpectedStatus and readJson errors carry the status and the body", async (t) => {
  const server = await httpServer(t, (req, res) => {
    if (req.url === "/teapot") {
      res.writeHead(418, { "content-type": "text/plain" });
      res.end("short and stout");
    } else if (req.url === "/big") {
      res.writeHead(500);
      res.end("x".repeat(100_000));
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("not json");
    }
  });
  const config = { baseUrl: server.base };
  const teapot = await rt.send(config, rt.request("GET", "/teapot", []));
  await assert.rejects(rt.unexpectedStatus(teapot), (error) => {
    assert.ok(error instanceof rt.WiregenError);
    assert.equal(error.kind, "status");
    assert.equal(error.status, 418);
    assert.equal(error.body, "short and stout");
    return true;
  });
  const big = await rt.send(config, rt.request("GET", "/big", []));
  await assert.rejects(rt.unexpectedStatus(big), (error) => error.status === 500 && error.body === "x".repeat(4096));
  const bad = await rt.send(config, rt.request("GET", "/bad", []));
  await assert.rejects(rt.readJson(bad), (error) => {
    assert.equal(error.kind, "decode");
    assert.equal(error.status, 200);
    assert.equal(error.body, "not json");
    return true;
  });
  const text = await rt.send(config, rt.request("GET", "/teapot", []));
  assert.equal(await rt.readText(text), "short and stout");
  const bytes = await rt.send(config, rt.request("GET", "/teapot", []));
  assert.deepEqual(await rt.readBytes(bytes), utf8.encode("short and stout"));
});

test("addQuery: every style, as OpenAPI writes them", () => {
  const config = { baseUrl: "http://h" };
  const query = (...args) => {
    const parts = rt.request("GET", "/q", []);
    rt.addQuery(parts, ...args);
    return rt.url(config, parts).slice("http://h/q".length);
  };
  assert.equal(query("tags", ["a", "b"]), "?tags=a&tags=b");
  assert.equal(query("tags", ["a", "b,c"], "form", false), "?tags=a,b%2Cc");
  assert.equal(query("tags", ["a", "b c"], "spaceDelimited"), "?tags=a%20b+c");
  assert.equal(query("tags", ["a", "b|c"], "pipeDelimited"), "?tags=a%7Cb|c");
  assert.equal(query("tags", ["a", "b"], "pipeDelimited", true), "?tags=a&tags=b");
  assert.equal(query("tags", []), "");
  assert.equal(query("f", { color: "red", size: 3, none: undefined }, "deepObject", true), "?f%5Bcolor%5D=red&f%5Bsize%5D=3");
  assert.equal(query("f", { color: "red", size: 3 }), "?color=red&size=3");
  assert.equal(query("f", { color: "red", size: 3 }, "form", false), "?f=color,red,size,3");
  assert.equal(query("flag", true), "?flag=true");
  assert.equal(query("n", 1.5), "?n=1.5");
  assert.equal(query("s", "a&b=c d!'()*~"), "?s=a%26b%3Dc%20d%21%27%28%29%2A~");
  assert.equal(query("s", "\uD800x"), "?s=%EF%BF%BDx");
  assert.equal(query("at", new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), "?at=2024-01-02T03%3A04%3A05.000Z");
  assert.equal(query("none", null), "");
  assert.equal(rt.pathParam({ a: 1, b: "x y" }), "a,1,b,x%20y");
  assert.equal(rt.url({ baseUrl: "https://h:1/base/" }, rt.request("GET", "/ws", []), "ws"), "wss://h:1/base/ws");
});

test("security: apiKey in the query, basic, cookies, and the first scheme with credentials", async (t) => {
  const server = await httpServer(t, (req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ url: req.url, authorization: req.headers.authorization ?? null, cookie: req.headers.cookie ?? null }));
  });
  const call = async (auth, security, build = () => {}) => {
    const parts = rt.request("GET", "/s", security);
    build(parts);
    return rt.readJson(await rt.send({ baseUrl: server.base, auth }, parts));
  };
  const apiKey = { kind: "apiKey", in: "query", name: "api_key" };
  assert.deepEqual(await call({ apiKeys: { api_key: "k 1" } }, [apiKey]), { url: "/s?api_key=k%201", authorization: null, cookie: null });
  assert.deepEqual(await call({ bearer: "b" }, [apiKey, { kind: "bearer" }]), { url: "/s", authorization: "Bearer b", cookie: null });
  assert.deepEqual(await call({}, [apiKey, { kind: "bearer" }]), { url: "/s", authorization: null, cookie: null });
  assert.deepEqual(await call({ apiKeys: { constructor: "x" } }, [{ kind: "apiKey", in: "query", name: "toString" }]), {
    url: "/s",
    authorization: null,
    cookie: null,
  });
  const basic = await call({ basic: { username: "ü", password: "p:w" } }, [{ kind: "basic" }]);
  assert.equal(basic.authorization, `Basic ${Buffer.from("ü:p:w").toString("base64")}`);
  const cookies = await call({ apiKeys: { session: "s;1" } }, [{ kind: "apiKey", in: "cookie", name: "session" }], (parts) => {
    rt.addHeader(parts, "Cookie", `theme=${rt.pathParam("dark")}`);
    rt.addHeader(parts, "Cookie", `lang=${rt.pathParam("en")}`);
  });
  assert.equal(cookies.cookie, "theme=dark; lang=en; session=s%3B1");
});

test("send: timeout (head and body), abort and network failures are typed errors", async (t) => {
  const server = await httpServer(t, (req, res) => {
    if (req.url === "/slow-body") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial");
    }
    // /hang: never answers.
  });
  const config = { baseUrl: server.base };
  const started = Date.now();
  await assert.rejects(rt.send(config, rt.request("GET", "/hang", []), { timeoutMs: 100 }), (e) => e.kind === "timeout");
  const slow = await rt.send(config, rt.request("GET", "/slow-body", []), { timeoutMs: 150 });
  await assert.rejects(rt.readText(slow), (e) => e instanceof rt.WiregenError && e.kind === "timeout");
  assert.ok(Date.now() - started < 3000);
  const controller = new AbortController();
  const aborted = rt.send(config, rt.request("GET", "/hang", []), { signal: controller.signal });
  controller.abort();
  await assert.rejects(aborted, (e) => e.kind === "aborted");
  await assert.rejects(rt.send(config, rt.request("GET", "/hang", []), { signal: controller.signal }), (e) => e.kind === "aborted");
  const port = await closedPort();
  await assert.rejects(rt.send({ baseUrl: `http://127.0.0.1:${port}` }, rt.request("GET", "/", [])), (e) => {
    assert.equal(e.kind, "network");
    assert.ok(e.cause);
    return true;
  });
});

// ---- (d) WebSocket ---------------------------------------------------------------------------

/** A WebSocket server on 127.0.0.1; `onConnection(socket, n, req)` per connection. */
async function wsServer(t, onConnection) {
  const connections = [];
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  server.on("connection", (socket, req) => {
    connections.push({ socket, req, received: [], closeCode: undefined });
    const entry = connections.at(-1);
    socket.on("message", (data, binary) => entry.received.push(binary ? data : data.toString()));
    socket.on("close", (code) => (entry.closeCode = code));
    onConnection(socket, connections.length, req);
  });
  await new Promise((resolve) => server.on("listening", resolve));
  t.after(() => new Promise((resolve) => {
    for (const client of server.clients) client.terminate();
    server.close(resolve);
  }));
  return { base: `http://127.0.0.1:${server.address().port}`, connections };
}

const wsConfig = (base, extra = {}) => ({ baseUrl: base, webSocket: (url, headers) => new WebSocket(url, { headers }), ...extra });

/** The codec generated code would write for JSON messages tagged by `type`. */
const codec = {
  encode: (message) => (message instanceof Uint8Array ? message : JSON.stringify(message)),
  decode(data) {
    if (typeof data !== "string") return data;
    const value = JSON.parse(data);
    if (typeof value !== "object" || value === null) throw new Error("a message is a JSON object");
    return ["pong", "event", "reply"].includes(value.type) ? value : undefined;
  },
};
const correlated = { pointer: ["meta", "requestId"], replyId: (m) => (m.type === "reply" ? m.meta?.requestId : undefined) };

test("connect: queued while connecting, headers and query credentials, text and binary both ways", async (t) => {
  const server = await wsServer(t, (socket) => {
    socket.on("message", (data, binary) => {
      if (binary) socket.send(data);
      else if (JSON.parse(data.toString()).type === "ping") socket.send('{"type":"pong"}');
    });
  });
  const config = wsConfig(server.base, { headers: { "X-Client": "tests" }, auth: { bearer: "tok", apiKeys: { key: "k" } } });
  const parts = rt.request("GET", "/room", [{ kind: "bearer" }]);
  rt.addQuery(parts, "name", "a b");
  const conn = rt.connect(config, parts, codec);
  assert.equal(conn.state, "connecting");
  conn.send({ type: "ping" });
  conn.send(new Uint8Array([1, 2, 3]));
  const items = [];
  for await (const item of conn) {
    items.push(item);
    if (items.length === 2) break;
  }
  assert.deepEqual(items, [{ kind: "message", message: { type: "pong" } }, { kind: "message", message: new Uint8Array([1, 2, 3]) }]);
  const [{ req, received }] = server.connections;
  assert.equal(req.url, "/room?name=a%20b");
  assert.equal(req.headers.authorization, "Bearer tok");
  assert.equal(req.headers["x-client"], "tests");
  assert.equal(received[0], '{"type":"ping"}');
  assert.equal(conn.state, "closed", "leaving the loop closes the connection");
  await until(() => server.connections[0].closeCode === 1000);
});

test("connect: unknown and malformed frames are items, the connection goes on", async (t) => {
  const server = await wsServer(t, (socket) => {
    socket.send('{"type":"mystery"}');
    socket.send("not json");
    socket.send("42");
    socket.send('{"type":"event","n":1}');
  });
  const conn = rt.connect(wsConfig(server.base), rt.request("GET", "/", []), codec);
  const messages = [];
  const items = [];
  conn.onMessage((message) => messages.push(message));
  conn.onItem((item) => items.push(item));
  await until(() => items.length === 4);
  assert.deepEqual(items[0], { kind: "unknown", data: '{"type":"mystery"}' });
  assert.equal(items[1].kind, "malformed");
  assert.equal(items[1].data, "not json");
  assert.equal(items[1].error.kind, "decode");
  assert.equal(items[2].error.message.includes("a message is a JSON object"), true);
  assert.deepEqual(items[3], { kind: "message", message: { type: "event", n: 1 } });
  assert.deepEqual(messages, [{ type: "event", n: 1 }]);
  assert.equal(conn.state, "open");
  conn.close();
  conn.close();
  assert.deepEqual(items.at(-1), { kind: "closed", code: 1000, reason: "" });
  assert.equal(items.length, 5);
  await assert.rejects(conn.opened(), (e) => e.kind === "closed");
  assert.throws(() => conn.send({ type: "ping" }), (e) => e.kind === "closed");
});

test("connect: request() matches replies out of order by correlation id; replies are not items", async (t) => {
  const server = await wsServer(t, (socket) => {
    const asked = [];
    socket.on("message", (data) => {
      asked.push(JSON.parse(data.toString()));
      if (asked.length < 2) return;
      socket.send('{"type":"event","n":0}');
      for (const request of asked.reverse()) socket.send(JSON.stringify({ type: "reply", meta: request.meta, q: request.q }));
    });
  });
  const conn = rt.connect(wsConfig(server.base), rt.request("GET", "/", []), codec);
  const messages = [];
  conn.onMessage((message) => messages.push(message));
  const original = { type: "ask", q: 1 };
  const first = conn.request(original, correlated);
  const second = conn.request({ type: "ask", q: 2, meta: { requestId: "mine" } }, correlated);
  const [one, two] = await Promise.all([first, second]);
  assert.equal(one.q, 1);
  assert.match(one.meta.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(two, { type: "reply", meta: { requestId: "mine" }, q: 2 });
  assert.deepEqual(original, { type: "ask", q: 1 }, "the caller's message is not changed");
  assert.deepEqual(messages, [{ type: "event", n: 0 }]);
  conn.close();
});

test("connect: request() times out, and fails when the connection closes for good", async (t) => {
  const server = await wsServer(t, (socket, n) => {
    socket.on("message", (data) => {
      if (JSON.parse(data.toString()).q === "close") socket.close(4001, "done");
    });
    void n;
  });
  const conn = rt.connect(wsConfig(server.base), rt.request("GET", "/", []), codec, { requestTimeoutMs: 100 });
  await assert.rejects(conn.request({ type: "ask", q: "ignored" }, correlated), (e) => e.kind === "timeout");
  const controller = new AbortController();
  const aborted = conn.request({ type: "ask", q: "abort" }, correlated, { signal: controller.signal, timeoutMs: 5000 });
  controller.abort();
  await assert.rejects(aborted, (e) => e.kind === "aborted");
  await assert.rejects(conn.request({ type: "ask", q: "close" }, correlated, { timeoutMs: 5000 }), (e) => e.kind === "closed");
  await until(() => conn.state === "closed");
  await assert.rejects(conn.request({ type: "ask" }, correlated), (e) => e.kind === "closed");
});

test("connect: no reconnection by default", async (t) => {
  const server = await wsServer(t, (socket) => socket.terminate());
  const conn = rt.connect(wsConfig(server.base), rt.request("GET", "/", []), codec);
  const items = await collect(conn);
  assert.deepEqual(items, [{ kind: "closed", code: 1006, reason: "" }]);
  assert.equal(conn.state, "closed");
  assert.equal(server.connections.length, 1);
  assert.throws(() => conn.send({ type: "ping" }), (e) => e.kind === "closed");
});

test("connect: opt-in reconnection after the server drops the socket; sends wait for it", async (t) => {
  const server = await wsServer(t, (socket, n) => {
    if (n === 1) socket.close(4000, "bye");
  });
  const states = [];
  const conn = rt.connect(wsConfig(server.base), rt.request("GET", "/", []), codec, { reconnect: { retryMs: 20 } });
  conn.onState((state) => {
    states.push(state);
    if (state === "reconnecting") conn.send({ type: "queued" });
  });
  const items = [];
  conn.onItem((item) => items.push(item));
  await until(() => server.connections.length === 2 && conn.state === "open");
  await conn.opened();
  conn.send({ type: "after" });
  await until(() => server.connections[1].received.length === 2);
  assert.deepEqual(server.connections[1].received, ['{"type":"queued"}', '{"type":"after"}']);
  assert.deepEqual(items, [{ kind: "closed", code: 4000, reason: "bye" }]);
  assert.deepEqual(states, ["open", "reconnecting", "open"]);
  conn.close(4002, "enough");
  await until(() => server.connections[1].closeCode === 4002);
  assert.equal(server.connections.length, 2);
});

test("connect: a failed connect rejects opened(); with reconnection, maxAttempts ends it", async () => {
  const port = await closedPort();
  const config = wsConfig(`http://127.0.0.1:${port}`);
  const once = rt.connect(config, rt.request("GET", "/", []), codec);
  await assert.rejects(once.opened(), (e) => e.kind === "network");
  assert.equal(once.state, "closed");
  const states = [];
  const retried = rt.connect(config, rt.request("GET", "/", []), codec, { reconnect: { retryMs: 5, maxAttempts: 3 }, sendBuffer: 1 });
  retried.onState((state) => states.push(state));
  retried.send({ type: "queued" });
  assert.throws(() => retried.send({ type: "one too many" }), (e) => e.kind === "closed");
  await assert.rejects(retried.opened(), (e) => e.kind === "network");
  assert.deepEqual(states, ["reconnecting", "closed"]);
});

test("connect: an iterator that lags more than bufferSize closes the connection (1008) and ends with an error", async (t) => {
  const server = await wsServer(t, (socket) => {
    for (let n = 1; n <= 20; n++) socket.send(JSON.stringify({ type: "event", n }));
  });
  const conn = rt.connect(wsConfig(server.base), rt.request("GET", "/", []), codec, { bufferSize: 3 });
  const iterator = conn[Symbol.asyncIterator]();
  await until(() => server.connections[0]?.closeCode === 1008);
  const got = [];
  await assert.rejects(
    (async () => {
      for (;;) {
        const { done, value } = await iterator.next();
        if (done) break;
        got.push(value);
      }
    })(),
    (e) => e instanceof rt.WiregenError && e.kind === "closed",
  );
  assert.deepEqual(got.slice(0, 4).map((item) => item.message.n), [1, 2, 3, 4]);
  assert.deepEqual(got.at(-1), { kind: "closed", code: 1008, reason: "the client fell behind" });
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
});
