/**
 * wiregen's runtime for generated TypeScript clients.
 *
 * `wiregen generate --lang typescript` writes this file, unchanged, into the output next to the
 * generated modules as `wiregen-runtime.ts`; they import it as `./wiregen-runtime.js` and use
 * only its exports. No dependencies: it runs in browsers and in Node 20 or later (calls and
 * Server-Sent Events over `fetch`, WebSockets through the browser's `WebSocket` or
 * {@link ClientConfig.webSocket}). Everything it keeps is bounded, every timer it starts is
 * cleared on close, and a listener that throws (or whose promise rejects) is reported with
 * `reportError` (else `console.error`) without stopping the stream.
 *
 * @module
 */

// ---- Configuration and errors ------------------------------------------------------------

/** Where the API is and how to reach it; shared by every call, stream and socket. */
export interface ClientConfig {
  /** The API's base URL, e.g. `"http://127.0.0.1:3000"`; a trailing `/` is ignored. */
  baseUrl: string;
  /** Headers sent on every HTTP request: operations, streams and WebSocket handshakes. */
  headers?: Record<string, string>;
  /** Credentials; a request uses the first of its security schemes they cover. */
  auth?: Credentials;
  /** The `fetch` to use. Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * Opens a WebSocket. Default: `new globalThis.WebSocket(url)` (browsers cannot send headers;
   * the headers argument is then ignored, so only query API keys and cookies reach the server).
   * In Node 20 pass e.g. `(url, headers) => new WebSocket(url, { headers })` from `ws`.
   */
  webSocket?: (url: string, headers: Record<string, string>) => WebSocketLike;
}

/** The secrets a client holds; which one a request sends depends on its security schemes. */
export interface Credentials {
  /** Sent as `Authorization: Bearer <token>`. */
  bearer?: string;
  /** Sent as `Authorization: Basic <base64 of "username:password" in UTF-8>`. */
  basic?: { username: string; password: string };
  /** API keys by the parameter/header/cookie name the spec gives. */
  apiKeys?: Record<string, string>;
}

/** One way an operation accepts credentials, as the spec declares it. */
export type SecurityScheme =
  | { kind: "bearer" }
  | { kind: "basic" }
  | { kind: "apiKey"; in: "header" | "query" | "cookie"; name: string };

/**
 * What went wrong: `network` (no response, connection lost), `timeout`, `aborted` (the caller's
 * signal), `status` (a status the spec does not declare, or a refused stream), `decode` (a body,
 * event or frame that does not parse), `protocol` (a rule broken by the server or the caller,
 * e.g. a stream answered with another content type), `closed` (the stream or socket is closed).
 */
export type ErrorKind = "network" | "timeout" | "aborted" | "status" | "decode" | "protocol" | "closed";

/** The one error type of the runtime; `cause` holds the underlying error when there is one. */
export class WiregenError extends Error {
  /** What went wrong. */
  readonly kind: ErrorKind;
  /** The HTTP status, for errors about a response. */
  readonly status?: number;
  /** The response body, when there is one (for `status` errors, its first 4096 bytes). */
  readonly body?: string;

  /** An error of `kind`; `details` adds the status, the body and the cause. */
  constructor(kind: ErrorKind, message: string, details: { status?: number | undefined; body?: string | undefined; cause?: unknown } = {}) {
    super(message, "cause" in details ? { cause: details.cause } : undefined);
    this.name = "WiregenError";
    this.kind = kind;
    if (details.status !== undefined) this.status = details.status;
    if (details.body !== undefined) this.body = details.body;
  }
}

/**
 * The part of a WebSocket the runtime uses, which the browser's `WebSocket` and the `ws`
 * package both have (handlers are declared bivariantly so that both are assignable).
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Set to `"arraybuffer"` by the runtime. */
  binaryType: string;
  /** Sends a text (string) or binary frame. */
  send(data: string | Uint8Array): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Called when the connection is open. */
  onopen: { bivariant(event: unknown): void }["bivariant"] | null;
  /** Called when the connection is closed. */
  onclose: { bivariant(event: { code: number; reason: string }): void }["bivariant"] | null;
  /** Called per message: `data` is a string, an `ArrayBuffer` or a byte view. */
  onmessage: { bivariant(event: { data: unknown }): void }["bivariant"] | null;
  /** Called on a failure; a close event follows. */
  onerror: { bivariant(event: unknown): void }["bivariant"] | null;
}

// ---- Building a request -------------------------------------------------------------------

/**
 * An HTTP request being built by generated code. `query` holds pairs that are already
 * percent-encoded: {@link addQuery} writes them, with each style's delimiters literal, as
 * wiregen's Rust server reads them.
 */
export interface RequestParts {
  /** The method, e.g. `"GET"`. */
  method: string;
  /** The path below the base URL, built with {@link pathParam}, e.g. `"/pets/7"`. */
  path: string;
  /** Percent-encoded name/value pairs, in order. */
  query: Array<[string, string]>;
  /** Plain header values; a later one replaces an earlier one (`Cookie`s are joined with `; `). */
  headers: Array<[string, string]>;
  /** The body; `contentType` is sent unless the data is `FormData` (fetch writes its boundary). */
  body?: { contentType?: string; data: string | Uint8Array | Blob | FormData | URLSearchParams };
  /** Alternatives: the first one whose credentials are present is used; empty means none. */
  security: SecurityScheme[];
}

/** A request with no parameters and no body yet. */
export function request(method: string, path: string, security: SecurityScheme[]): RequestParts {
  return { method, path, query: [], headers: [], security };
}

/** A path parameter (style `simple`), percent-encoded: arrays `a,b`, objects `k,v,k,v`. */
export function pathParam(value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => encode(text(item))).join(",");
  if (isRecord(value)) return fields(value).flat().map(encode).join(",");
  return encode(text(value));
}

/**
 * Adds a query parameter (undefined/null: nothing). Arrays: exploded → repeated name; form
 * without explode → comma-joined; spaceDelimited/pipeDelimited → joined by `%20`/`%7C` (a space
 * inside an item is then `+`, a `|` stays bare). Objects: exploded → each property as its own
 * parameter, not exploded → `name=k,v,k,v`, deepObject → `name[prop]=v`. Booleans and numbers
 * as JSON text, strings as they are, dates in ISO 8601, other objects as JSON. `explode`
 * defaults to OpenAPI's: true for `form`, false for the others.
 */
export function addQuery(
  parts: RequestParts,
  name: string,
  value: unknown,
  style: "form" | "spaceDelimited" | "pipeDelimited" | "deepObject" = "form",
  explode: boolean = style === "form",
): void {
  if (value === undefined || value === null) return;
  const key = encode(name);
  if (isRecord(value)) {
    const pairs = fields(value);
    if (style === "deepObject") {
      if (pairs.length === 0) parts.query.push([key, ""]);
      for (const [k, v] of pairs) parts.query.push([key + "%5B" + encode(k) + "%5D", encode(v)]);
    } else if (explode) {
      for (const [k, v] of pairs) parts.query.push([encode(k), encode(v)]);
    } else {
      parts.query.push([key, joined(pairs.flat(), style)]);
    }
    return;
  }
  const items = Array.isArray(value) ? value.map(text) : [text(value)];
  if (explode || style === "deepObject") for (const item of items) parts.query.push([key, encode(item)]);
  else if (items.length > 0) parts.query.push([key, joined(items, style)]);
}

/** Adds a header (undefined/null: nothing); arrays comma-joined, objects `k,v,k,v`. */
export function addHeader(parts: RequestParts, name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) parts.headers.push([name, value.map(text).join(",")]);
  else parts.headers.push([name, isRecord(value) ? fields(value).flat().map(encode).join(",") : text(value)]);
}

/** Sets a JSON body: `JSON.stringify(value)`, sent as `contentType` (default `application/json`). */
export function jsonBody(parts: RequestParts, value: unknown, contentType = "application/json"): void {
  parts.body = { contentType, data: JSON.stringify(value) };
}

/**
 * The request's absolute URL: base URL, path, query pairs, and the API key when the chosen
 * scheme puts it in the query. With `scheme` `"ws"`, `http:`/`https:` become `ws:`/`wss:`.
 */
export function url(config: ClientConfig, parts: RequestParts, scheme: "http" | "ws" = "http"): string {
  let base = config.baseUrl.replace(/\/+$/, "");
  if (scheme === "ws") base = base.replace(/^http(s?):/i, "ws$1:");
  const target = base + (parts.path === "" || parts.path.startsWith("/") ? parts.path : "/" + parts.path);
  const query = parts.query.map(([k, v]) => k + "=" + v);
  const chosen = pickScheme(config, parts.security);
  if (chosen?.scheme.kind === "apiKey" && chosen.scheme.in === "query") {
    query.push(encode(chosen.scheme.name) + "=" + encode(chosen.secret));
  }
  return query.length === 0 ? target : target + (target.includes("?") ? "&" : "?") + query.join("&");
}

/** `value` as parameter text. */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  if (value instanceof Date) return value.toISOString();
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** An object's present properties as text pairs. */
function fields(value: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(value)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]): [string, string] => [k, text(v)]);
}

/** Percent-encodes all but RFC 3986's unreserved characters (a lone surrogate becomes U+FFFD). */
function encode(value: string): string {
  const wellFormed = value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
  return encodeURIComponent(wellFormed).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Items joined the way a non-exploded query style writes them. */
function joined(items: string[], style: string): string {
  if (style === "spaceDelimited") return items.map((i) => encode(i).replace(/%20/g, "+")).join("%20");
  if (style === "pipeDelimited") return items.map((i) => encode(i).replace(/%7C/g, "|")).join("%7C");
  return items.map(encode).join(",");
}

/** The first scheme whose credentials are present, with the value to send. */
function pickScheme(config: ClientConfig, security: SecurityScheme[]): { scheme: SecurityScheme; secret: string } | undefined {
  const auth = config.auth ?? {};
  for (const scheme of security) {
    if (scheme.kind === "bearer" && typeof auth.bearer === "string") return { scheme, secret: "Bearer " + auth.bearer };
    if (scheme.kind === "basic" && auth.basic) {
      const bytes = new TextEncoder().encode(auth.basic.username + ":" + auth.basic.password);
      return { scheme, secret: "Basic " + btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join("")) };
    }
    const key = scheme.kind === "apiKey" && auth.apiKeys && Object.hasOwn(auth.apiKeys, scheme.name) ? auth.apiKeys[scheme.name] : undefined;
    if (typeof key === "string") return { scheme, secret: key };
  }
  return undefined;
}

/** A request's headers: config, parts, credentials, then `extra`; later values win, `Cookie`s join. */
function requestHeaders(config: ClientConfig, parts: RequestParts, extra: Record<string, string> = {}): Headers {
  const headers = new Headers(config.headers);
  const set = (name: string, value: string): void => {
    const before = name.toLowerCase() === "cookie" ? headers.get("cookie") : null;
    headers.set(name, before ? before + "; " + value : value);
  };
  for (const [name, value] of parts.headers) set(name, value);
  const chosen = pickScheme(config, parts.security);
  const scheme = chosen?.scheme;
  if (chosen && scheme?.kind !== "apiKey") headers.set("authorization", chosen.secret);
  if (chosen && scheme?.kind === "apiKey" && scheme.in === "header") headers.set(scheme.name, chosen.secret);
  if (chosen && scheme?.kind === "apiKey" && scheme.in === "cookie") set("cookie", encode(scheme.name) + "=" + encode(chosen.secret));
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return headers;
}

/** The `fetch` arguments of a request. */
function requestInit(parts: RequestParts, headers: Headers, signal: AbortSignal): RequestInit {
  const body = parts.body;
  const form = typeof FormData !== "undefined" && body?.data instanceof FormData;
  if (body?.contentType !== undefined && !form && !headers.has("content-type")) headers.set("content-type", body.contentType);
  return body ? { method: parts.method, headers, signal, body: body.data as BodyInit } : { method: parts.method, headers, signal };
}

// ---- Plain operations ---------------------------------------------------------------------

/** Per-call options of {@link send}. */
export interface CallOptions {
  /** Aborts the call: `WiregenError("aborted")`. */
  signal?: AbortSignal;
  /**
   * Time for the response head and, when it is read with {@link readJson}, {@link readText},
   * {@link readBytes} or {@link unexpectedStatus}, the body: else `WiregenError("timeout")`.
   * Default: none.
   */
  timeoutMs?: number;
  /** Headers of this call only; they replace config, parameter and credential headers. */
  headers?: Record<string, string>;
}

/** What reading a sent call's body needs: clear its timer, map a failure like the call's. */
const calls = new WeakMap<Response, { done(): void; fail(error: unknown): WiregenError }>();

/**
 * Sends the request (config headers, security, options.headers) and returns the Response
 * whatever its status; network failure → WiregenError("network"); timeout → "timeout";
 * abort → "aborted"; headers that cannot be sent → "protocol".
 */
export async function send(config: ClientConfig, parts: RequestParts, options: CallOptions = {}): Promise<Response> {
  const { signal, timeoutMs } = options;
  const target = url(config, parts);
  const what = parts.method + " " + target;
  if (signal?.aborted) throw new WiregenError("aborted", what + " was aborted", { cause: signal.reason });
  const controller = new AbortController();
  let init: RequestInit;
  try {
    init = requestInit(parts, requestHeaders(config, parts, options.headers), controller.signal);
  } catch (error) {
    throw new WiregenError("protocol", what + " cannot be sent: " + describe(error), { cause: error });
  }
  let why: "timeout" | "aborted" | undefined;
  const stop = (reason: "timeout" | "aborted") => (): void => {
    why ??= reason;
    controller.abort();
  };
  const onAbort = stop("aborted");
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = timeoutMs === undefined ? undefined : setTimeout(stop("timeout"), delayMs(timeoutMs));
  const done = (): void => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
  const fail = (error: unknown): WiregenError => {
    if (error instanceof WiregenError) return error;
    if (why === "timeout") return new WiregenError("timeout", what + ": no response within " + timeoutMs + " ms", { cause: error });
    if (why === "aborted") return new WiregenError("aborted", what + " was aborted", { cause: signal?.reason });
    return new WiregenError("network", what + " failed: " + describe(error), { cause: error });
  };
  try {
    const fetchFn = config.fetch ?? globalThis.fetch;
    const response = await fetchFn(target, init);
    if (response.body === null) done();
    else calls.set(response, { done, fail });
    return response;
  } catch (error) {
    done();
    throw fail(error);
  }
}

/** Reads a body through `read`, failures mapped as {@link send} maps them. */
async function readBody<T>(response: Response, read: (response: Response) => Promise<T>): Promise<T> {
  const call = calls.get(response);
  try {
    return await read(response);
  } catch (error) {
    throw call ? call.fail(error) : new WiregenError("network", "reading the response failed: " + describe(error), { cause: error });
  } finally {
    call?.done();
  }
}

/** The body as JSON; bad JSON → WiregenError("decode") with the status and the body. */
export async function readJson(response: Response): Promise<unknown> {
  const body = await readText(response);
  try {
    return JSON.parse(body);
  } catch (error) {
    const message = "the " + response.status + " response is not valid JSON: " + describe(error);
    throw new WiregenError("decode", message, { status: response.status, body, cause: error });
  }
}

/** The body as text (UTF-8). */
export function readText(response: Response): Promise<string> {
  return readBody(response, (r) => r.text());
}

/** The body as bytes. */
export function readBytes(response: Response): Promise<Uint8Array> {
  return readBody(response, async (r) => new Uint8Array(await r.arrayBuffer()));
}

/** For a status the spec does not declare: WiregenError("status", status, the body's first 4096 bytes). */
export async function unexpectedStatus(response: Response): Promise<never> {
  const body = await readBody(response, readStart).catch(() => "");
  const message = ("unexpected status " + response.status + " " + response.statusText).trimEnd();
  throw new WiregenError("status", message, { status: response.status, body });
}

/** The first 4096 bytes of a body, decoded leniently; the rest is not read. */
async function readStart(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  const all = new Uint8Array(4096);
  let size = 0;
  try {
    while (reader && size < all.length) {
      const next = await reader.read();
      if (next.done) break;
      const take = Math.min(next.value.length, all.length - size);
      all.set(next.value.subarray(0, take), size);
      size += take;
    }
  } catch {
    // Keep what arrived.
  }
  reader?.cancel().catch(() => {});
  return new TextDecoder().decode(all.subarray(0, size));
}

// ---- Server-Sent Events: the parser -------------------------------------------------------

/**
 * One parsed event, per the WHATWG "interpret an event stream" algorithm: `event` is "message"
 * when no event field; `id` is the last event ID buffer at dispatch ("" when none).
 */
export interface SseFrame {
  /** The event type. */
  event: string;
  /** The data lines joined with LF. */
  data: string;
  /** The last event ID. */
  id: string;
}

/** Extra settings of an {@link SseParser}. */
export interface SseParserOptions {
  /** The last event ID to start from (a resumed stream's `Last-Event-ID`). */
  lastEventId?: string | undefined;
  /**
   * The longest line, and the most data of one event, in UTF-16 code units (default 16 Mi).
   * A larger event is dropped (its `id` and `retry` still apply) and `onTooLarge` called.
   */
  maxEventSize?: number | undefined;
  /** Called when an event is dropped for breaking `maxEventSize`. */
  onTooLarge?: (limit: number) => void;
}

/**
 * Incremental WHATWG parser: feed decoded text (or bytes: UTF-8, BOM stripped once at start,
 * CR / LF / CRLF line ends even split across chunks), get frames; `retry` callback on a valid
 * retry field; `lastEventId` property (id containing NUL ignored); data with trailing "\n"
 * removed; empty data → no dispatch; comments ignored; field without colon → whole line is name.
 * After {@link SseParser.end} it reads the next stream of the same source, keeping the last
 * event ID. Callbacks run inside `push`; if one throws, the rest of that chunk is lost.
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private readonly lineEnd = /\r\n|\r|\n/g;
  private readonly limit: number;
  /** The start of a line that a chunk boundary cut. */
  private line = "";
  private droppingLine = false;
  private droppingEvent = false;
  private afterCr = false;
  private atStart = true;
  private data = "";
  private eventType = "";
  private idBuffer: string;
  private last: string;

  private readonly onFrame: (frame: SseFrame) => void;
  private readonly onRetry: ((ms: number) => void) | undefined;
  private readonly options: SseParserOptions;

  /** A parser at the start of a stream. */
  constructor(onFrame: (frame: SseFrame) => void, onRetry?: (ms: number) => void, options: SseParserOptions = {}) {
    this.onFrame = onFrame;
    this.onRetry = onRetry;
    this.options = options;
    this.last = this.idBuffer = options.lastEventId ?? "";
    this.limit = Math.max(1, options.maxEventSize ?? 16 * 1024 * 1024);
  }

  /** The last event ID: the last `id` field a blank line confirmed, or "". */
  get lastEventId(): string {
    return this.last;
  }

  /** Parses the next chunk, bytes (UTF-8) or text. */
  push(chunk: Uint8Array | string): void {
    if (typeof chunk !== "string") {
      this.atStart = false; // the decoder strips a byte stream's BOM
      return this.feed(this.decoder.decode(chunk, { stream: true }));
    }
    if (this.atStart && chunk !== "") {
      this.atStart = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    this.feed(chunk);
  }

  /** The stream ended: an incomplete event is discarded (per the standard). */
  end(): void {
    this.decoder.decode();
    this.line = this.data = this.eventType = "";
    this.droppingLine = this.droppingEvent = this.afterCr = false;
    this.atStart = true;
    this.idBuffer = this.last;
  }

  private feed(text: string): void {
    if (text === "") return;
    let start = this.afterCr && text.charCodeAt(0) === 10 ? 1 : 0;
    this.afterCr = false;
    const lineEnd = this.lineEnd;
    lineEnd.lastIndex = start;
    for (let match = lineEnd.exec(text); match; match = lineEnd.exec(text)) {
      const piece = text.slice(start, match.index);
      start = lineEnd.lastIndex;
      this.afterCr = match[0] === "\r" && start === text.length;
      if (this.droppingLine) {
        this.droppingLine = false;
        continue;
      }
      const line = this.line + piece;
      this.line = "";
      if (line.length > this.limit) this.tooLarge();
      else this.interpret(line);
    }
    const rest = text.slice(start);
    if (this.droppingLine || rest === "") return;
    this.line += rest;
    if (this.line.length > this.limit) {
      this.line = "";
      this.droppingLine = true;
      this.tooLarge();
    }
  }

  private interpret(line: string): void {
    if (line === "") return this.dispatch();
    if (line.charCodeAt(0) === 58) return; // a comment
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
    if (name === "data" && !this.droppingEvent) {
      this.data += value + "\n";
      if (this.data.length > this.limit) this.tooLarge();
    } else if (name === "event") {
      this.eventType = value;
    } else if (name === "id" && !value.includes("\0")) {
      this.idBuffer = value;
    } else if (name === "retry" && /^[0-9]+$/.test(value) && Number.isSafeInteger(Number(value))) {
      this.onRetry?.(Number(value));
    }
  }

  private dispatch(): void {
    this.last = this.idBuffer;
    const { data, eventType, droppingEvent } = this;
    this.data = this.eventType = "";
    this.droppingEvent = false;
    if (data !== "" && !droppingEvent) this.onFrame({ event: eventType || "message", data: data.slice(0, -1), id: this.last });
  }

  private tooLarge(): void {
    this.droppingEvent = true;
    this.data = "";
    this.options.onTooLarge?.(this.limit);
  }
}

// ---- Server-Sent Events: subscriptions ----------------------------------------------------

/** What the generated code gives for one stream. */
export interface SseDecoder<E> {
  /**
   * Decode one dispatched frame. Return undefined when `event` names no event of the stream;
   * throw (any error) when its data is malformed.
   */
  decode(frame: SseFrame): E | undefined;
  /** Event names the stream may carry (for the EventSource variant's listeners). */
  names: readonly string[];
  /** A data value that ends the stream, e.g. "[DONE]". */
  sentinel?: string;
}

/**
 * The data of a `wiregen-gap` event: the server could not resume exactly after `lastEventId`,
 * so events were lost; reload what was built from the stream, then go on.
 */
export interface GapSignal {
  /** The id the stream asked to resume after; null when the server did not say. */
  lastEventId: string | null;
  /** Why: `"expired"`, `"unknown"`, or another word from a newer server ("" when none). */
  reason: string;
}

/** One item of a stream, in order; only `error` ends it. */
export type SseItem<E> =
  | { kind: "event"; event: E; id: string }
  | { kind: "gap"; gap: GapSignal; id: string }
  | { kind: "unknown"; frame: SseFrame }
  | { kind: "malformed"; frame: SseFrame; error: WiregenError }
  | { kind: "error"; error: WiregenError };

/** Where a subscription is; `closed` is for good. */
export type SseState = "connecting" | "open" | "reconnecting" | "closed";

/** Options of {@link subscribe}. */
export interface SseOptions {
  /** Closes the subscription when aborted. */
  signal?: AbortSignal;
  /** Headers of this stream only. */
  headers?: Record<string, string>;
  /** Resume from this id on the first connect. */
  lastEventId?: string;
  /** Replace a lost connection. Default: true for GET, false for other methods (a POST sent again could start its work again), as in wiregen's Rust client. */
  reconnect?: boolean;
  /** Initial reconnection delay in ms, default 1000; a server `retry:` replaces it. */
  retryMs?: number;
  /** Backoff cap, default 30000 (a larger server `retry:` is still honoured). */
  maxRetryMs?: number;
  /** Consecutive failed connects (the first included) before a terminal error; default Infinity. */
  maxAttempts?: number;
  /** Items buffered for a slow iterator before reading pauses; default 1024. */
  bufferSize?: number;
  /** Time for each connection's response head; default 10000. */
  connectTimeoutMs?: number;
  /** A connection silent this long (comments count) is replaced; default 60000, 0 never. */
  idleTimeoutMs?: number;
  /** The largest event, see {@link SseParserOptions.maxEventSize}; a larger one is a `malformed` item. */
  maxEventSize?: number;
}

/**
 * A typed, reconnecting stream. Items reach every listener and the one async iterator. Until
 * the iterator is created, items are kept for it (reading pauses when `bufferSize` wait) unless
 * an item listener (`on`, `onItem`) is registered, so `for await` right after `subscribe` misses
 * nothing. Leaving the loop (`break`, `return`, a throw) closes the subscription.
 */
export interface SseSubscription<E extends { event: string }> extends AsyncIterable<SseItem<E>> {
  /** Where the subscription is. */
  readonly state: SseState;
  /** The last event id seen (or the initial one); undefined when none. Persist it to resume. */
  readonly lastEventId: string | undefined;
  /** Typed listener for one event name; returns an unsubscribe function. */
  on<K extends E["event"]>(event: K, listener: (event: Extract<E, { event: K }>, id: string) => void): () => void;
  /** Listener for every item; returns an unsubscribe function. */
  onItem(listener: (item: SseItem<E>) => void): () => void;
  /** Listener for state changes; returns an unsubscribe function. */
  onState(listener: (state: SseState) => void): () => void;
  /** Closes the connection and ends the iterator; idempotent. */
  close(): void;
  /** The items; one consumer; ends after close or a terminal error. */
  [Symbol.asyncIterator](): AsyncIterator<SseItem<E>>;
}

/**
 * Listeners, state and a bounded queue for one async iterator, shared by streams and sockets.
 * Items are queued while an iterator is attached, or while none was yet and no item listener is
 * registered. The iterator drains the queue, throws `failure` if the end has one, then ends.
 */
abstract class Channel<T, S extends string> {
  protected readonly queue: T[] = [];
  private current: S;
  private readonly itemListeners = new Set<(item: T) => void>();
  private readonly stateListeners = new Set<(state: S) => void>();
  private reader: "none" | "attached" | "gone" = "none";
  private waiters: Array<() => void> = [];
  private ended = false;
  private failure: WiregenError | undefined;

  protected readonly bufferSize: number;

  protected constructor(initial: S, bufferSize: number) {
    this.current = initial;
    this.bufferSize = bufferSize;
  }

  get state(): S {
    return this.current;
  }

  onItem(listener: (item: T) => void): () => void {
    return this.listen(this.itemListeners, listener);
  }

  onState(listener: (state: S) => void): () => void {
    return this.listen(this.stateListeners, listener);
  }

  abstract close(): void;

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.reader !== "none") throw new WiregenError("protocol", "a stream has one iterator, and it was already taken");
    this.reader = "attached";
    const done = { done: true, value: undefined } as const;
    return {
      next: async () => {
        for (;;) {
          if (this.reader !== "attached") return done;
          if (this.queue.length > 0) {
            const value = this.queue.shift() as T;
            this.wake();
            return { done: false, value };
          }
          if (this.ended) {
            const failure = this.failure;
            this.failure = undefined;
            if (failure) throw failure;
            return done;
          }
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
      },
      return: async () => {
        this.reader = "gone";
        this.queue.length = 0;
        this.wake();
        this.close();
        return done;
      },
    };
  }

  /** Whether an iterator is attached. */
  protected get iterating(): boolean {
    return this.reader === "attached";
  }

  protected setState(next: S): void {
    if (next === this.current) return;
    this.current = next;
    for (const listener of [...this.stateListeners]) guard(() => listener(next));
  }

  protected deliver(item: T): void {
    for (const listener of [...this.itemListeners]) guard(() => listener(item));
    if (this.ended || !this.keeps()) return;
    this.queue.push(item);
    this.wake();
  }

  /** Waits while the queue is full and kept for an iterator. */
  protected async room(): Promise<void> {
    while (!this.ended && this.keeps() && this.queue.length >= this.bufferSize) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** No more items; the iterator throws `failure` after the queued ones, if given. */
  protected finish(failure?: WiregenError): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    this.wake();
  }

  private keeps(): boolean {
    return this.reader === "attached" || (this.reader === "none" && this.itemListeners.size === 0);
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private listen<V>(set: Set<(value: V) => void>, listener: (value: V) => void): () => void {
    const entry = (value: V): void => listener(value); // the same function twice is two listeners
    set.add(entry);
    this.wake();
    return () => {
      set.delete(entry);
      this.wake();
    };
  }
}

/** The event name of wiregen's in-band gap signal. */
const GAP_EVENT = "wiregen-gap";

/** What both SSE variants share: typed listeners, frames to items, the end. */
abstract class SseChannel<E extends { event: string }> extends Channel<SseItem<E>, SseState> {
  protected closed = false;
  private readonly onAbort = (): void => this.close();

  private readonly decoder: SseDecoder<E>;
  private readonly signal: AbortSignal | undefined;

  protected constructor(decoder: SseDecoder<E>, bufferSize: number, signal?: AbortSignal) {
    super("connecting", bufferSize);
    this.decoder = decoder;
    this.signal = signal;
    signal?.addEventListener("abort", this.onAbort, { once: true });
    if (signal?.aborted) queueMicrotask(this.onAbort);
  }

  abstract readonly lastEventId: string | undefined;

  on<K extends E["event"]>(event: K, listener: (event: Extract<E, { event: K }>, id: string) => void): () => void {
    return this.onItem((item) => {
      if (item.kind === "event" && item.event.event === event) listener(item.event as Extract<E, { event: K }>, item.id);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.signal?.removeEventListener("abort", this.onAbort);
    this.release();
    this.setState("closed");
    this.finish();
  }

  /** Stops the transport; called once, by close. */
  protected abstract release(): void;

  /** Ends the stream for good, after a terminal error item if `error`. */
  protected end(error?: WiregenError): void {
    if (this.closed) return;
    if (error) this.deliver({ kind: "error", error });
    this.close();
  }

  /** A dispatched frame: the sentinel closes the stream, others become items. */
  protected frame(frame: SseFrame): void {
    if (this.closed) return;
    if (this.decoder.sentinel !== undefined && frame.data === this.decoder.sentinel) return this.close();
    if (frame.event === GAP_EVENT) return this.deliver({ kind: "gap", gap: gapSignal(frame.data), id: frame.id });
    let event: E | undefined;
    try {
      event = this.decoder.decode(frame);
    } catch (error) {
      const message = "the data of a \"" + frame.event + "\" event does not decode: " + describe(error);
      return this.deliver({ kind: "malformed", frame, error: new WiregenError("decode", message, { cause: error }) });
    }
    this.deliver(event === undefined ? { kind: "unknown", frame } : { kind: "event", event, id: frame.id });
  }
}

/** The data of a gap event; data that does not parse still says that events were lost. */
function gapSignal(data: string): GapSignal {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    value = undefined;
  }
  const { lastEventId, reason } = isRecord(value) ? value : {};
  return { lastEventId: typeof lastEventId === "string" ? lastEventId : null, reason: typeof reason === "string" ? reason : "" };
}

/** How one connection of a fetch subscription ended. */
type Outcome =
  | { kind: "stop" }
  | { kind: "fatal"; error: WiregenError }
  | { kind: "lost"; error: WiregenError; endOfBody: boolean; retryAfterMs?: number | undefined };

class FetchSubscription<E extends { event: string }> extends SseChannel<E> {
  private readonly parser: SseParser;
  private retry: number;
  private delivered = false;
  private controller: AbortController | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeSleep: (() => void) | undefined;

  private readonly config: ClientConfig;
  private readonly parts: RequestParts;
  private readonly options: SseOptions;

  constructor(config: ClientConfig, parts: RequestParts, decoder: SseDecoder<E>, options: SseOptions) {
    super(decoder, options.bufferSize ?? 1024, options.signal);
    this.config = config;
    this.parts = parts;
    this.options = options;
    this.retry = options.retryMs ?? 1000;
    const onFrame = (frame: SseFrame): void => {
      this.delivered = true;
      this.frame(frame);
    };
    const onTooLarge = (limit: number): void => {
      const error = new WiregenError("decode", "an event larger than " + limit + " characters was dropped");
      this.deliver({ kind: "malformed", frame: { event: "message", data: "", id: this.parser.lastEventId }, error });
    };
    const { lastEventId, maxEventSize } = options;
    this.parser = new SseParser(onFrame, (ms) => (this.retry = ms), { lastEventId, maxEventSize, onTooLarge });
    this.run().catch((error: unknown) => this.end(new WiregenError("protocol", describe(error), { cause: error })));
  }

  get lastEventId(): string | undefined {
    return this.parser.lastEventId || undefined;
  }

  protected release(): void {
    this.controller?.abort();
    clearTimeout(this.timer);
    this.wakeSleep?.();
  }

  private async run(): Promise<void> {
    const { maxAttempts = Infinity, maxRetryMs = 30_000 } = this.options;
    const reconnects = this.options.reconnect ?? this.parts.method.toUpperCase() === "GET";
    let failures = 0;
    for (let delay: number | undefined; !this.closed; ) {
      if (delay !== undefined) {
        this.setState("reconnecting");
        const ms = delayMs(delay);
        await new Promise<void>((resolve) => {
          this.wakeSleep = resolve;
          this.timer = setTimeout(resolve, ms);
        });
        if (this.closed) return;
      }
      const outcome = await this.connectOnce();
      if (this.closed) return;
      if (outcome.kind === "stop") return this.close();
      if (outcome.kind === "fatal") return this.end(outcome.error);
      failures = this.delivered ? 0 : failures + 1;
      if (!reconnects) return this.end(outcome.endOfBody ? undefined : outcome.error);
      if (failures >= Math.max(1, maxAttempts)) {
        const { kind, message, status, body } = outcome.error;
        const text = "gave up after " + failures + " failed connection attempts: " + message;
        return this.end(new WiregenError(kind, text, { status, body, cause: outcome.error }));
      }
      delay = Math.max(backoff(this.retry, failures, maxRetryMs), Math.min(outcome.retryAfterMs ?? 0, maxRetryMs));
    }
  }

  /** One connection, from the request to the end of its body. */
  private async connectOnce(): Promise<Outcome> {
    const { config, parts, options } = this;
    const target = url(config, parts);
    const controller = new AbortController();
    this.controller = controller;
    this.delivered = false;
    let init: RequestInit;
    try {
      const headers = requestHeaders(config, parts, options.headers);
      if (!headers.has("accept")) headers.set("accept", "text/event-stream");
      if (!headers.has("cache-control")) headers.set("cache-control", "no-cache");
      headers.delete("last-event-id");
      if (this.parser.lastEventId) headers.set("last-event-id", this.parser.lastEventId);
      init = requestInit(parts, headers, controller.signal);
    } catch (error) {
      return { kind: "fatal", error: new WiregenError("protocol", target + " cannot be requested: " + describe(error), { cause: error }) };
    }
    let timedOut = false;
    const arm = (ms: number): void => {
      clearTimeout(this.timer);
      this.timer = ms > 0 ? setTimeout(() => ((timedOut = true), controller.abort()), delayMs(ms)) : undefined;
    };
    const lost = (error: WiregenError, endOfBody = false): Outcome => ({ kind: "lost", error, endOfBody });
    try {
      arm(options.connectTimeoutMs ?? 10_000);
      const fetchFn = config.fetch ?? globalThis.fetch;
      const response = await fetchFn(target, init);
      const status = response.status;
      if (status === 204) return { kind: "stop" };
      if (status !== 200) {
        const error = new WiregenError(status < 300 ? "protocol" : "status", target + ": the server answered " + status, {
          status,
          body: await readStart(response),
        });
        if (status < 500 && status !== 408 && status !== 429) return { kind: "fatal", error };
        const seconds = Number(response.headers.get("retry-after") ?? NaN);
        return { kind: "lost", error, endOfBody: false, retryAfterMs: seconds >= 0 ? seconds * 1000 : undefined };
      }
      const type = response.headers.get("content-type") ?? "";
      if (type.split(";")[0]?.trim().toLowerCase() !== "text/event-stream") {
        const message = target + ": the server answered with " + JSON.stringify(type) + ", not text/event-stream";
        return { kind: "fatal", error: new WiregenError("protocol", message, { status }) };
      }
      this.setState("open");
      this.parser.end();
      const reader = response.body?.getReader();
      for (;;) {
        arm(options.idleTimeoutMs ?? 60_000);
        const next = await reader?.read();
        if (!next || next.done) return lost(new WiregenError("network", target + ": the server ended the stream"), true);
        this.parser.push(next.value);
        if (this.closed) return { kind: "stop" };
        arm(0);
        await this.room();
      }
    } catch (error) {
      if (this.closed) return { kind: "stop" };
      if (timedOut) return lost(new WiregenError("timeout", target + ": the connection timed out", { cause: error }));
      return lost(new WiregenError("network", target + ": " + describe(error), { cause: error }));
    } finally {
      clearTimeout(this.timer);
      controller.abort();
    }
  }
}

/**
 * A stream over fetch: reconnects (exponential backoff from retryMs, doubling per failed
 * attempt, cap maxRetryMs, full jitter in [delay/2, delay]; reset after a connection that
 * delivered something; a `Retry-After` in seconds is honoured up to maxRetryMs), sends
 * `Last-Event-ID` of the last id seen, `Accept: text/event-stream`, `Cache-Control: no-cache`.
 * 200 with text/event-stream → open; 204 → closed for good (no error); other 2xx/content type →
 * terminal "protocol" error; 4xx (except 408, 429) and 1xx/3xx → terminal "status" error with the
 * start of the body; 5xx, 408, 429, network errors and timeouts → retry. Sentinel data → closed
 * (no reconnect). Without reconnection the end of the response closes it (a broken connection is
 * a terminal error). It connects at once.
 */
export function subscribe<E extends { event: string }>(
  config: ClientConfig,
  parts: RequestParts,
  decoder: SseDecoder<E>,
  options: SseOptions = {},
): SseSubscription<E> {
  return new FetchSubscription(config, parts, decoder, options);
}

/** Options of {@link eventSource}. */
export interface EventSourceOptions {
  /** Sends cookies to another origin. Default: false. */
  withCredentials?: boolean;
  /** The EventSource class to use. Default: `globalThis.EventSource`. */
  EventSource?: typeof EventSource;
  /** Closes the subscription when aborted. */
  signal?: AbortSignal;
  /** Items an iterator may fall behind before the subscription ends; default 1024. */
  bufferSize?: number;
}

class BrowserSubscription<E extends { event: string }> extends SseChannel<E> {
  private source: EventSource | undefined;
  private last: string | undefined;

  constructor(config: ClientConfig, parts: RequestParts, decoder: SseDecoder<E>, options: EventSourceOptions) {
    super(decoder, options.bufferSize ?? 1024, options.signal);
    const Source = options.EventSource ?? (globalThis as { EventSource?: typeof EventSource }).EventSource;
    if (parts.method.toUpperCase() !== "GET" || !Source) {
      const why = Source ? "an EventSource can only send GET requests" : "there is no EventSource here; pass one, or use subscribe";
      queueMicrotask(() => this.end(new WiregenError("protocol", why)));
      return;
    }
    const source = new Source(url(config, parts), { withCredentials: options.withCredentials ?? false });
    this.source = source;
    source.onopen = () => this.setState("open");
    source.onerror = () => {
      if (source.readyState === 2) this.end(new WiregenError("network", "the EventSource failed and will not reconnect"));
      else if (this.state === "open") this.setState("reconnecting");
    };
    const listener = (event: MessageEvent): void => {
      // An empty id keeps the last one: Node's `eventsource` package gives an event without
      // `id:` an empty lastEventId (browsers give the last one).
      this.last = event.lastEventId || this.last;
      this.frame({ event: event.type, data: String(event.data), id: this.last ?? "" });
    };
    for (const name of new Set(["message", GAP_EVENT, ...decoder.names])) source.addEventListener(name, listener);
  }

  get lastEventId(): string | undefined {
    return this.last;
  }

  protected override deliver(item: SseItem<E>): void {
    super.deliver(item);
    if (this.queue.length <= this.bufferSize || this.closed) return;
    if (!this.iterating) this.queue.shift(); // nobody iterates yet: keep the newest
    else this.end(new WiregenError("closed", "the iterator fell more than " + this.bufferSize + " items behind"));
  }

  protected release(): void {
    this.source?.close();
  }
}

/**
 * The browser's EventSource (GET only, no headers: credentials only as a query API key or
 * cookies; the browser resumes by itself, with its own delays). Same items, same listeners;
 * `wiregen-gap` becomes a gap item; only the decoder's `names`, `message` and the gap are
 * listened to. A refused connection is a terminal "network" error (the browser does not tell
 * the status). An EventSource cannot pause: an iterator more than `bufferSize` (default 1024)
 * items behind ends the subscription with a terminal "closed" error.
 */
export function eventSource<E extends { event: string }>(
  config: ClientConfig,
  parts: RequestParts,
  decoder: SseDecoder<E>,
  options: EventSourceOptions = {},
): SseSubscription<E> {
  return new BrowserSubscription(config, parts, decoder, options);
}

// ---- WebSocket ----------------------------------------------------------------------------

/** How a channel's messages travel; written by generated code. */
export interface WsCodec<Out, In> {
  /** A message as a text (string) or binary frame. */
  encode(message: Out): string | Uint8Array;
  /** undefined: a frame whose tag names no message; throw when malformed. */
  decode(data: string | Uint8Array): In | undefined;
}

/** One item of a connection, in order. Replies that settle a {@link WsConnection.request} are not items. */
export type WsItem<In> =
  | { kind: "message"; message: In }
  | { kind: "unknown"; data: string | Uint8Array }
  | { kind: "malformed"; data: string | Uint8Array; error: WiregenError }
  | { kind: "closed"; code: number; reason: string };

/** Where a connection is; `closed` is for good. */
export type WsState = "connecting" | "open" | "reconnecting" | "closed";

/** Options of {@link connect}. */
export interface WsOptions {
  /**
   * Reconnect after the server closes or the connection breaks (default false): delays from
   * `retryMs` (default 1000) doubling per failed attempt up to `maxRetryMs` (default 30000), full
   * jitter in [delay/2, delay]; `maxAttempts` failed connects in a row (the first included) end
   * it (default Infinity).
   */
  reconnect?: boolean | { retryMs?: number; maxRetryMs?: number; maxAttempts?: number };
  /** Default timeout of {@link WsConnection.request}, default 10000. */
  requestTimeoutMs?: number;
  /** Messages queued while not open, default 256; beyond → WiregenError("closed") thrown by send. */
  sendBuffer?: number;
  /**
   * Items buffered for an iterator that lags, default 1024; over it the connection is closed
   * (1008) and the iterator throws WiregenError("closed") after the items it holds. Before the
   * iterator exists, the newest `bufferSize` items are kept for it.
   */
  bufferSize?: number;
  /** Headers of the handshake (where the platform can send them). */
  headers?: Record<string, string>;
  /** Closes the connection when aborted. */
  signal?: AbortSignal;
}

/** How generated code finds the reply to a request message. */
export interface Correlated<In> {
  /** The correlation property path of the request message's payload, e.g. ["requestId"]. */
  pointer: readonly string[];
  /** The correlation id of a received message if it is one of the replies, else undefined. */
  replyId(message: In): string | undefined;
}

/** A typed WebSocket. Items reach every listener and the one async iterator; leaving a `for await` loop closes it. */
export interface WsConnection<Out, In> extends AsyncIterable<WsItem<In>> {
  /** Where the connection is. */
  readonly state: WsState;
  /** Sends a message, queued while connecting/reconnecting; throws WiregenError("closed") when closed or the queue is full. */
  send(message: Out): void;
  /**
   * Sends `message` with a fresh correlation id (crypto.randomUUID()) written at `pointer` (in
   * a copy) unless it already has a non-empty one, and resolves with the first reply carrying
   * that id; rejects with WiregenError("timeout") after timeoutMs, ("aborted") on the signal,
   * ("closed") if the connection drops after sending it or closes for good, ("protocol") if a
   * request with the same id is waiting.
   */
  request<R extends In>(message: Out, correlated: Correlated<In>, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<R>;
  /** Listener for messages (replies to requests excepted); returns an unsubscribe function. */
  onMessage(listener: (message: In) => void): () => void;
  /** Listener for every item; returns an unsubscribe function. */
  onItem(listener: (item: WsItem<In>) => void): () => void;
  /** Listener for state changes; returns an unsubscribe function. */
  onState(listener: (state: WsState) => void): () => void;
  /** Resolves when open, rejects if closed for good first. */
  opened(): Promise<void>;
  /** Closes for good (default 1000); idempotent; a code or reason the platform refuses becomes a plain 1000. */
  close(code?: number, reason?: string): void;
  /** The items; one consumer; ends when the connection is closed for good. */
  [Symbol.asyncIterator](): AsyncIterator<WsItem<In>>;
}

/** A request waiting for its reply. */
interface Pending<In> {
  correlated: Correlated<In>;
  sent: boolean;
  settle(reply: In): void;
  fail(error: WiregenError): void;
}

const ignore = (): void => {};

class Connection<Out, In> extends Channel<WsItem<In>, WsState> implements WsConnection<Out, In> {
  private socket: WebSocketLike | undefined;
  private readonly outbox: Array<{ data: string | Uint8Array; id?: string }> = [];
  private readonly pending = new Map<string, Pending<In>>();
  private readonly waiting: Array<{ resolve(): void; reject(error: WiregenError): void }> = [];
  private readonly retry: { retryMs: number; maxRetryMs: number; maxAttempts: number } | undefined;
  private readonly onAbort = (): void => this.close();
  private closedBy: WiregenError | undefined;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  private readonly config: ClientConfig;
  private readonly parts: RequestParts;
  private readonly codec: WsCodec<Out, In>;
  private readonly options: WsOptions;

  constructor(config: ClientConfig, parts: RequestParts, codec: WsCodec<Out, In>, options: WsOptions) {
    super("connecting", options.bufferSize ?? 1024);
    this.config = config;
    this.parts = parts;
    this.codec = codec;
    this.options = options;
    const r = options.reconnect === true ? {} : options.reconnect || undefined;
    this.retry = r && { retryMs: r.retryMs ?? 1000, maxRetryMs: r.maxRetryMs ?? 30_000, maxAttempts: Math.max(1, r.maxAttempts ?? Infinity) };
    options.signal?.addEventListener("abort", this.onAbort, { once: true });
    if (options.signal?.aborted) queueMicrotask(this.onAbort);
    this.open();
  }

  send(message: Out): void {
    this.transmit(this.codec.encode(message));
  }

  request<R extends In>(message: Out, correlated: Correlated<In>, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const { signal } = options;
      if (this.closedBy) return reject(this.closedBy);
      if (signal?.aborted) return reject(new WiregenError("aborted", "the request was aborted", { cause: signal.reason }));
      const current = correlated.pointer.reduce<unknown>((at, key) => (isRecord(at) ? at[key] : undefined), message);
      const given = typeof current === "string" || typeof current === "number" ? String(current) : "";
      const id = given || freshId();
      if (this.pending.has(id)) return reject(new WiregenError("protocol", "a request with correlation id " + id + " is already waiting"));
      const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 10_000;
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.pending.delete(id);
        const queued = this.outbox.findIndex((entry) => entry.id === id);
        if (queued >= 0) this.outbox.splice(queued, 1);
      };
      const entry: Pending<In> = {
        correlated,
        sent: false,
        settle: (reply) => (cleanup(), resolve(reply as R)),
        fail: (error) => (cleanup(), reject(error)),
      };
      const onAbort = (): void => entry.fail(new WiregenError("aborted", "the request was aborted", { cause: signal?.reason }));
      const timer = setTimeout(() => entry.fail(new WiregenError("timeout", "no reply within " + timeoutMs + " ms")), delayMs(timeoutMs));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, entry);
      try {
        this.transmit(this.codec.encode(given ? message : (writeAt(message, correlated.pointer, id) as Out)), id);
      } catch (error) {
        const message = "the request cannot be sent: " + describe(error);
        entry.fail(error instanceof WiregenError ? error : new WiregenError("protocol", message, { cause: error }));
      }
    });
  }

  onMessage(listener: (message: In) => void): () => void {
    return this.onItem((item) => {
      if (item.kind === "message") listener(item.message);
    });
  }

  opened(): Promise<void> {
    if (this.state === "open") return Promise.resolve();
    if (this.closedBy) return Promise.reject(this.closedBy);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  close(code = 1000, reason = ""): void {
    this.shutdown(code, reason, new WiregenError("closed", "the connection was closed"));
  }

  private open(): void {
    let socket: WebSocketLike;
    try {
      const headers: Record<string, string> = {};
      requestHeaders(this.config, this.parts, this.options.headers).forEach((value, name) => (headers[name] = value));
      socket = (this.config.webSocket ?? defaultWebSocket)(url(this.config, this.parts, "ws"), headers);
    } catch (error) {
      return this.dropped(1006, describe(error), false);
    }
    let wasOpen = false;
    let failure = "";
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onerror = (event: unknown) => {
      const message = (event as { message?: unknown } | null)?.message;
      if (typeof message === "string") failure = message;
    };
    socket.onopen = () => {
      if (this.socket !== socket) return;
      wasOpen = true;
      this.failures = 0;
      this.setState("open");
      for (const { data, id } of this.outbox.splice(0)) this.write(socket, data, id);
      for (const waiter of this.waiting.splice(0)) waiter.resolve();
    };
    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.dropped(event.code, event.reason || failure, wasOpen);
    };
  }

  private write(socket: WebSocketLike, data: string | Uint8Array, id?: string): void {
    socket.send(data);
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (entry) entry.sent = true;
  }

  private transmit(data: string | Uint8Array, id?: string): void {
    if (this.closedBy) throw this.closedBy;
    if (this.socket && this.state === "open") return this.write(this.socket, data, id);
    const limit = this.options.sendBuffer ?? 256;
    if (this.outbox.length >= limit) throw new WiregenError("closed", limit + " messages already wait for the connection");
    this.outbox.push(id === undefined ? { data } : { data, id });
  }

  private receive(raw: unknown): void {
    const data = typeof raw === "string" ? raw
      : raw instanceof ArrayBuffer ? new Uint8Array(raw)
      : ArrayBuffer.isView(raw) ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
      : String(raw);
    let message: In | undefined;
    try {
      message = this.codec.decode(data);
    } catch (error) {
      const wrapped = new WiregenError("decode", "a frame does not decode: " + describe(error), { cause: error });
      return this.deliver({ kind: "malformed", data, error: wrapped });
    }
    if (message === undefined) return this.deliver({ kind: "unknown", data });
    const replyIds = new Map<Correlated<In>, string | undefined>();
    for (const [id, entry] of this.pending) {
      const { correlated } = entry;
      if (!replyIds.has(correlated)) {
        let replyId: string | undefined;
        guard(() => (replyId = correlated.replyId(message as In)));
        replyIds.set(correlated, replyId);
      }
      if (replyIds.get(correlated) === id) return entry.settle(message);
    }
    this.deliver({ kind: "message", message });
  }

  protected override deliver(item: WsItem<In>): void {
    super.deliver(item);
    if (this.queue.length <= this.bufferSize || this.closedBy) return;
    if (!this.iterating) this.queue.shift(); // nobody iterates yet: keep the newest
    else this.shutdown(1008, "the client fell behind", new WiregenError("closed", "the iterator fell more than " + this.bufferSize + " items behind"), true);
  }

  /** A socket closed, or could not be opened, without close(): reconnect or end. */
  private dropped(code: number, reason: string, wasOpen: boolean): void {
    if (this.closedBy) return;
    const lost = new WiregenError("closed", "the connection dropped before the reply came");
    for (const entry of [...this.pending.values()]) if (entry.sent) entry.fail(lost);
    if (!wasOpen) this.failures++;
    const retry = this.retry;
    if (!retry || this.failures >= retry.maxAttempts) {
      const why = reason ? ": " + reason : "";
      const error = wasOpen
        ? new WiregenError("closed", "the connection closed (" + code + why + ")")
        : new WiregenError("network", "the connection failed" + why);
      return this.shutdown(code, reason, error);
    }
    if (wasOpen) this.deliver({ kind: "closed", code, reason });
    this.setState("reconnecting");
    this.timer = setTimeout(() => this.open(), delayMs(backoff(retry.retryMs, this.failures, retry.maxRetryMs)));
  }

  /** Closed for good: everything waiting fails with `error`. */
  private shutdown(code: number, reason: string, error: WiregenError, failIterator = false): void {
    if (this.closedBy) return;
    this.closedBy = error;
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener("abort", this.onAbort);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = ignore; // onerror stays: `ws` throws an unheard error
      try {
        socket.close(code, reason);
      } catch {
        guard(() => socket.close(1000)); // a code or reason the platform refuses
      }
    }
    this.outbox.length = 0;
    for (const entry of [...this.pending.values()]) entry.fail(error);
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    this.deliver({ kind: "closed", code, reason });
    this.setState("closed");
    this.finish(failIterator ? error : undefined);
  }
}

function defaultWebSocket(target: string): WebSocketLike {
  const Socket = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Socket) throw new WiregenError("protocol", "there is no WebSocket here; set ClientConfig.webSocket");
  return new Socket(target);
}

/**
 * Opens a typed WebSocket at `url(config, parts, "ws")`; the handshake carries the config's,
 * the parameters', the credentials' and `options.headers` headers where the platform can send
 * them. It connects at once; `send` queues until it is open. A failed first connect ends it
 * (state `closed`, `opened()` rejects with a "network" error) unless it reconnects.
 */
export function connect<Out, In>(config: ClientConfig, parts: RequestParts, codec: WsCodec<Out, In>, options: WsOptions = {}): WsConnection<Out, In> {
  return new Connection(config, parts, codec, options);
}

// ---- Shared helpers -----------------------------------------------------------------------

/** Calls a listener; what it throws, or its promise rejects with, is reported, not propagated. */
function guard(call: () => unknown): void {
  try {
    const result = call();
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") (result as PromiseLike<unknown>).then(undefined, report);
  } catch (error) {
    report(error);
  }
}

function report(error: unknown): void {
  const reportError = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof reportError === "function") reportError(error);
  else console.error(error);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A delay setTimeout takes as it is: 0 to 2^31 - 1 ms (NaN → 0). */
function delayMs(ms: number): number {
  return Math.min(Math.max(ms || 0, 0), 2_147_483_647);
}

/**
 * The delay before a reconnection: `retry` after a connection that delivered (`failures` 0),
 * doubled per failed attempt (from at least 10 ms), capped at the larger of `max` and `retry`,
 * with full jitter in [delay/2, delay].
 */
function backoff(retry: number, failures: number, max: number): number {
  const delay = Math.min(failures === 0 ? retry : Math.max(retry, 10) * 2 ** Math.min(failures, 40), Math.max(max, retry));
  return delay / 2 + (Math.random() * delay) / 2;
}

/** A copy of `value` with `id` at `path`, the objects on the way copied or created. */
function writeAt(value: unknown, path: readonly string[], id: string): unknown {
  if (path.length === 0) return id;
  const copy: Record<string, unknown> = isRecord(value) ? { ...value } : {};
  copy[path[0] as string] = writeAt(copy[path[0] as string], path.slice(1), id);
  return copy;
}

/** A random UUID: crypto.randomUUID, or (outside secure contexts) from getRandomValues. */
function freshId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}
