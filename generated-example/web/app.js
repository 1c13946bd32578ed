// The pet store's live page (index.html), written by hand against the clients wiregen
// generates: a feed of the store's notifications (Server-Sent Events through the browser's
// EventSource) and an auction the visitor bids in (WebSocket), each showing its connection state.
//
// `?user=NAME` picks the bidder's name (letters, digits, `-`, `_`); without it every tab is a
// new guest. Server text only ever reaches the page as `textContent`.
//
// For tests (generated-example/tests/page.rs): `#feed-state` and `#auction-state` carry the
// state in `data-state` (connecting, open, reconnecting, closed); `#feed` counts the events and
// gaps it received in `data-events` and `data-gaps`; each feed item has `data-kind` (event, gap,
// unknown, malformed, error), and events `data-event` and `data-id`; `#feed-notice` keeps the
// last gap or error (its `data-kind`, and `data-reason` for a gap) after the item has scrolled
// away; each bid has `data-user` and `data-amount`.

import { listAuctions, listPets, streamNotifications } from "./dist/petstore_openapi.js";
import { auction } from "./dist/petstore_asyncapi.js";

/** How many notifications the feed shows; older ones are dropped. */
const FEED_LIMIT = 40;
/** How many bids the auction shows. */
const BID_LIMIT = 12;
/** The auction joined when the server lists no open one. */
const DEFAULT_AUCTION = "a-demo";

const STATE_TEXT = {
  connecting: "connecting…",
  open: "live",
  reconnecting: "reconnecting…",
  closed: "closed",
};

const GAP_TEXT = {
  expired: "the server no longer keeps them",
  unknown: "the server restarted or lost its history",
};

const euros = new Intl.NumberFormat("en", { style: "currency", currency: "EUR" });
const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

const config = {
  baseUrl: location.origin,
  // The auction's WebSocket takes its API key as the `token` query parameter (any non-empty
  // token, in this demo).
  auth: { apiKeys: { token: "demo" } },
};

const user = chooseUser(new URLSearchParams(location.search).get("user"));
/** Pet names by id, once the catalogue has been read (events carry only ids). */
const petNames = new Map();

/** The bidder's name: `?user=` when it is a valid one, else a new guest name. */
function chooseUser(asked) {
  if (asked !== null && /^[A-Za-z0-9_-]{1,64}$/.test(asked)) return asked;
  const digits = new Uint32Array(1);
  crypto.getRandomValues(digits);
  return "guest-" + String(digits[0] % 1_000_000).padStart(6, "0");
}

/** An element with optional class and text (as text: never parsed as HTML). */
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showState(node, state) {
  node.dataset.state = state;
  node.textContent = STATE_TEXT[state] ?? state;
}

/** Puts `item` at the top of `list`, keeping at most `limit` items. */
function prepend(list, item, limit) {
  list.prepend(item);
  while (list.children.length > limit) list.lastElementChild.remove();
}

function bump(node, key) {
  node.dataset[key] = String(Number(node.dataset[key] ?? "0") + 1);
}

function pet(id) {
  const name = petNames.get(id);
  return name === undefined ? `pet ${id}` : `${name} (pet ${id})`;
}

// ---- notifications ---------------------------------------------------------------------------

/** One line for an event of the stream. */
function describe(event) {
  switch (event.event) {
    case "adoption":
      return `${event.data.petName} was adopted by ${event.data.userId}`;
    case "status-change":
      return `${pet(event.data.petId)} is now ${event.data.status.toLowerCase()}`;
    case "order-placed":
      return `order ${event.data.orderId}: ${pet(event.data.petId)} for ${event.data.userId}, ${euros.format(event.data.total)}`;
    case "order-shipped": {
      const tracking = event.data.trackingNumber ? `, tracking ${event.data.trackingNumber}` : "";
      return `order ${event.data.orderId} shipped with ${event.data.carrier}${tracking}`;
    }
    case "order-delivered":
      return `order ${event.data.orderId} delivered`;
    default:
      return `${event.event}`;
  }
}

function startFeed() {
  const list = document.getElementById("feed");
  const state = document.getElementById("feed-state");
  const notice = document.getElementById("feed-notice");
  // The browser's EventSource: it reconnects by itself and resumes with Last-Event-ID; the
  // server answers an ID it cannot resume from with a gap item.
  const feed = streamNotifications(config, {}, { eventSource: true });
  feed.onState((next) => showState(state, next));
  feed.onItem((item) => {
    const row = element("li");
    const now = clock.format(new Date());
    row.dataset.kind = item.kind;
    row.append(element("time", "", now));
    switch (item.kind) {
      case "event":
        bump(list, "events");
        row.dataset.event = item.event.event;
        row.dataset.id = item.id;
        row.append(element("span", "tag", item.event.event), element("span", "what", describe(item.event)));
        break;
      case "gap": {
        bump(list, "gaps");
        const why = Object.hasOwn(GAP_TEXT, item.gap.reason) ? GAP_TEXT[item.gap.reason] : undefined;
        const text = `missed events: ${item.gap.reason}` + (why ? ` (${why})` : "");
        row.append(element("span", "what", text));
        notice.dataset.kind = "gap";
        notice.dataset.reason = item.gap.reason;
        notice.textContent = `${text}, at ${now}`;
        break;
      }
      case "unknown":
        row.append(element("span", "what", `an event this page does not know: ${item.frame.event}`));
        break;
      case "malformed":
        row.append(element("span", "what", `a malformed ${item.frame.event} event: ${item.error.message}`));
        break;
      case "error":
        row.append(element("span", "what", `the feed stopped: ${item.error.message}`));
        notice.dataset.kind = "error";
        delete notice.dataset.reason;
        notice.textContent = `The feed stopped at ${now}: ${item.error.message}. Reload the page to try again.`;
        break;
    }
    prepend(list, row, FEED_LIMIT);
  });
}

/** Reads the catalogue once, to name pets in the feed. */
async function loadPetNames() {
  try {
    const page = await listPets(config, { limit: 100 });
    if (page.status === 200) for (const p of page.body.items) petNames.set(p.id, p.name);
  } catch (error) {
    console.warn("the catalogue could not be read:", error);
  }
}

// ---- auction ---------------------------------------------------------------------------------

/** The first open auction the server lists, else the default one. */
async function chooseAuction() {
  try {
    const listed = await listAuctions(config, { open: true });
    if (listed.status === 200 && listed.body.length > 0) return listed.body[0].auctionId;
  } catch (error) {
    console.warn("the auctions could not be listed:", error);
  }
  return DEFAULT_AUCTION;
}

async function startAuction() {
  const auctionId = await chooseAuction();
  const state = document.getElementById("auction-state");
  const bids = document.getElementById("bids");
  const highest = document.getElementById("highest");
  const leader = document.getElementById("leader");
  const notice = document.getElementById("auction-notice");
  const form = document.getElementById("bid-form");
  const amount = document.getElementById("bid-amount");
  const button = document.getElementById("bid-button");
  document.getElementById("auction-id").textContent = auctionId;
  let leading = 0;
  /** Bumped by every bid message: a summary read before one arrived is stale. */
  let heard = 0;

  const lead = (bid, bidder) => {
    leading = bid ?? 0;
    highest.dataset.amount = bid === null ? "" : String(bid);
    highest.textContent = bid === null ? "none yet" : euros.format(bid);
    leader.textContent = bidder === null ? "nobody" : bidder === user ? `${bidder} (you)` : bidder;
    amount.placeholder = `more than ${euros.format(leading)}`;
  };
  // After (re)connecting, the room may have moved on without us (or restarted empty): the
  // server's summary says where it stands.
  const refresh = async () => {
    const before = heard;
    try {
      const listed = await listAuctions(config);
      const summary = listed.status === 200 ? listed.body.find((a) => a.auctionId === auctionId) : undefined;
      if (heard === before) lead(summary?.highestBid ?? null, summary?.bidder ?? null);
    } catch (error) {
      console.warn("the auction could not be read:", error);
    }
  };

  const room = auction.connect(config, { auctionId, userId: user }, {
    reconnect: { retryMs: 500, maxRetryMs: 5000 },
  });
  room.onState((next) => {
    showState(state, next);
    button.disabled = next === "closed";
    if (next === "open") void refresh();
  });
  room.onMessage((message) => {
    switch (message.type) {
      case "bid": {
        heard += 1;
        lead(message.amount, message.userId);
        const row = element("li", message.userId === user ? "mine" : "");
        row.dataset.user = message.userId;
        row.dataset.amount = String(message.amount);
        row.append(
          element("time", "", clock.format(new Date())),
          element("span", "what", `${message.userId === user ? "you" : message.userId} bid ${euros.format(message.amount)}`),
        );
        prepend(bids, row, BID_LIMIT);
        bump(bids, "count");
        if (message.userId === user) notice.textContent = "";
        break;
      }
      case "outbid":
        notice.textContent = `You were outbid: the highest bid is now ${euros.format(message.newAmount)}.`;
        break;
      case "auction-end": {
        heard += 1;
        const won = message.winner === null ? "nobody bid" : message.winner === user ? "you won!" : `won by ${message.winner}`;
        notice.textContent = `The auction ended (${won}); a new one has started.`;
        const row = element("li");
        row.dataset.kind = "end";
        row.append(element("time", "", clock.format(new Date())), element("span", "what", `auction over: ${won}`));
        prepend(bids, row, BID_LIMIT);
        lead(null, null);
        break;
      }
    }
  });
  room.onItem((item) => {
    if (item.kind === "malformed") notice.textContent = `A malformed message: ${item.error.message}`;
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const bid = Number(amount.value);
    if (!Number.isFinite(bid) || bid <= 0) {
      notice.textContent = "A bid is a positive amount of euros.";
      return;
    }
    if (bid <= leading) {
      notice.textContent = `Bid more than ${euros.format(leading)}: lower bids are ignored.`;
      return;
    }
    try {
      // Queued while the connection is (re)opening.
      room.send({ type: "bid", amount: bid });
      notice.textContent = room.state === "open" ? "" : "Your bid goes out once the auction is reachable again.";
      amount.value = "";
    } catch (error) {
      notice.textContent = `The bid was not sent: ${error.message}`;
    }
  });
}

document.getElementById("user-id").textContent = user;
startFeed();
void loadPetNames();
void startAuction();
