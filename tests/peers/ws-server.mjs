#!/usr/bin/env node
// Node's `ws` package as the pet store WebSocket server (specs/petstore.asyncapi.yaml), a peer
// that wiregen's generated client talks to.
//
// Usage: node tests/peers/ws-server.mjs PORTFILE [--lifetime S]
//
// Binds 127.0.0.1:0, writes the port to PORTFILE (atomically) and serves
//   /auctions/{auctionId}?token=T[&userId=U]  bid -> {"type":"bid","userId":U,"amount":A} to the
//       auction's connections; watch -> {"type":"auction-end","winner":<last bidder or null>} to
//       them, then {"type":"mystery"} (not a message of the spec) to the watcher only.
//   /support/chat?token=T  message -> {"type":"message","from":"agent-node",...}; typing ->
//       {"type":"typing",...}; history -> {"type":"history","requestId":<the request's>,
//       "messages":[...limit entries]}.
// The token must be `let-me-in`, or the upgrade is refused with 401. Exits after --lifetime
// seconds (default 300).

import { writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const portFile = args[0];
let lifetime = 300;
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--lifetime' && i + 1 < args.length) lifetime = Number(args[++i]);
  else {
    console.error('usage: ws-server.mjs PORTFILE [--lifetime S]');
    process.exit(2);
  }
}
if (!portFile || !(lifetime > 0)) {
  console.error('usage: ws-server.mjs PORTFILE [--lifetime S]');
  process.exit(2);
}

const TOKEN = 'let-me-in';
const SENT_AT = '2026-11-24T10:02:00Z';
const rooms = new Map(); // auctionId -> Set of sockets
const leaders = new Map(); // auctionId -> userId

const http = createServer((_, response) => {
  response.writeHead(426).end('WebSocket only');
});
const wss = new WebSocketServer({ noServer: true });

http.on('upgrade', (request, socket, head) => {
  const url = new URL(request.url, 'http://127.0.0.1');
  if (url.searchParams.get('token') !== TOKEN) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const auction = url.pathname.match(/^\/auctions\/([^/]+)$/);
  if (auction) {
    wss.handleUpgrade(request, socket, head, (ws) =>
      serveAuction(ws, decodeURIComponent(auction[1]), url.searchParams.get('userId') ?? 'anonymous'),
    );
  } else if (url.pathname === '/support/chat') {
    wss.handleUpgrade(request, socket, head, (ws) => serveChat(ws));
  } else {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  }
});

function broadcast(auction, message) {
  const text = JSON.stringify(message);
  for (const peer of rooms.get(auction) ?? []) peer.send(text);
}

function serveAuction(ws, auction, user) {
  if (!rooms.has(auction)) rooms.set(auction, new Set());
  rooms.get(auction).add(ws);
  ws.on('close', () => rooms.get(auction)?.delete(ws));
  ws.on('message', (data) => {
    let message;
    try {
      message = JSON.parse(data.toString('utf8'));
    } catch {
      ws.close(1007, 'invalid JSON');
      return;
    }
    if (message.type === 'bid') {
      leaders.set(auction, user);
      broadcast(auction, { type: 'bid', userId: user, amount: message.amount });
    } else if (message.type === 'watch') {
      broadcast(auction, { type: 'auction-end', winner: leaders.get(auction) ?? null });
      ws.send(JSON.stringify({ type: 'mystery' }));
    }
  });
}

function serveChat(ws) {
  ws.on('message', (data) => {
    let message;
    try {
      message = JSON.parse(data.toString('utf8'));
    } catch {
      ws.close(1007, 'invalid JSON');
      return;
    }
    if (message.type === 'message') {
      ws.send(JSON.stringify({ type: 'message', from: 'agent-node', text: `node heard: ${message.text}`, sentAt: SENT_AT }));
    } else if (message.type === 'typing') {
      ws.send(JSON.stringify({ type: 'typing', isTyping: message.isTyping }));
    } else if (message.type === 'history') {
      const messages = Array.from({ length: message.limit ?? 2 }, (_, i) => ({
        from: 'u-1001',
        text: `message ${i}`,
        sentAt: SENT_AT,
      }));
      ws.send(JSON.stringify({ type: 'history', requestId: message.requestId, messages }));
    }
  });
}

http.listen(0, '127.0.0.1', () => {
  const { port } = http.address();
  writeFileSync(`${portFile}.tmp`, String(port));
  renameSync(`${portFile}.tmp`, portFile);
  console.error(`ws-server: listening on 127.0.0.1:${port}`);
});
setTimeout(() => process.exit(0), lifetime * 1000).unref();
