#!/usr/bin/env node
// Stoplight Prism (npm @stoplight/prism-cli) mocking an OpenAPI document with request
// validation on, behind a small recording proxy, for wiregen's generated-client tests.
//
// Usage: node tests/peers/prism-mock.mjs [--record FILE] [--seed SEED] [--static]
//            [--startup-timeout SECONDS] [--lifetime SECONDS] SPEC PORTFILE
//
// Starts `prism mock --host 127.0.0.1 --port <free> --errors --dynamic --seed SEED SPEC`
// (`--static` leaves out `--dynamic --seed`: answers come from the spec's examples), waits
// until Prism listens (at most --startup-timeout, default 240 s: a large document takes
// Prism tens of seconds to read), then listens itself on 127.0.0.1 on a port the kernel
// picks, writes that port (digits only, written atomically) to PORTFILE, and forwards every
// request to Prism. It exits after --lifetime seconds (default 600), or when Prism exits.
// Prism's own log goes to stderr.
//
// `--errors` makes Prism answer a request that violates the document with an error (422,
// 400, 401, 404, 405, 406, 415: an `application/problem+json` body whose `validation` says
// what is wrong, and an `sl-violations` header), and a mock answer of its own that violates
// the document with 500 (`…/errors#VIOLATIONS`).
//
// Tags: a request to `/__wg/TAG/rest…` is forwarded as `/rest…` (TAG: letters, digits, `_`,
// `-`, `.`); `TAG` may end in `@CODE`, which asks Prism for that declared status
// (`Prefer: code=CODE`). A client whose base URL is `http://127.0.0.1:PORT/__wg/TAG` thus
// labels its requests without sending anything the document does not describe.
//
// Prism's dynamic generator (`--dynamic`) sometimes makes an answer that violates the document
// (a `oneOf` value matching two branches, say), which `--errors` turns into a 500
// (`…/errors#VIOLATIONS`), or fails on a schema (`…/errors#UNKNOWN`). Such a request is sent
// to Prism once more with `Prefer: dynamic=false` (its answer from the document's examples, or
// a static sample of the schema), and that answer goes back; the record keeps the first one.
//
// --record FILE: one JSON line per exchange, written before the answer goes back:
//   {"tag": "17", "method": "POST", "url": "/v1/orders?x=1",
//    "request": {"headers": {...}, "body": "...", "bodyBase64": false},
//    "response": {"status": 201, "headers": {...}, "body": "...", "bodyBase64": false},
//    "truncated": false,
//    "dynamicFailure": {"status": 500, "body": "...", "bodyBase64": false}}  (when asked again)
// Bodies are UTF-8 text, or base64 when they are not; each is cut at 16 KiB ("truncated").
// The request headers recorded are those of the last request sent to Prism.

import { spawn } from 'node:child_process';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function usage(message) {
  if (message) console.error(`prism-mock: ${message}`);
  console.error(
    'usage: prism-mock.mjs [--record FILE] [--seed SEED] [--static] [--startup-timeout S] [--lifetime S] SPEC PORTFILE',
  );
  process.exit(2);
}

const options = { record: null, seed: '1', static: false, startupTimeout: 240, lifetime: 600 };
const positional = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  const value = () => {
    if (i + 1 >= args.length) usage(`${arg} needs a value`);
    return args[++i];
  };
  if (arg === '--record') options.record = value();
  else if (arg === '--seed') options.seed = value();
  else if (arg === '--static') options.static = true;
  else if (arg === '--startup-timeout') options.startupTimeout = Number(value());
  else if (arg === '--lifetime') options.lifetime = Number(value());
  else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
  else positional.push(arg);
}
if (positional.length !== 2) usage('expected SPEC and PORTFILE');
if (!(options.startupTimeout > 0) || !(options.lifetime > 0)) usage('timeouts must be positive');
const [spec, portFile] = positional;
if (options.record) writeFileSync(options.record, '');

const LIMIT = 16 * 1024;

/** A free port on 127.0.0.1, as the kernel picks it. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const prismPort = await freePort();
const prismArgs = ['mock', '--host', '127.0.0.1', '--port', String(prismPort), '--errors'];
if (!options.static) prismArgs.push('--dynamic', '--seed', options.seed);
prismArgs.push(spec);
const prism = spawn(join(here, 'node_modules', '.bin', 'prism'), prismArgs, {
  stdio: ['ignore', 'pipe', 'pipe'],
});
let prismExited = false;
prism.on('exit', (code, signal) => {
  prismExited = true;
  console.error(`prism-mock: prism exited (${signal ?? code})`);
  process.exit(1);
});
const stopPrism = () => {
  if (!prismExited) prism.kill('SIGKILL');
};
process.on('exit', stopPrism);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(1));

let listening = false;
let log = '';
const onListening = [];
for (const stream of [prism.stdout, prism.stderr]) {
  stream.on('data', (chunk) => {
    process.stderr.write(chunk);
    if (!listening) {
      log = (log + chunk.toString('utf8')).slice(-4096);
      if (log.includes('Prism is listening')) {
        listening = true;
        for (const resolve of onListening) resolve();
      }
    }
  });
}
const started = new Promise((resolve) => onListening.push(resolve));
const startup = setTimeout(() => {
  console.error(`prism-mock: prism did not listen within ${options.startupTimeout} s`);
  process.exit(1);
}, options.startupTimeout * 1000);
await started;
clearTimeout(startup);
setTimeout(() => process.exit(0), options.lifetime * 1000).unref();

/** Text of a body, or base64 when it is not UTF-8; cut at LIMIT. */
function describe(buffer) {
  const cut = buffer.length > LIMIT;
  const part = cut ? buffer.subarray(0, LIMIT) : buffer;
  const text = part.toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(part);
  return { body: utf8 ? text : part.toString('base64'), bodyBase64: !utf8, cut };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host']);
const TAGGED = /^\/__wg\/([A-Za-z0-9_.-]+)(?:@([0-9]{3}))?(\/.*|\?.*)?$/;

/** Is this Prism's answer that its own mock violates the document (or that it failed to make one)? */
function mockFailed(exchange) {
  if (exchange.status !== 500) return false;
  const start = exchange.answer.subarray(0, 200).toString('utf8');
  return /^\{"type":"https:\/\/stoplight\.io\/prism\/errors#(VIOLATIONS|UNKNOWN)"/.test(start);
}

/** Forward to Prism; an answer of Prism's dynamic generator that violates the document is asked again with `dynamic=false`. */
async function forward(req, body) {
  const first = await forwardOnce(req, body, false);
  if (options.static || !mockFailed(first)) return first;
  const second = await forwardOnce(req, body, true);
  second.dynamicFailure = { status: first.status, ...describe(first.answer) };
  return second;
}

function forwardOnce(req, body, forceStatic) {
  const tagged = TAGGED.exec(req.url);
  const tag = tagged ? tagged[1] : null;
  const code = tagged ? tagged[2] : undefined;
  let url = tagged ? (tagged[3] ?? '/') : req.url;
  if (url.startsWith('?')) url = `/${url}`;
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(name)) headers[name] = value;
  }
  const prefer = [];
  if (code) prefer.push(`code=${code}`);
  if (forceStatic) prefer.push('dynamic=false');
  if (prefer.length) headers.prefer = prefer.join(', ');
  headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: prismPort, method: req.method, path: url, headers },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ tag, code, url, headers, status: res.statusCode, responseHeaders: res.headers, answer: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

const proxy = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    let exchange;
    try {
      exchange = await forward(req, body);
    } catch (error) {
      console.error(`prism-mock: forwarding ${req.method} ${req.url} failed: ${error}`);
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`prism-mock: prism did not answer: ${error}`);
      return;
    }
    const sent = describe(body);
    const answered = describe(exchange.answer);
    if (options.record) {
      const line = {
        tag: exchange.tag,
        prefer: exchange.code ?? null,
        method: req.method,
        url: exchange.url,
        request: { headers: exchange.headers, body: sent.body, bodyBase64: sent.bodyBase64 },
        response: {
          status: exchange.status,
          headers: exchange.responseHeaders,
          body: answered.body,
          bodyBase64: answered.bodyBase64,
        },
        truncated: sent.cut || answered.cut,
      };
      if (exchange.dynamicFailure) {
        const { status, body: failed, bodyBase64 } = exchange.dynamicFailure;
        line.dynamicFailure = { status, body: failed, bodyBase64 };
      }
      appendFileSync(options.record, `${JSON.stringify(line)}\n`);
    }
    const headers = {};
    for (const [name, value] of Object.entries(exchange.responseHeaders)) {
      if (!HOP_BY_HOP.has(name) && name !== 'content-length') headers[name] = value;
    }
    headers['content-length'] = String(exchange.answer.length);
    res.writeHead(exchange.status, headers);
    res.end(exchange.answer);
  });
});
proxy.listen(0, '127.0.0.1', () => {
  const { port } = proxy.address();
  const temporary = `${portFile}.tmp`;
  writeFileSync(temporary, String(port));
  renameSync(temporary, portFile);
  console.error(`prism-mock: proxy on 127.0.0.1:${port}, prism on 127.0.0.1:${prismPort}`);
});
