#!/usr/bin/env node
// The generated TypeScript clients of the pet store (generated-example/web/generated/, compiled
// to JavaScript by the caller) in Node 20, against the real `petstore-server`: every plain
// operation with its typed results and errors, the notification stream (every event kind,
// resuming through a proxy that cuts the connection, the gap after an unknown id, a 4xx), and
// the auction WebSocket (a bid broadcast to two bidders, outbid, the end, malformed input), and
// the support chat (the demo's agent answering, and history by request/reply). What the demo
// cannot be made to do (answers out of order, none at all, a close while a request waits) is
// shown against a `ws` server in this script.
//
// Usage: node tests/ts/petstore-client.mjs COMPILED_DIR BASE_URL
//
// COMPILED_DIR holds petstore_openapi.js, petstore_asyncapi.js and wiregen-runtime.js (ES
// modules); BASE_URL is the server, e.g. http://127.0.0.1:3000, started with `--interval-ms 50
// --auction-secs 5` (generated-example/tests/typescript_client.rs). Prints one JSON line per
// check, `{"check": NAME, "ok": true|false, "ms": N, ...}`, and exits 1 when any failed (2 on
// a usage error). Every wait is bounded; the whole run is cut at RUN_DEADLINE_MS.

import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join, resolve } from "node:path";
import net from "node:net";

const RUN_DEADLINE_MS = 28_000;
/** The bearer token of a customer: the demo takes any non-empty one. */
const BEARER = "u-1001";
/** The staff's API key (`X-Staff-Key`), `STAFF_KEY` in generated-example/demo/server.rs. */
const STAFF_KEY = "staff-demo";
/** How long the demo's auctions run (`--auction-secs`). */
const AUCTION_SECS = 5;

const [compiledDir, baseUrl] = process.argv.slice(2);
if (!compiledDir || !baseUrl || process.argv.length !== 4) {
  console.error("usage: petstore-client.mjs COMPILED_DIR BASE_URL");
  process.exit(2);
}
const target = new URL(baseUrl);

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "peers", "package.json"));
const WebSocket = require("ws");
const { WebSocketServer } = WebSocket;

const load = (name) => import(pathToFileURL(resolve(compiledDir, name)).href);
const rt = await load("wiregen-runtime.js");
const api = await load("petstore_openapi.js");
const live = await load("petstore_asyncapi.js");

const webSocket = (url, headers) => new WebSocket(url, { headers });
/** A customer with every credential the pet store knows. */
const config = {
  baseUrl,
  auth: { bearer: BEARER, apiKeys: { "X-Staff-Key": STAFF_KEY, token: "demo" } },
  webSocket,
};
/** Nobody: no credentials at all. */
const anonymous = { baseUrl, webSocket };

// ---- checks -----------------------------------------------------------------------------------

let failures = 0;
const started = performance.now();

function report(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

/** Runs one check: a line with `ok: true` and what `body` returns, or `ok: false` and why. */
async function check(name, body) {
  const begin = performance.now();
  try {
    const details = (await body()) ?? {};
    report({ ...details, check: name, ok: true, ms: Math.round(performance.now() - begin) });
  } catch (error) {
    failures += 1;
    report({
      check: name,
      ok: false,
      ms: Math.round(performance.now() - begin),
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    if (error instanceof Error && error.stack) console.error(`${name}: ${error.stack}`);
  }
}

const watchdog = setTimeout(() => {
  report({ check: "run-deadline", ok: false, error: `still running after ${RUN_DEADLINE_MS} ms` });
  process.exit(1);
}, RUN_DEADLINE_MS);

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Checks `value` against a shape: field → "number" | "string" | "boolean" | "date" |
 * "string[]" | an array of allowed values; a trailing "?" allows absence, "|null" allows null. */
function typed(value, shape, what) {
  expect(typeof value === "object" && value !== null && !Array.isArray(value), `${what}: not an object: ${JSON.stringify(value)}`);
  for (const [field, spec] of Object.entries(shape)) {
    const present = Object.hasOwn(value, field);
    const v = value[field];
    if (typeof spec === "string" && spec.endsWith("?") && (!present || v === undefined)) continue;
    expect(present, `${what}: no field ${field} in ${JSON.stringify(value)}`);
    const kind = typeof spec === "string" ? spec.replace(/\?$/, "") : spec;
    if (typeof kind === "string" && kind.endsWith("|null") && v === null) continue;
    const base = typeof kind === "string" ? kind.replace(/\|null$/, "") : kind;
    const fine = Array.isArray(base)
      ? base.includes(v)
      : base === "date"
        ? typeof v === "string" && !Number.isNaN(Date.parse(v))
        : base === "string[]"
          ? Array.isArray(v) && v.every((s) => typeof s === "string")
          : typeof v === base;
    expect(fine, `${what}.${field}: ${JSON.stringify(v)} is not ${JSON.stringify(spec)}`);
  }
  return value;
}

const PET = { id: "number", name: "string", status: ["AVAILABLE", "PENDING", "ADOPTED"], tags: "string[]?", nickname: "string|null" };
const PROBLEM = { type: "string", title: "string", status: "number", detail: "string?", instance: "string?" };
const ORDER = {
  id: "number", petId: "number", userId: "string", total: "number", status: ["PLACED", "SHIPPED", "DELIVERED"],
  placedAt: "date", carrier: "string?", trackingNumber: "string?", deliveredAt: "date?",
};
const EVENT_DATA = {
  adoption: { petId: "number", petName: "string", userId: "string" },
  "status-change": { petId: "number", status: ["AVAILABLE", "PENDING", "ADOPTED"] },
  "order-placed": { orderId: "number", petId: "number", userId: "string", total: "number", placedAt: "date" },
  "order-shipped": { orderId: "number", carrier: "string", trackingNumber: "string?" },
  "order-delivered": { orderId: "number", deliveredAt: "date" },
};

/** A typed Problem answer with this status. */
function problem(response, status, what) {
  equal(response.status, status, `${what}: status`);
  typed(response.body, PROBLEM, `${what}: body`);
  equal(response.body.status, status, `${what}: the problem's status`);
  return { status, title: response.body.title, detail: response.body.detail };
}

/** The WiregenError `promise` rejects with (within `ms`), of this kind. */
async function rejects(promise, kind, ms, what) {
  const error = await fails(promise, ms, what);
  equal(error.kind, kind, `${what}: the error's kind (${error.message})`);
  return error;
}

/** The WiregenError `promise` rejects with (within `ms`), of whichever kind. */
async function fails(promise, ms, what) {
  const outcome = await within(promise.then((value) => ({ value }), (error) => ({ error })), ms, what);
  expect("error" in outcome, `${what}: resolved with ${JSON.stringify(outcome.value)} instead of failing`);
  const { error } = outcome;
  expect(error instanceof rt.WiregenError, `${what}: not a WiregenError: ${error}`);
  return error;
}

function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Every item of a subscription or connection (`onItem`), and bounded waits for one. */
function recorder(source) {
  const items = [];
  const waiters = new Set();
  source.onItem((item) => {
    items.push(item);
    for (const waiter of waiters) {
      if (waiter.wanted(item)) {
        waiters.delete(waiter);
        waiter.found(item);
      }
    }
  });
  return {
    items,
    /** The first item, seen or to come, for which `wanted` holds. */
    wait(wanted, ms, what) {
      const seen = items.find(wanted);
      if (seen) return Promise.resolve(seen);
      return new Promise((found, fail) => {
        const waiter = { wanted, found };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter)) fail(new Error(`${what}: not within ${ms} ms; got ${describeItems(items)}`));
        }, ms);
      });
    },
  };
}

function describeItems(items) {
  return JSON.stringify(items.slice(-8).map((item) => item.kind === "message" ? item.message
    : item.kind === "event" ? { id: item.id, event: item.event.event }
      : item.kind === "error" || item.kind === "malformed" ? { kind: item.kind, error: item.error.message }
        : item));
}

/** `<epoch>.<n>` (the in-memory broadcaster's ids): [epoch, n]. */
function splitId(id) {
  const match = /^([0-9a-z]+)\.(\d+)$/.exec(id);
  expect(match, `an event id <epoch>.<n>: ${JSON.stringify(id)}`);
  return [match[1], Number(match[2])];
}

/** Ids one epoch, each one more than the one before. */
function consecutive(ids, what) {
  const [epoch, first] = splitId(ids[0]);
  ids.forEach((id, index) => {
    const [e, n] = splitId(id);
    equal(e, epoch, `${what}: the epoch of event ${index}`);
    expect(n === first + index, `${what}: event ${index} has id ${id}, expected ${epoch}.${first + index} (ids: ${ids.join(" ")})`);
  });
  return { first: ids[0], last: ids.at(-1) };
}

// ---- plain operations ------------------------------------------------------------------------

async function operations() {
  await check("listPets-filtered-paged", async () => {
    // The catalogue is fixed; only statuses move. Three dogs (1, 4, 6): every status allowed
    // (a comma-joined array), one tag (a repeated parameter), two per page.
    const first = await api.listPets(config, { status: ["AVAILABLE", "PENDING", "ADOPTED"], tag: ["dog"], limit: 2 });
    equal(first.status, 200, "status");
    first.body.items.forEach((pet, i) => typed(pet, PET, `items[${i}]`));
    equal(first.body.items.map((p) => p.id), [1, 4], "page 1");
    equal(first.headers.get("x-total-count"), "3", "X-Total-Count");
    equal(first.body.nextCursor, "4", "nextCursor");
    const second = await api.listPets(config, { tag: ["dog"], limit: 2, cursor: first.body.nextCursor });
    equal(second.status, 200, "page 2 status");
    equal(second.body.items.map((p) => p.id), [6], "page 2");
    equal(second.body.nextCursor, null, "page 2 nextCursor");
    const puppies = await api.listPets(config, { tag: ["dog", "puppy"] });
    equal(puppies.body.items.map((p) => p.name), ["Biscuit", "Noodle"], "dog+puppy");
    const available = await api.listPets(config, { status: ["AVAILABLE"] });
    expect(available.body.items.every((p) => p.status === "AVAILABLE"), `status=AVAILABLE: ${JSON.stringify(available.body.items)}`);
    return { dogs: 3, available: available.body.items.length };
  });

  await check("listPets-400-problem", async () => {
    return problem(await api.listPets(config, { limit: 0 }), 400, "limit=0");
  });

  await check("getPet-200", async () => {
    const response = await api.getPet(config, { petId: 3 });
    equal(response.status, 200, "status");
    typed(response.body, PET, "pet");
    equal([response.body.id, response.body.name, response.body.nickname, response.body.tags], [3, "Mochi", "Mo", ["rabbit", "calm"]], "pet 3");
    const pepper = await api.getPet(config, { petId: 2 });
    equal(pepper.body.nickname, null, "a pet without a nickname");
    return { name: response.body.name, status: response.body.status };
  });

  await check("getPet-404-problem", async () => problem(await api.getPet(config, { petId: 999 }), 404, "pet 999"));

  // Bytes 0–255 (not UTF-8) and a little more.
  const photo = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) % 256);
  await check("uploadPetPhoto-multipart-201", async () => {
    const response = await api.uploadPetPhoto(config, {
      petId: 2,
      body: { photo: new Blob([photo], { type: "image/png" }), caption: "Pepper, asleep" },
    });
    equal(response.status, 201, `status (${JSON.stringify(response.body)})`);
    typed(response.body, { petId: "number", caption: "string?", size: "number", contentType: "string" }, "PetPhoto");
    equal(response.body, { petId: 2, caption: "Pepper, asleep", size: photo.length, contentType: "image/png" }, "PetPhoto");
    equal(response.headers.get("location"), "/v1/pets/2/photo", "Location");
    return { size: response.body.size };
  });

  await check("getPetPhoto-bytes-round-trip", async () => {
    const response = await api.getPetPhoto(config, { petId: 2 });
    equal(response.status, 200, "status");
    expect(response.body instanceof Uint8Array, `body is a Uint8Array: ${Object.prototype.toString.call(response.body)}`);
    equal(response.body.length, photo.length, "length");
    expect(response.body.every((byte, i) => byte === photo[i]), "the bytes come back as uploaded");
    return { bytes: response.body.length };
  });

  await check("getPetPhoto-404-problem", async () => problem(await api.getPetPhoto(config, { petId: 5 }), 404, "no photo"));

  await check("uploadPetPhoto-401-403-problem", async () => {
    // No key at all: the generated server's 401; a customer's key: the demo's 403.
    const upload = (auth) => api.uploadPetPhoto({ ...config, auth }, { petId: 2, body: { photo: new Blob([photo]) } });
    const missing = problem(await upload({ bearer: BEARER }), 401, "no X-Staff-Key");
    const wrong = problem(await upload({ apiKeys: { "X-Staff-Key": "customer" } }), 403, "a wrong X-Staff-Key");
    return { missing: missing.detail, wrong: wrong.detail };
  });

  await check("uploadPetPhoto-404-problem", async () => {
    return problem(await api.uploadPetPhoto(config, { petId: 999, body: { photo: new Blob([photo]) } }), 404, "pet 999");
  });

  let order;
  await check("placeOrder-bearer-201", async () => {
    // The simulation orders pets too: take an available one, again if it got there first.
    const deadline = Date.now() + 8000;
    for (let attempt = 1; ; attempt++) {
      expect(Date.now() < deadline, "no pet could be ordered within 8 s");
      const available = await api.listPets(config, { status: ["AVAILABLE"] });
      const pet = available.body.items[0];
      if (!pet) {
        await sleep(50);
        continue;
      }
      const response = await api.placeOrder(config, { body: { petId: pet.id, userId: "ts-client" } });
      if (response.status === 409) continue;
      equal(response.status, 201, `status (${JSON.stringify(response.body)})`);
      typed(response.body, ORDER, "order");
      equal([response.body.petId, response.body.userId, response.body.status], [pet.id, "ts-client", "PLACED"], "order");
      equal(response.headers.get("location"), `/v1/orders/${response.body.id}`, "Location");
      order = response.body;
      return { orderId: order.id, petId: pet.id, attempts: attempt };
    }
  });

  await check("placeOrder-409-problem", async () => {
    expect(order, "no order was placed");
    // The pet is PENDING now: a second order for it conflicts.
    return problem(await api.placeOrder(config, { body: { petId: order.petId, userId: "ts-client" } }), 409, "same pet");
  });

  await check("placeOrder-404-problem", async () => {
    return problem(await api.placeOrder(config, { body: { petId: 999, userId: "ts-client" } }), 404, "pet 999");
  });

  await check("placeOrder-without-token-401-problem", async () => {
    return problem(await api.placeOrder(anonymous, { body: { petId: 1, userId: "ts-client" } }), 401, "no bearer token");
  });

  await check("getOrder-200", async () => {
    expect(order, "no order was placed");
    const response = await api.getOrder(config, { orderId: order.id });
    equal(response.status, 200, "status");
    typed(response.body, ORDER, "order");
    equal([response.body.id, response.body.petId, response.body.userId, response.body.total, response.body.placedAt],
      [order.id, order.petId, order.userId, order.total, order.placedAt], "the order placed");
    return { orderId: order.id, status: response.body.status };
  });

  await check("getOrder-404-and-401-problem", async () => {
    const missing = problem(await api.getOrder(config, { orderId: 999_999_999 }), 404, "order 999999999");
    problem(await api.getOrder(anonymous, { orderId: 5001 }), 401, "no bearer token");
    return missing;
  });

  await check("http-errors-are-typed-WiregenErrors", async () => {
    // Nothing listens on a port just closed: "network".
    const closed = net.createServer();
    await new Promise((done) => closed.listen(0, "127.0.0.1", done));
    const port = closed.address().port;
    await new Promise((done) => closed.close(done));
    const network = await rejects(api.getPet({ baseUrl: `http://127.0.0.1:${port}` }, { petId: 1 }), "network", 5000, "closed port");
    // A server that never answers: "timeout".
    const silent = net.createServer((socket) => socket.on("error", () => {}));
    await new Promise((done) => silent.listen(0, "127.0.0.1", done));
    try {
      await rejects(api.getPet({ baseUrl: `http://127.0.0.1:${silent.address().port}` }, { petId: 1 }, { timeoutMs: 200 }), "timeout", 5000, "silent server");
    } finally {
      silent.close();
    }
    // Aborted by the caller: "aborted".
    const controller = new AbortController();
    const pending = api.listPets(config, {}, { signal: controller.signal });
    controller.abort();
    await rejects(pending, "aborted", 5000, "aborted call");
    return { network: network.message };
  });
}

// ---- the notification stream (SSE) -----------------------------------------------------------

async function everyEventKind() {
  await check("sse-every-event-kind", async () => {
    const sub = api.streamNotifications(config);
    const states = [];
    sub.onState((state) => states.push(state));
    const heard = [];
    const off = sub.on("order-placed", (event, id) => heard.push({ id, orderId: event.data.orderId, name: event.event }));
    const wanted = new Set(Object.keys(EVENT_DATA));
    const seen = {};
    const ids = [];
    const timer = setTimeout(() => sub.close(), 20_000);
    try {
      for await (const item of sub) {
        expect(item.kind === "event", `an unexpected item: ${JSON.stringify(item)}`);
        const { event, id } = item;
        typed(event.data, EVENT_DATA[event.event], `${event.event} ${id}`);
        ids.push(id);
        seen[event.event] = (seen[event.event] ?? 0) + 1;
        wanted.delete(event.event);
        if (wanted.size === 0) break;
      }
    } finally {
      clearTimeout(timer);
      off();
      sub.close();
    }
    expect(wanted.size === 0, `not seen within 20 s: ${[...wanted].join(", ")} (seen ${JSON.stringify(seen)})`);
    const range = consecutive(ids, "the stream");
    expect(heard.length === seen["order-placed"] && heard.every((h) => h.name === "order-placed" && typeof h.orderId === "number" && ids.includes(h.id)),
      `on("order-placed") heard ${JSON.stringify(heard)}, the iterator ${seen["order-placed"]}`);
    equal(states.at(-1), "closed", "the state after close()");
    expect(states.includes("open"), `states: ${states}`);
    return { events: ids.length, seen, ...range };
  });
}

/** A TCP proxy in front of the server that cuts connection k after `cuts[k]` events. */
async function cuttingProxy(cuts) {
  const connections = [];
  const sockets = new Set();
  const server = net.createServer((client) => {
    const index = connections.length;
    const record = { head: "", lastEventId: undefined, accept: undefined, events: 0, cut: null };
    connections.push(record);
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    }
    client.on("data", (chunk) => {
      if (record.head.length < 16_384 && !record.head.includes("\r\n\r\n")) {
        record.head += chunk.toString("latin1");
        record.lastEventId = /\r\nlast-event-id:[ \t]*([^\r\n]*)/i.exec(record.head)?.[1];
        record.accept = /\r\naccept:[ \t]*([^\r\n]*)/i.exec(record.head)?.[1];
      }
      upstream.write(chunk);
    });
    let carry = "";
    upstream.on("data", (chunk) => {
      if (record.cut) return;
      const text = carry + chunk.toString("latin1");
      carry = text.slice(-1);
      // Each event ends with a blank line; HTTP's own framing uses CRLF.
      record.events += text.split("\n\n").length - 1;
      const limit = cuts[index];
      if (limit === undefined || record.events < limit) {
        client.write(chunk);
        return;
      }
      // The first cut is a clean end (FIN), later ones a reset.
      if (index === 0) {
        record.cut = "fin";
        client.end(chunk);
      } else {
        record.cut = "reset";
        client.write(chunk, () => client.resetAndDestroy());
      }
      upstream.destroy();
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    connections,
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

async function resumeThroughCuts() {
  await check("sse-resume-after-cut-no-duplicate-no-hole", async () => {
    const cuts = [3, 4];
    const proxy = await cuttingProxy(cuts);
    const sub = api.streamNotifications({ baseUrl: proxy.url }, {}, { retryMs: 100, maxRetryMs: 400 });
    const states = [];
    const resumedFrom = [];
    sub.onState((state) => {
      states.push(state);
      if (state === "reconnecting") resumedFrom.push(sub.lastEventId);
    });
    const ids = [];
    const timer = setTimeout(() => sub.close(), 15_000);
    try {
      for await (const item of sub) {
        expect(item.kind === "event", `an unexpected item: ${JSON.stringify(item)}`);
        ids.push(item.id);
        if (ids.length >= 14 && proxy.connections.length > cuts.length) break;
      }
    } finally {
      clearTimeout(timer);
      sub.close();
      proxy.close();
    }
    const conns = proxy.connections;
    expect(conns.length > cuts.length, `${conns.length} connections, expected ${cuts.length + 1}: ${JSON.stringify(conns.map(({ head, ...c }) => c))}`);
    expect(ids.length >= 14, `only ${ids.length} events within 15 s`);
    equal(new Set(ids).size, ids.length, "no event twice");
    const range = consecutive(ids, "across the cuts");
    equal(conns.slice(0, cuts.length).map((c) => c.cut), ["fin", "reset"], "how the proxy cut");
    equal(conns[0].lastEventId, undefined, "Last-Event-ID of the first connection");
    equal(resumedFrom.length >= cuts.length, true, `states ${states.join(" ")}`);
    // Each reconnection asks for what followed the last event the client had when it was cut.
    for (let k = 1; k <= cuts.length; k++) {
      const asked = conns[k].lastEventId;
      equal(asked, resumedFrom[k - 1], `Last-Event-ID of connection ${k + 1}`);
      expect(ids.includes(asked), `connection ${k + 1} resumed from ${asked}, an id the client never got`);
    }
    expect(conns.every((c) => /text\/event-stream/.test(c.accept ?? "")), `Accept: ${conns.map((c) => c.accept)}`);
    return { events: ids.length, ...range, resumedFrom: conns.slice(1).map((c) => c.lastEventId), states };
  });
}

async function gapAndErrors() {
  await check("sse-gap-after-unknown-id", async () => {
    const sub = api.streamNotifications(config, {}, { lastEventId: "bogus" });
    const seen = recorder(sub);
    try {
      const gap = await seen.wait((item) => item.kind === "gap", 10_000, "a gap item");
      equal(seen.items[0].kind, "gap", "the first item");
      equal(gap.gap, { lastEventId: "bogus", reason: "unknown" }, "the gap");
      const next = await seen.wait((item) => item.kind === "event", 10_000, "an event after the gap");
      // The gap's id is the newest event's: the stream goes on from there without a hole.
      consecutive([gap.id, next.id], "the gap's id and the next event's");
      equal(seen.items.indexOf(next), 1, "the item after the gap");
      return { gapId: gap.id, next: next.id };
    } finally {
      sub.close();
    }
  });

  await check("sse-user-filter", async () => {
    const sub = api.streamNotifications(config, { userId: "u-1002" });
    const seen = recorder(sub);
    try {
      const events = [];
      while (events.length < 2) {
        const item = await seen.wait((i) => i.kind !== "event" || !events.includes(i), 15_000, "events for u-1002");
        expect(item.kind === "event", `an unexpected item: ${JSON.stringify(item)}`);
        events.push(item);
      }
      for (const { event, id } of events) {
        typed(event.data, EVENT_DATA[event.event], `${event.event} ${id}`);
        if ("userId" in event.data) equal(event.data.userId, "u-1002", `${event.event} ${id}: userId`);
      }
      return { events: events.map((e) => e.event.event) };
    } finally {
      sub.close();
    }
  });

  await check("sse-4xx-typed-WiregenError", async () => {
    const sub = api.streamNotifications(config, { userId: "not a user!" });
    const items = [];
    const timer = setTimeout(() => sub.close(), 10_000);
    try {
      for await (const item of sub) items.push(item);
    } finally {
      clearTimeout(timer);
    }
    equal(items.map((i) => i.kind), ["error"], "the items");
    const { error } = items[0];
    expect(error instanceof rt.WiregenError, `not a WiregenError: ${error}`);
    equal([error.kind, error.status], ["status", 400], "the error");
    const body = typed(JSON.parse(error.body), PROBLEM, "the error's body");
    equal(sub.state, "closed", "the state");
    return { status: error.status, detail: body.detail };
  });
}

// ---- the auction (WebSocket) -----------------------------------------------------------------

async function auction() {
  const auctionId = `ts-${process.pid}-${Date.now()}`;
  const a = live.auction.connect(config, { auctionId, userId: "ts-a" });
  const b = live.auction.connect(config, { auctionId, userId: "ts-b" });
  const seenA = recorder(a);
  const seenB = recorder(b);
  const isBid = (user, amount) => (item) => item.kind === "message" && item.message.type === "bid" && item.message.userId === user && item.message.amount === amount;
  try {
    await check("ws-auction-bid-broadcast", async () => {
      await within(Promise.all([a.opened(), b.opened()]), 5000, "both connections open");
      equal([a.state, b.state], ["open", "open"], "states");
      // Above what the simulated bidders may pay (1000): nobody else raises.
      a.send({ type: "watch", petId: 3 });
      a.send({ type: "bid", amount: 2000 });
      const [toA, toB] = await Promise.all([
        seenA.wait(isBid("ts-a", 2000), 5000, "A's bid, to A"),
        seenB.wait(isBid("ts-a", 2000), 5000, "A's bid, to B"),
      ]);
      typed(toB.message, { type: ["bid"], userId: "string", amount: "number" }, "bid");
      return { toA: toA.message, toB: toB.message };
    });

    await check("ws-auction-outbid", async () => {
      b.send({ type: "bid", amount: 2500 });
      const [, , outbid] = await Promise.all([
        seenA.wait(isBid("ts-b", 2500), 5000, "B's bid, to A"),
        seenB.wait(isBid("ts-b", 2500), 5000, "B's bid, to B"),
        seenA.wait((i) => i.kind === "message" && i.message.type === "outbid", 5000, "outbid, to A"),
      ]);
      equal(outbid.message, { type: "outbid", newAmount: 2500 }, "outbid");
      // Only the previous leader hears it.
      expect(!seenB.items.some((i) => i.kind === "message" && i.message.type === "outbid"), "B was told it was outbid");
      return { outbid: outbid.message };
    });

    await check("listAuctions", async () => {
      const open = await api.listAuctions(config, { open: true });
      equal(open.status, 200, "status");
      open.body.forEach((s, i) => typed(s, { auctionId: "string", open: "boolean", endsAt: "date", highestBid: "number|null", bidder: "string|null" }, `[${i}]`));
      const ours = open.body.find((s) => s.auctionId === auctionId);
      expect(ours, `${auctionId} is not among ${JSON.stringify(open.body)}`);
      equal([ours.open, ours.highestBid, ours.bidder], [true, 2500, "ts-b"], "our auction");
      const closed = await api.listAuctions(config, { open: false });
      expect(!closed.body.some((s) => s.auctionId === auctionId), "listed as closed");
      return { auctions: open.body.length };
    });

    await check("ws-auction-end", async () => {
      const [endA, endB] = await Promise.all([
        seenA.wait((i) => i.kind === "message" && i.message.type === "auction-end", (AUCTION_SECS + 4) * 1000, "auction-end, to A"),
        seenB.wait((i) => i.kind === "message" && i.message.type === "auction-end", (AUCTION_SECS + 4) * 1000, "auction-end, to B"),
      ]);
      equal(endA.message, { type: "auction-end", winner: "ts-b" }, "the end, to A");
      equal(endB.message, endA.message, "the end, to B");
      const unexpected = [...seenA.items, ...seenB.items].filter((i) => i.kind !== "message");
      equal(unexpected, [], "items other than messages");
      return { winner: endA.message.winner };
    });
  } finally {
    a.close();
    b.close();
  }

  await check("ws-refused-without-token", async () => {
    const refused = live.auction.connect(anonymous, { auctionId, userId: "nobody" });
    try {
      const error = await fails(refused.opened(), 5000, "opened() without a token");
      return { kind: error.kind, message: error.message };
    } finally {
      refused.close();
    }
  });

  await check("ws-malformed-frame-error-item", async () => {
    const c = live.auction.connect(config, { auctionId: `${auctionId}-bad`, userId: "ts-c" });
    const seen = recorder(c);
    try {
      await within(c.opened(), 5000, "open");
      // The TypeScript types forbid it; JavaScript sends it: the server cannot decode it and
      // answers with its error frame, which is no message of the channel.
      c.send({ type: "bid", amount: "lots" });
      const item = await seen.wait((i) => i.kind === "malformed", 5000, "a malformed item");
      expect(item.error instanceof rt.WiregenError, `not a WiregenError: ${item.error}`);
      equal(item.error.kind, "decode", "the error's kind");
      const frame = JSON.parse(item.data);
      typed(frame, { error: "string", message: "string" }, "the server's error frame");
      equal(c.state, "open", "the connection after an error frame");
      return { frame };
    } finally {
      c.close();
    }
  });

  await check("ws-oversized-frame-typed-close", async () => {
    const c = live.auction.connect(config, { auctionId: `${auctionId}-big`, userId: "ts-d" });
    const seen = recorder(c);
    try {
      await within(c.opened(), 5000, "open");
      // Over the server's 64 KiB limit: it closes with 1009 (message too big).
      c.send({ type: "watch", petId: 1, note: "x".repeat(70_000) });
      const closed = await seen.wait((i) => i.kind === "closed", 5000, "a closed item");
      equal(closed.code, 1009, `the close code (${closed.reason})`);
      await within((async () => { while (c.state !== "closed") await sleep(10); })(), 2000, "state closed");
      return { code: closed.code, reason: closed.reason };
    } finally {
      c.close();
    }
  });
}

// ---- support chat: request/reply ----------------------------------------------------------------

/** A chat server that collects history requests and answers them in reverse order. */
async function chatServer() {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    path: "/support/chat",
    verifyClient: ({ req }) => new URL(req.url, "http://x").searchParams.get("token") === "chat-token",
  });
  await new Promise((done) => wss.on("listening", done));
  const log = { received: [], answered: [] };
  wss.on("connection", (socket) => {
    const pending = [];
    socket.on("message", (data, binary) => {
      const message = JSON.parse(binary ? Buffer.from(data).toString() : data.toString());
      log.received.push(message);
      if (message.type === "message") {
        socket.send(JSON.stringify({ type: "typing", isTyping: true }));
        socket.send(JSON.stringify({ type: "emoji", name: "wave" }));
        socket.send(JSON.stringify({ type: "message", from: "agent-7", text: `echo: ${message.text}`, sentAt: new Date().toISOString() }));
        return;
      }
      if (message.type !== "history") return;
      if (message.limit === 0) return; // never answered
      if (message.limit === 99) {
        socket.close(4000, "going away");
        return;
      }
      pending.push(message);
      if (pending.length < 3) return;
      for (const request of pending.splice(0).reverse()) {
        log.answered.push(request.requestId);
        const messages = Array.from({ length: request.limit }, (_, i) => ({ from: "agent-7", text: `${request.requestId}#${i}`, sentAt: new Date().toISOString() }));
        socket.send(JSON.stringify({ type: "history", requestId: request.requestId, messages }));
      }
    });
  });
  return { url: `http://127.0.0.1:${wss.address().port}`, log, close: () => { for (const c of wss.clients) c.terminate(); wss.close(); } };
}

async function supportChat() {
  await check("supportChat-demo-agent-and-history", async () => {
    const chat = live.supportChat.connect(config);
    const seen = recorder(chat);
    try {
      await within(chat.opened(), 5000, "open the demo's support chat");
      for (const [n, text] of ["is Mochi still here?", "and Pepper?"].entries()) {
        chat.send({ type: "typing", isTyping: true });
        chat.send({ type: "message", text, clientMsgId: `c-${n}` });
        const answer = await seen.wait((i) => i.kind === "message" && i.message.type === "message" && i.message.text.includes(text), 5000, `the agent's answer to ${text}`);
        typed(answer.message, { type: ["message"], from: "string", text: "string", sentAt: "date" }, "agent message");
      }
      await seen.wait((i) => i.kind === "message" && i.message.type === "typing" && i.message.isTyping === false && seen.items.filter((j) => j.kind === "message" && j.message.type === "message").length === 2, 5000, "the agent stops typing");
      const typing = seen.items.filter((i) => i.kind === "message" && i.message.type === "typing").map((i) => i.message.isTyping);
      equal(typing, [true, false, true, false], "the agent's typing around each answer");
      // Request/reply against the generated Rust server: the conversation, newest last.
      const [last3, all] = await Promise.all([
        within(live.supportChat.requestHistory(chat, { type: "history", requestId: "", limit: 3 }), 5000, "history of 3"),
        within(live.supportChat.requestHistory(chat, { type: "history", requestId: "mine-7" }), 5000, "the whole history"),
      ]);
      equal(all.requestId, "mine-7", "a given correlation id is kept");
      expect(last3.requestId.length > 0 && last3.requestId !== "mine-7", "a fresh correlation id");
      equal(all.messages.map((m) => m.text.startsWith("Thanks") ? "agent" : m.text), ["is Mochi still here?", "agent", "and Pepper?", "agent"], "the whole conversation");
      equal(last3.messages, all.messages.slice(1), "the last three entries");
      for (const entry of all.messages) typed(entry, { from: "string", text: "string", sentAt: "date" }, "history entry");
      return { entries: all.messages.length };
    } finally {
      chat.close();
    }
  });

  const server = await chatServer();
  const chatConfig = { baseUrl: server.url, auth: { apiKeys: { token: "chat-token" } }, webSocket };
  try {
    await check("supportChat-requestHistory-out-of-order", async () => {
      const chat = live.supportChat.connect(chatConfig);
      try {
        await within(chat.opened(), 5000, "open");
        const asked = [
          live.supportChat.requestHistory(chat, { type: "history", requestId: "", limit: 1 }, { timeoutMs: 5000 }),
          live.supportChat.requestHistory(chat, { type: "history", requestId: "mine-1", limit: 2 }, { timeoutMs: 5000 }),
          live.supportChat.requestHistory(chat, { type: "history", requestId: "", limit: 3 }, { timeoutMs: 5000 }),
        ];
        const replies = await within(Promise.all(asked), 6000, "three replies");
        const received = server.log.received.filter((m) => m.type === "history");
        const ids = received.map((m) => m.requestId);
        equal(ids.length, 3, "requests received");
        equal(ids[1], "mine-1", "a requestId given is kept");
        expect(ids.every((id) => typeof id === "string" && id.length > 0) && new Set(ids).size === 3, `fresh distinct ids: ${ids}`);
        equal(server.log.answered, [...ids].reverse(), "the server answered in reverse order");
        replies.forEach((reply, i) => {
          typed(reply, { type: ["history"], requestId: "string" }, `reply ${i}`);
          equal(reply.requestId, ids[i], `reply ${i}: requestId`);
          equal(reply.messages.map((m) => m.text), Array.from({ length: i + 1 }, (_, k) => `${ids[i]}#${k}`), `reply ${i}: messages`);
          reply.messages.forEach((m, k) => typed(m, { from: "string", text: "string", sentAt: "date" }, `reply ${i} message ${k}`));
        });
        return { requestIds: ids, answered: server.log.answered };
      } finally {
        chat.close();
      }
    });

    await check("supportChat-messages-both-ways-and-unknown-tag", async () => {
      const chat = live.supportChat.connect(chatConfig);
      const seen = recorder(chat);
      const messages = [];
      chat.onMessage((message) => messages.push(message));
      try {
        await within(chat.opened(), 5000, "open");
        chat.send({ type: "typing", isTyping: true });
        chat.send({ type: "message", text: "is Mochi still here?", clientMsgId: "c-1" });
        const reply = await seen.wait((i) => i.kind === "message" && i.message.type === "message", 5000, "the agent's message");
        typed(reply.message, { type: ["message"], from: "string", text: "string", sentAt: "date" }, "agent message");
        equal(reply.message.text, "echo: is Mochi still here?", "the agent's text");
        const unknown = await seen.wait((i) => i.kind === "unknown", 5000, "the unknown tag");
        equal(JSON.parse(unknown.data), { type: "emoji", name: "wave" }, "the unknown frame");
        equal(messages.map((m) => m.type), ["typing", "message"], "onMessage (typed messages only)");
        return { kinds: seen.items.map((i) => i.kind) };
      } finally {
        chat.close();
      }
    });

    await check("supportChat-request-timeout", async () => {
      const chat = live.supportChat.connect(chatConfig);
      try {
        await within(chat.opened(), 5000, "open");
        const error = await rejects(live.supportChat.requestHistory(chat, { type: "history", requestId: "", limit: 0 }, { timeoutMs: 300 }), "timeout", 3000, "an unanswered request");
        return { message: error.message };
      } finally {
        chat.close();
      }
    });

    await check("supportChat-request-closed", async () => {
      const chat = live.supportChat.connect(chatConfig);
      const seen = recorder(chat);
      try {
        await within(chat.opened(), 5000, "open");
        const error = await rejects(live.supportChat.requestHistory(chat, { type: "history", requestId: "", limit: 99 }, { timeoutMs: 5000 }), "closed", 3000, "a request when the server closes");
        const closed = await seen.wait((i) => i.kind === "closed", 3000, "a closed item");
        equal([closed.code, closed.reason], [4000, "going away"], "the close");
        return { message: error.message };
      } finally {
        chat.close();
      }
    });
  } finally {
    server.close();
  }
}

// ---- the run ---------------------------------------------------------------------------------

// The stream tests, the auction and the chat run beside the plain operations (the auction's
// five seconds and the stream's waits overlap); each reports as it finishes.
await Promise.all([
  operations(),
  everyEventKind(),
  resumeThroughCuts(),
  gapAndErrors(),
  auction(),
  supportChat(),
]);
clearTimeout(watchdog);
console.error(`petstore-client: ${failures} failed, ${Math.round(performance.now() - started)} ms`);
process.exit(failures === 0 ? 0 : 1);
