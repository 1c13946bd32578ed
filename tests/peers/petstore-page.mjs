#!/usr/bin/env node
// The pet store's live page (generated-example/web/, served by petstore-server at /) in a real
// browser: Debian's Chromium, headless, driven by playwright-core (see chromium.mjs), with two
// pages side by side, while the test that runs this script kills and restarts the server.
//
// Usage: node tests/peers/petstore-page.mjs URL [--screenshot PNG] [--step-timeout MS]
//
// URL is the server's base URL (http://127.0.0.1:PORT). Page A opens URL/?user=page-a, page B
// URL/?user=page-b. The script prints one JSON line per step on stdout and, where it says so,
// waits for a line on stdin from whoever runs it:
//   1. both pages show notifications and have joined the same auction, live; a bid typed into
//      page A (5000) shows up in page B; with --screenshot, page A is saved as a PNG;
//      prints {"step": "ready", ...} and waits for `killed` (the server is gone);
//   2. both pages show both connections reconnecting; prints {"step": "reconnecting"} and waits
//      for `restarted` (a new server listens on the same port);
//   3. both pages are live again, show the gap signal (the new server's history does not know
//      the last event ID) and receive new notifications; a bid from page B (6000) shows up in
//      page A; prints {"step": "done", ...} and exits 0.
// Every wait is bounded by the step timeout (default 20000 ms); exits 1 on a timeout, an error
// thrown in a page or stdin closing early, 2 on a usage error. A failure prints both pages'
// visible state on stderr.

import { createInterface } from 'node:readline';
import { launchChromium } from './chromium.mjs';

function usage(message) {
  if (message) console.error(`petstore-page: ${message}`);
  console.error('usage: petstore-page.mjs URL [--screenshot PNG] [--step-timeout MS]');
  process.exit(2);
}

const positional = [];
let screenshot;
let stepTimeout = 20_000;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  const value = () => {
    if (i + 1 >= argv.length) usage(`${arg} needs a value`);
    return argv[++i];
  };
  if (arg === '--screenshot') screenshot = value();
  else if (arg === '--step-timeout') stepTimeout = Number(value());
  else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
  else positional.push(arg);
}
const [base] = positional;
if (!base || positional.length !== 1 || !(stepTimeout > 0)) usage();
try {
  new URL(base);
} catch {
  usage(`not a URL: ${base}`);
}

const print = (line) => console.log(JSON.stringify(line));

// Lines from stdin, one at a time; `line(expected)` waits for the next, bounded.
const input = createInterface({ input: process.stdin });
const lines = [];
const readers = [];
let inputClosed = false;
input.on('line', (text) => {
  const reader = readers.shift();
  if (reader) reader(text.trim());
  else lines.push(text.trim());
});
input.on('close', () => {
  inputClosed = true;
  for (const reader of readers.splice(0)) reader(null);
});
function line(expected) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no \`${expected}\` on stdin within ${stepTimeout} ms`)), stepTimeout);
    const take = (text) => {
      clearTimeout(timer);
      if (text === expected) resolve();
      else reject(new Error(`expected \`${expected}\` on stdin, got ${text === null ? 'its end' : `\`${text}\``}`));
    };
    if (lines.length > 0) take(lines.shift());
    else if (inputClosed) take(null);
    else readers.push(take);
  });
}

/** What a page shows, for progress lines and failure reports. */
function visible(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id)?.textContent ?? null;
    const data = (id) => ({ ...(document.getElementById(id)?.dataset ?? {}) });
    const items = (id, n) => [...document.querySelectorAll(`#${id} li`)].slice(0, n).map((li) => li.textContent);
    return {
      feedState: data('feed-state').state,
      feed: data('feed'),
      feedNotice: text('feed-notice'),
      newest: items('feed', 3),
      auction: text('auction-id'),
      auctionState: data('auction-state').state,
      highest: text('highest'),
      auctionNotice: text('auction-notice'),
      bids: items('bids', 3),
    };
  });
}

const wait = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: stepTimeout, polling: 50 });
const count = (page, key) => page.evaluate((key) => Number(document.getElementById('feed').dataset[key]), key);
const bothStates = (page, state) =>
  wait(
    page,
    (state) =>
      document.getElementById('feed-state').dataset.state === state &&
      document.getElementById('auction-state').dataset.state === state,
    state,
  );

let browser;
const pages = {};
const errors = [];

async function bid(from, to, amount) {
  const user = from === pages.a ? 'page-a' : 'page-b';
  await from.fill('#bid-amount', String(amount), { timeout: stepTimeout });
  await from.click('#bid-button', { timeout: stepTimeout });
  const selector = `#bids li[data-user="${user}"][data-amount="${amount}"]`;
  await Promise.all([
    from.waitForSelector(selector, { timeout: stepTimeout }),
    to.waitForSelector(selector, { timeout: stepTimeout }),
  ]);
}

async function main() {
  browser = await launchChromium();
  pages.a = browser.page;
  pages.b = await browser.context.newPage();
  pages.b.on('console', (message) => console.error(`[page b ${message.type()}] ${message.text()}`));
  for (const [name, page] of Object.entries(pages)) {
    page.on('pageerror', (error) => errors.push(`page ${name}: ${error.message}`));
    page.setDefaultTimeout(stepTimeout);
  }
  await pages.a.setViewportSize({ width: 1180, height: 760 });
  const root = base.replace(/\/$/, '');
  await Promise.all([
    pages.a.goto(`${root}/?user=page-a`, { timeout: stepTimeout }),
    pages.b.goto(`${root}/?user=page-b`, { timeout: stepTimeout }),
  ]);

  // 1. Live: notifications in both, the same auction, a bid from A seen in B.
  await Promise.all(
    Object.values(pages).map(async (page) => {
      await bothStates(page, 'open');
      await wait(page, () => Number(document.getElementById('feed').dataset.events) >= 5);
    }),
  );
  const [auctionA, auctionB] = await Promise.all([pages.a, pages.b].map((p) => p.textContent('#auction-id')));
  if (auctionA !== auctionB) throw new Error(`the pages joined different auctions: ${auctionA} and ${auctionB}`);
  await bid(pages.a, pages.b, 5000);
  await wait(pages.b, () => document.getElementById('highest').dataset.amount === '5000');
  if (screenshot) {
    await wait(pages.a, () => Number(document.getElementById('feed').dataset.events) >= 14);
    await pages.a.screenshot({ path: screenshot });
  }
  print({ step: 'ready', auction: auctionA, a: await visible(pages.a), b: await visible(pages.b) });

  // 2. The server is gone: both connections of both pages say so.
  await line('killed');
  await Promise.all(Object.values(pages).map((page) => bothStates(page, 'reconnecting')));
  const before = { a: await count(pages.a, 'events'), b: await count(pages.b, 'events') };
  print({ step: 'reconnecting', events: before });

  // 3. A new server on the same port: live again, the gap shown, new notifications, new bids.
  await line('restarted');
  await Promise.all(
    Object.entries(pages).map(async ([name, page]) => {
      await bothStates(page, 'open');
      await wait(
        page,
        (before) => {
          const feed = document.getElementById('feed').dataset;
          const notice = document.getElementById('feed-notice');
          return (
            Number(feed.gaps) >= 1 &&
            notice.dataset.kind === 'gap' &&
            notice.textContent.startsWith('missed events: ') &&
            Number(feed.events) >= before + 3
          );
        },
        before[name],
      );
    }),
  );
  await bid(pages.b, pages.a, 6000);
  print({ step: 'done', a: await visible(pages.a), b: await visible(pages.b) });
  if (errors.length > 0) throw new Error(`errors in the pages:\n  ${errors.join('\n  ')}`);
}

let status = 0;
try {
  await main();
} catch (error) {
  status = 1;
  console.error(`petstore-page: ${error.message}`);
  for (const [name, page] of Object.entries(pages)) {
    const shown = await visible(page).catch((e) => `(unreadable: ${e.message})`);
    console.error(`petstore-page: page ${name} shows ${JSON.stringify(shown)}`);
  }
  if (errors.length > 0) console.error(`petstore-page: errors in the pages:\n  ${errors.join('\n  ')}`);
}
input.close();
await browser?.close();
process.exit(status);
