#!/usr/bin/env node
// A third-party SSE server for wiregen's tests: the pet store stream served by Node's express.
//
// Usage: node tests/peers/express-sse-server.mjs PORTFILE [--lifetime SECONDS]
//
// Listens on 127.0.0.1 on a port the kernel picks, writes that port (digits only, written
// atomically) to PORTFILE, prints {"port": N} on stdout, and serves until killed or until
// --lifetime seconds (default 300) have passed. Lines end with LF and the content type is
// exactly `text/event-stream` (sse_starlette_server.py is the CRLF + charset twin).
//
// Routes, query parameters and `Last-Event-ID` handling are the same as
// sse_starlette_server.py's:
//   GET /v1/pets/notifications             the events of petstore-events.json, ids 1..6, then ends
//   GET /unknown[/v1/pets/notifications]   adoption (1), an undeclared `pet-teleported` (2), status-change (3)
//   GET /malformed[/v1/pets/notifications] adoption (1), adoption whose data is not JSON (2), status-change (3)
//   GET /v1/pets/:petId                    the Pet JSON for 42 or 7, else 404 with an Error body
//   ?limit=K  ?retry=MS  ?delay_ms=D  ?hold=1

import express from 'express';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const portFile = args[0];
const lifetimeAt = args.indexOf('--lifetime');
const lifetimeSeconds = lifetimeAt >= 0 ? Number(args[lifetimeAt + 1]) : 300;
if (!portFile || portFile.startsWith('--') || !(lifetimeSeconds > 0)) {
  console.error('usage: express-sse-server.mjs PORTFILE [--lifetime SECONDS]');
  process.exit(2);
}

const petstore = JSON.parse(readFileSync(new URL('./petstore-events.json', import.meta.url), 'utf8'));
const sequences = {
  petstore: petstore.map((e) => [e.id, e.event, JSON.stringify(e.data)]),
  unknown: [
    ['1', 'adoption', JSON.stringify(petstore[0].data)],
    ['2', 'pet-teleported', JSON.stringify({ petId: 42, to: 'the moon' })],
    ['3', 'status-change', JSON.stringify(petstore[1].data)],
  ],
  malformed: [
    ['1', 'adoption', JSON.stringify(petstore[0].data)],
    ['2', 'adoption', '{"petId":42,"petName":'],
    ['3', 'status-change', JSON.stringify(petstore[1].data)],
  ],
};
const pets = {
  42: { id: 42, name: 'Biscuit', status: 'AVAILABLE', tags: ['dog', 'puppy'], nickname: 'Biss' },
  7: { id: 7, name: 'Whiskers', status: 'PENDING', nickname: null },
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function stream(name) {
  const sequence = sequences[name];
  return async (req, res) => {
    const lastId = req.get('Last-Event-ID');
    const found = sequence.findIndex(([id]) => id === lastId);
    let events = sequence.slice(found + 1);
    if (req.query.limit !== undefined) events = events.slice(0, Number(req.query.limit));
    const delay = Number(req.query.delay_ms ?? 0);

    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    if (req.query.retry !== undefined) res.write(`retry: ${Number(req.query.retry)}\n\n`);
    for (const [id, event, data] of events) {
      if (delay) await sleep(delay);
      if (closed) return;
      res.write(`id: ${id}\nevent: ${event}\ndata: ${data}\n\n`);
    }
    if (req.query.hold === '1') return; // ends when the client goes away
    res.end();
  };
}

const app = express();
for (const name of ['unknown', 'malformed']) {
  app.get(`/${name}`, stream(name));
  app.get(`/${name}/v1/pets/notifications`, stream(name));
}
app.get('/v1/pets/notifications', stream('petstore'));
app.get('/v1/pets/:petId', (req, res) => {
  const pet = pets[req.params.petId];
  if (pet) res.json(pet);
  else res.status(404).json({ code: 'pet_not_found', message: `No pet with id ${req.params.petId} exists.` });
});

const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const tmp = `${portFile}.tmp${process.pid}`;
  writeFileSync(tmp, String(port));
  renameSync(tmp, portFile);
  console.log(JSON.stringify({ port }));
});
server.on('error', (err) => {
  console.error(`express-sse-server: ${err.message}`);
  process.exit(1);
});

const stop = (why) => {
  if (why) console.error(`express-sse-server: ${why}, exiting`);
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
setTimeout(() => stop(`lifetime of ${lifetimeSeconds} s is over`), lifetimeSeconds * 1000).unref();
process.on('SIGTERM', () => stop());
process.on('SIGINT', () => stop());
