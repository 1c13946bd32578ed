// Compiled by tests/typescript.rs next to the generated pet store modules (never run): code a
// TypeScript user writes against them. Each `switch` must narrow the generated unions
// exhaustively, or the `never` assignments stop `tsc --strict`.
import * as rt from "./wiregen-runtime.js";
import { streamNotifications, getPet, placeOrder, type StreamNotificationsEvent, type PetStatus } from "./petstore_openapi.js";
import { auction, supportChat, type AuctionServerMessage } from "./petstore_asyncapi.js";

const config: rt.ClientConfig = { baseUrl: "http://127.0.0.1:3000", auth: { bearer: "t", apiKeys: { token: "t" } } };

export function describe(event: StreamNotificationsEvent): string {
  switch (event.event) {
    case "adoption":
      return `${event.data.petName} adopted by ${event.data.userId}`;
    case "status-change": {
      const status: PetStatus = event.data.status;
      return `pet ${event.data.petId} is ${status}`;
    }
    case "order-placed":
      return `order ${event.data.orderId}: ${event.data.total}`;
    case "order-shipped":
      return `order ${event.data.orderId} via ${event.data.carrier} (${event.data.trackingNumber ?? "untracked"})`;
    case "order-delivered":
      return `order ${event.data.orderId} delivered ${event.data.deliveredAt}`;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

export function bidText(message: AuctionServerMessage): string {
  switch (message.type) {
    case "bid":
      return `${message.userId} bid ${message.amount}`;
    case "outbid":
      return `outbid: ${message.newAmount}`;
    case "auction-end":
      return message.winner === null ? "no winner" : `won by ${message.winner}`;
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}

export async function use(): Promise<string[]> {
  const lines: string[] = [];
  const feed = streamNotifications(config, { userId: "u1" }, { lastEventId: "7" });
  feed.on("adoption", (event) => lines.push(event.data.petName));
  for await (const item of feed) {
    if (item.kind === "event") lines.push(describe(item.event));
    else if (item.kind === "gap") lines.push(`missed events: ${item.gap.reason}`);
    break;
  }
  feed.close();
  const pet = await getPet(config, { petId: 1 });
  if (pet.kind === "Ok") lines.push(pet.body.name);
  else if (pet.kind === "NotFound") lines.push(pet.body.title);
  const order = await placeOrder(config, { body: { petId: 1, userId: "u1" } });
  lines.push(String(order.status));
  const room = auction.connect(config, { auctionId: "a1", userId: "u1" }, { reconnect: true });
  room.onMessage((message) => lines.push(bidText(message)));
  room.send({ type: "bid", amount: 10 });
  const chat = supportChat.connect(config);
  const history = await supportChat.requestHistory(chat, { type: "history", requestId: "", limit: 5 });
  lines.push(...history.messages.map((m) => m.text));
  room.close();
  chat.close();
  return lines;
}
