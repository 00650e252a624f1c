// Shared by test/e2e/pos-sync.test.ts and bench/pos.mjs (which imports this file directly:
// Node 22 strips the types, so only erasable TypeScript belongs here, and relative imports
// carry their extension).
//
// A real `wrangler dev --local` (local D1, Durable Objects and queues, fresh temporary state)
// whose Square adapter talks to the POS vendor double (tools/pos-double) running in this
// process, plus the HTTP and socket helpers to drive an order from the storefront to the POS.

import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type DevServer, getFreePort, startDevServer } from "../../tools/dev-server.mjs";
import { type Fault, startPosDouble } from "../../tools/pos-double/server.mjs";
import square from "../../tools/pos-double/square.mjs";

export type PosDouble = Awaited<ReturnType<typeof startPosDouble>>;
export type { Fault };

const HTTP_TIMEOUT_MS = 30_000;
const STOP_DOUBLE_TIMEOUT_MS = 5_000;
/** What wrangler prints when a watched file changed and it reloads the Worker. */
const RELOAD_MARK = "Reloading local server";

export interface PosStack {
  /** The Worker's base URL, without a trailing slash. */
  url: string;
  adminToken: string;
  double: PosDouble;
  server: DevServer;
  /**
   * How often wrangler reloaded the Worker (someone saved a file under src/): a reload drops
   * the local queue's in-memory messages, so it explains a submission that never happens.
   */
  reloads: () => number;
  /** Stops wrangler (and workerd), the double, and removes the state directory; idempotent. */
  stop: () => Promise<void>;
}

/**
 * Starts the double (Square) and a `wrangler dev` pointed at it, with explicit vars so the
 * run does not depend on a `.dev.vars`. `port` and `vars` let a caller wire in more (the
 * Stripe double needs the Worker's URL before it runs); `alsoStop` is stopped with the stack.
 */
export async function startPosStack(
  options: {
    posTimeoutMs?: number;
    log?: (chunk: string) => void;
    port?: number;
    vars?: Record<string, string>;
    alsoStop?: () => Promise<unknown>;
  } = {},
): Promise<PosStack> {
  const adminToken = `pos-admin-${randomUUID()}`;
  const double = await startPosDouble({ vendors: [square] });
  let persistDir: string | undefined;
  let server: DevServer | undefined;
  let reloads = 0;
  let tail = "";
  const log = (chunk: string) => {
    options.log?.(chunk);
    const text = tail + chunk;
    let at = text.indexOf(RELOAD_MARK);
    while (at !== -1) {
      reloads += 1;
      at = text.indexOf(RELOAD_MARK, at + RELOAD_MARK.length);
    }
    tail = text.slice(-(RELOAD_MARK.length - 1));
  };
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // wrangler first: its connections to the double close with it, so the double's
      // server.close() is not left waiting on them.
      await server?.stop();
      const timeout = () =>
        new Promise((resolve) => setTimeout(resolve, STOP_DOUBLE_TIMEOUT_MS).unref());
      await Promise.all([
        Promise.race([double.stop(), timeout()]),
        Promise.race([options.alsoStop?.(), timeout()]),
      ]);
      if (persistDir) await rm(persistDir, { recursive: true, force: true });
    })();
    return stopping;
  };
  try {
    persistDir = await mkdtemp(path.join(tmpdir(), "orderlane-pos-"));
    server = await startDevServer({
      port: options.port ?? (await getFreePort()),
      persistTo: persistDir,
      vars: {
        ADMIN_TOKEN: adminToken,
        CREDENTIALS_KEY: randomBytes(32).toString("base64"),
        STRIPE_WEBHOOK_SECRET: "whsec_pos_local_secret",
        STRIPE_SECRET_KEY: "",
        POS_SQUARE_BASE_URL: double.baseUrl("square"),
        POS_TIMEOUT_MS: String(options.posTimeoutMs ?? 3000),
        ...options.vars,
      },
      log,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: server.url,
    adminToken,
    double,
    server,
    reloads: () => reloads,
    stop,
  };
}

// ---- HTTP ----

export interface CallOptions {
  method?: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  body: unknown;
  text: string;
}

/** One HTTP call, JSON in and out, bounded in time. */
export async function call(base: string, urlPath: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const method = options.method ?? (options.body === undefined ? "GET" : "POST");
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, body, text } satisfies CallResult;
}

/** Calls and throws (with the body) unless the status is `expected`. */
export async function callJson<T>(
  base: string,
  urlPath: string,
  options: CallOptions,
  expected: number,
): Promise<T> {
  const res = await call(base, urlPath, options);
  if (res.status !== expected) {
    const method = options.method ?? (options.body === undefined ? "GET" : "POST");
    throw new Error(
      `${method} ${urlPath} answered ${res.status} (expected ${expected}): ${res.text.slice(0, 500)}`,
    );
  }
  return res.body as T;
}

// ---- tenants and orders ----

export interface PosTenant {
  slug: string;
  ownerKey: string;
  staffKey: string;
  terminalKey: string;
  itemId: string;
}

/** The Square catalog id the tenant's menu item is mapped to. */
export const SQUARE_ITEM_ID = "SQ_CATALOG_BURGER";

let tenantSeq = 0;

/**
 * A fresh tenant with one menu item mapped to Square, Square connected with `autoSync`, and a
 * staff and a terminal key.
 */
export async function createSquareTenant(stack: PosStack, label = "pos"): Promise<PosTenant> {
  tenantSeq += 1;
  const slug = `${label}-${Date.now().toString(36)}-${tenantSeq}-${randomBytes(2).toString("hex")}`;
  const { ownerKey } = await callJson<{ ownerKey: string }>(
    stack.url,
    "/v1/platform/tenants",
    {
      token: stack.adminToken,
      body: {
        slug,
        name: `POS ${label} ${tenantSeq}`,
        currency: "USD",
        timezone: "America/New_York",
        taxRateBps: 875,
      },
    },
    201,
  );
  const { item } = await callJson<{ item: { id: string } }>(
    stack.url,
    `/v1/admin/${slug}/menu/items`,
    {
      token: ownerKey,
      body: {
        name: "Burger",
        description: "Mapped to the Square catalog",
        price: { amount: 1200, currency: "USD" },
        available: true,
        posItemId: SQUARE_ITEM_ID,
        modifiers: [],
      },
    },
    201,
  );
  await callJson(
    stack.url,
    `/v1/admin/${slug}/pos/connect`,
    {
      token: ownerKey,
      body: {
        provider: "square",
        locationId: "L1",
        credentials: { accessToken: "sq", refreshToken: "r", clientId: "c", clientSecret: "s" },
        settings: { autoSync: true },
      },
    },
    200,
  );
  const key = async (role: "staff" | "terminal") =>
    (
      await callJson<{ key: string }>(
        stack.url,
        `/v1/admin/${slug}/keys`,
        { token: ownerKey, body: { role, label: `${label} ${role}` } },
        201,
      )
    ).key;
  return {
    slug,
    ownerKey,
    staffKey: await key("staff"),
    terminalKey: await key("terminal"),
    itemId: item.id,
  };
}

export interface OrderView {
  id: string;
  number: number;
  status: string;
  paymentStatus: string;
  posStatus: string;
  externalId: string | null;
}

let customers = 0;

/**
 * A new customer's address, for `CF-Connecting-IP` (198.18.0.0/15, the range set aside for
 * benchmarks). wrangler dev passes a client-supplied value through (test/e2e/rate-limit.test.ts),
 * so a load run's orders count against the per-client rate limits as many customers' orders
 * would, not all as 127.0.0.1's (README "Rate limits").
 */
export function nextCustomerAddress(): string {
  const n = customers++ % 131_072;
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/** Places one unpaid pickup order (unique Idempotency-Key, a new customer); returns its id. */
export async function placeOrder(stack: PosStack, tenant: PosTenant): Promise<string> {
  const placed = await callJson<{ order: OrderView }>(
    stack.url,
    `/v1/stores/${tenant.slug}/orders`,
    {
      headers: {
        "idempotency-key": `pos-${randomUUID()}`,
        "cf-connecting-ip": nextCustomerAddress(),
      },
      body: {
        orderType: "pickup",
        items: [{ menuItemId: tenant.itemId, quantity: 1 }],
        customer: { name: "Ada Lovelace" },
      },
    },
    201,
  );
  return placed.order.id;
}

/** Confirms an order as paid at the counter; returns the order as the response shows it. */
export async function markPaid(stack: PosStack, tenant: PosTenant, orderId: string) {
  const { order } = await callJson<{ order: OrderView }>(
    stack.url,
    `/v1/admin/${tenant.slug}/orders/${orderId}/mark-paid`,
    { token: tenant.ownerKey, body: {} },
    200,
  );
  return order;
}

/** Runs `task` for 0..count-1 with at most `concurrency` in flight; results in index order. */
export async function inPool<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  return results;
}

/** Every order of the tenant, following `nextCursor` (newest first). */
export async function listOrders(stack: PosStack, tenant: PosTenant): Promise<OrderView[]> {
  const out: OrderView[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const res: { items: OrderView[]; nextCursor: string | null } = await callJson(
      stack.url,
      `/v1/admin/${tenant.slug}/orders?limit=200${query}`,
      { token: tenant.staffKey },
      200,
    );
    out.push(...res.items);
    cursor = res.nextCursor;
    if (!cursor) return out;
  }
  throw new Error("more than 1000 pages of orders");
}

const FINAL_POS_STATUSES = new Set(["synced", "failed"]);

/**
 * Polls the order list until every one of `ids` has a final POS status (synced or failed) or
 * `timeoutMs` passes; returns the last view of each (the caller asserts what it expects).
 */
export async function waitForFinalPosStatus(
  stack: PosStack,
  tenant: PosTenant,
  ids: readonly string[],
  { timeoutMs, pollMs = 1000 }: { timeoutMs: number; pollMs?: number },
): Promise<{ orders: Map<string, OrderView>; settled: boolean; waitedMs: number }> {
  const started = Date.now();
  const wanted = new Set(ids);
  for (;;) {
    const orders = new Map<string, OrderView>();
    for (const order of await listOrders(stack, tenant)) {
      if (wanted.has(order.id)) orders.set(order.id, order);
    }
    const settled =
      orders.size === wanted.size &&
      [...orders.values()].every((o) => FINAL_POS_STATUSES.has(o.posStatus));
    const waitedMs = Date.now() - started;
    if (settled || waitedMs >= timeoutMs) return { orders, settled, waitedMs };
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, timeoutMs - waitedMs)));
  }
}

/** Counts by POS status, for messages: `{ synced: 198, retrying: 2 }`. */
export function countByPosStatus(orders: Iterable<OrderView>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const order of orders) counts[order.posStatus] = (counts[order.posStatus] ?? 0) + 1;
  return counts;
}

export interface SyncAttempt {
  id: string;
  orderId: string;
  provider: string;
  attempt: number;
  status: "success" | "retryable_error" | "permanent_error";
  errorCode: string | null;
  errorMessage: string | null;
  durationMs: number;
  posOrderId: string | null;
  startedAt: string;
}

/** The tenant's whole sync history (newest first), following `nextCursor`. */
export async function syncHistory(stack: PosStack, tenant: PosTenant): Promise<SyncAttempt[]> {
  const out: SyncAttempt[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const res: { items: SyncAttempt[]; nextCursor: string | null } = await callJson(
      stack.url,
      `/v1/admin/${tenant.slug}/pos/sync-history?limit=200${query}`,
      { token: tenant.staffKey },
      200,
    );
    out.push(...res.items);
    cursor = res.nextCursor;
    if (!cursor) return out;
  }
  throw new Error("more than 1000 pages of sync history");
}

// ---- what the double saw ----

export interface CreateOrderCall {
  /** Our order id (the CreateOrder idempotency key). */
  orderId: string;
  referenceId: string | undefined;
  /** Arrival time at the double, ms since the epoch. */
  at: number;
}

/** The CreateOrder calls (POST /v2/orders) the Square double received, oldest first. */
export function squareCreateCalls(double: PosDouble): CreateOrderCall[] {
  return double
    .requests("square", "/v2/orders")
    .filter((r) => r.method === "POST" && r.path.split("?")[0] === "/v2/orders")
    .map((r) => {
      let body: { idempotency_key?: string; order?: { reference_id?: string } } = {};
      try {
        body = JSON.parse(r.body);
      } catch {
        // recorded as is; no order id
      }
      return {
        orderId: body.idempotency_key ?? "",
        referenceId: body.order?.reference_id,
        at: r.at,
      };
    });
}

// ---- fault plans ----

/** A small seeded PRNG (mulberry32), so a fault plan can be reproduced from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The retryable faults a plan cycles through. */
export const RETRYABLE_FAULTS: readonly Fault[] = [
  { kind: "status", status: 500, retryAfter: 1 },
  { kind: "status", status: 503, retryAfter: 1 },
  { kind: "status", status: 429, retryAfter: 1 },
  { kind: "accept_then_fail", status: 502 },
];

/**
 * One entry per CreateOrder call, in order: exactly `round(calls × rate)` retryable faults
 * (500, 503, 429 with Retry-After 1, and accepted-then-502, in turn), the rest pass-throughs
 * (`delay` 0 ms, which handles the call normally), shuffled with `seed`. The double's fault
 * queue is first-in first-out, so injected whole it fails that share of the next `calls`
 * CreateOrder calls, retries included.
 */
export function faultPlan(calls: number, rate: number, seed: number): Fault[] {
  const faults = Math.round(calls * rate);
  const plan: Fault[] = [];
  for (let i = 0; i < calls; i++) {
    plan.push(
      i < faults
        ? (RETRYABLE_FAULTS[i % RETRYABLE_FAULTS.length] as Fault)
        : { kind: "delay", ms: 0 },
    );
  }
  const random = seededRandom(seed);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j] as Fault, plan[i] as Fault];
  }
  return plan;
}

/** Whether a plan entry is a fault rather than a pass-through. */
export function isFault(fault: Fault): boolean {
  return fault.kind !== "delay" || fault.ms > 0;
}

// ---- terminals ----

export interface Frame {
  type: string;
  seq?: number;
  data?: unknown;
  [key: string]: unknown;
}

export interface TerminalSocket {
  frames: Frame[];
  closed: { code: number; reason: string } | null;
  /** Waits (bounded) until a frame matches; returns it. */
  waitFor: (predicate: (frame: Frame) => boolean, ms: number) => Promise<Frame>;
  close: () => void;
}

/**
 * Connects to `/ws/pos/<tenant>` as a browser terminal does: a single-use ticket from the
 * terminal key, then `?ticket=`. Resolves after `hello`. Needs Node 22's global WebSocket.
 */
export async function connectTerminal(
  stack: PosStack,
  tenant: PosTenant,
  name = "e2e",
): Promise<TerminalSocket> {
  if (typeof WebSocket === "undefined") {
    throw new Error(`no global WebSocket in Node ${process.version}; run under Node 22`);
  }
  const { ticket } = await callJson<{ ticket: string }>(
    stack.url,
    `/v1/pos/${tenant.slug}/terminals/ticket`,
    { token: tenant.terminalKey, body: {} },
    201,
  );
  const wsUrl = new URL(`/ws/pos/${tenant.slug}`, stack.url);
  wsUrl.protocol = "ws:";
  wsUrl.searchParams.set("ticket", ticket);
  wsUrl.searchParams.set("name", name);
  const ws = new WebSocket(wsUrl);
  const frames: Frame[] = [];
  let waiters: (() => void)[] = [];
  const wake = () => {
    const current = waiters;
    waiters = [];
    for (const waiter of current) waiter();
  };
  const socket: TerminalSocket = {
    frames,
    closed: null,
    async waitFor(predicate, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = frames.find(predicate);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0 || socket.closed) {
          const types = frames.map((f) => f.type).join(", ");
          throw new Error(
            `no matching frame within ${ms} ms${socket.closed ? ` (socket closed ${socket.closed.code})` : ""}; got [${types}]`,
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close() {
      try {
        ws.close(1000, "done");
      } catch {
        // already closing
      }
    },
  };
  ws.addEventListener("message", (event) => {
    try {
      frames.push(JSON.parse(String(event.data)) as Frame);
    } catch {
      return;
    }
    wake();
  });
  ws.addEventListener("close", (event) => {
    socket.closed = { code: event.code, reason: event.reason };
    wake();
  });
  await socket.waitFor((f) => f.type === "hello", 15_000);
  return socket;
}

// ---- statistics ----

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}
