import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  type TestTenant,
  tableCounts,
} from "../helpers";
import { connectTerminal } from "../ws-helpers";

/*
 * POST /webhooks/pos/:provider/:tenant, end to end inside workerd: each
 * vendor's webhook is built and signed with the POS double's own helpers
 * (tools/pos-double/*.mjs, the vendors' documented schemes), sent to the
 * Worker, and its effect read back from D1 and from a connected terminal.
 */

// ------------------------------------------------------------ the doubles' helpers

/** The parts of tools/pos-double/toast.mjs used here. */
interface ToastDouble {
  orderUpdatedEvent(
    order: unknown,
    options?: { timestamp?: string; eventGuid?: string },
  ): Record<string, unknown>;
  signWebhook(body: string, secret: string): Record<string, string>;
}
/** The parts of tools/pos-double/clover.mjs used here. */
interface CloverDouble {
  orderEvent(event: {
    appId: string;
    merchantId: string;
    orderId: string;
    type: "CREATE" | "UPDATE" | "DELETE";
    ts?: number;
  }): Record<string, unknown>;
  signWebhook(body: string, secret: string): Record<string, string>;
}
/** The parts of tools/pos-double/square.mjs used here. */
interface SquareDouble {
  signWebhook(body: string, signatureKey: string, notificationUrl: string): Record<string, string>;
}
/** The parts of tools/pos-double/webhook-receiver.mjs used here. */
interface ReceiverDouble {
  signWebhook(body: string, secret: string, timestamp?: number): Record<string, string>;
}

// The .mjs modules have no type declarations and the main tsconfig does not
// allow JS, so they are imported through a non-literal specifier and typed
// by the shapes above. `nodejs_compat` provides the node:crypto they use.
const DOUBLE_DIR = "../../tools/pos-double";
async function loadDouble<T>(file: string): Promise<T> {
  const specifier = `${DOUBLE_DIR}/${file}`;
  return (await import(/* @vite-ignore */ specifier)) as T;
}

let toastDouble: ToastDouble;
let cloverDouble: CloverDouble;
let squareDouble: SquareDouble;
let receiverDouble: ReceiverDouble;

beforeAll(async () => {
  toastDouble = await loadDouble<ToastDouble>("toast.mjs");
  cloverDouble = await loadDouble<CloverDouble>("clover.mjs");
  squareDouble = await loadDouble<SquareDouble>("square.mjs");
  receiverDouble = await loadDouble<ReceiverDouble>("webhook-receiver.mjs");
});

// ------------------------------------------------------------------ shared helpers

type Provider = "toast" | "clover" | "square" | "webhook";

/** What `POST /v1/admin/:tenant/pos/connect` gets for each provider. */
const CONNECT: Record<
  Provider,
  { locationId: string; credentials: Record<string, string>; webhookSecret: string }
> = {
  toast: {
    locationId: "6f3c2a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f",
    credentials: {
      clientId: "toast-client",
      clientSecret: "toast-client-secret",
      diningOptionPickup: "a1b2c3d4-0000-4000-8000-000000000001",
    },
    webhookSecret: "toast-webhook-secret",
  },
  clover: {
    locationId: "MCLOVERTEST01",
    credentials: { accessToken: "clover-access" },
    // Clover's "secret" is the app's auth code, sent as is in X-Clover-Auth.
    webhookSecret: "clover-app-auth-code",
  },
  square: {
    locationId: "L_TEST_LOCATION",
    credentials: { accessToken: "sq-access", refreshToken: "sq-refresh", clientId: "sq-app" },
    webhookSecret: "square-signature-key",
  },
  webhook: {
    locationId: "kitchen-1",
    credentials: { url: "https://pos.example/orders", secret: "outgoing-secret-0123456789" },
    webhookSecret: "status-webhook-secret",
  },
};

/** A Clover-looking id: 13 upper-case letters and digits. */
function cloverId(): string {
  return crypto.randomUUID().replace(/-/g, "").slice(0, 13).toUpperCase();
}

/** A Square-looking order id: 27 base62 characters and "ZY". */
function squareOrderId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(27));
  return `${Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("")}ZY`;
}

let receiverSeq = 0;
/** The id of the POS's copy of an order, in the shape each vendor uses. */
function vendorOrderId(provider: Provider): string {
  switch (provider) {
    case "toast":
      return crypto.randomUUID();
    case "clover":
      return cloverId();
    case "square":
      return squareOrderId();
    case "webhook":
      receiverSeq += 1;
      return `wh_${receiverSeq}`;
  }
}

interface Setup {
  provider: Provider;
  t: TestTenant;
  /** Our order id. */
  orderId: string;
  /** The POS's id of the same order (orders.external_id). */
  externalId: string;
}

let idempotencySeq = 0;

/**
 * A tenant connected to `provider` (autoSync off), with one confirmed pickup
 * order that looks synced to that POS under a vendor-shaped external id.
 */
async function setupProvider(provider: Provider): Promise<Setup> {
  const t = await createTenant();
  await callJson(
    `/v1/admin/${t.slug}/pos/connect`,
    {
      token: t.ownerKey,
      body: { provider, ...CONNECT[provider], settings: { autoSync: false } },
    },
    200,
  );
  const item = await createMenuItem(t, { name: "Burger", price: 1200 });
  const created = await callJson<{ order: { id: string; status: string } }>(
    `/v1/stores/${t.slug}/orders`,
    {
      body: {
        orderType: "pickup",
        items: [{ menuItemId: item.id, quantity: 1 }],
        customer: { name: "Ada Lovelace", phone: "+15550100", email: "ada@example.com" },
      },
      headers: { "idempotency-key": `pos-webhook-${Date.now()}-${++idempotencySeq}` },
    },
    201,
  );
  expect(created.order.status).toBe("pending_payment");
  const paid = await callJson<{ order: { status: string } }>(
    `/v1/admin/${t.slug}/orders/${created.order.id}/mark-paid`,
    { token: t.ownerKey, body: {} },
    200,
  );
  expect(paid.order.status).toBe("confirmed");
  const externalId = vendorOrderId(provider);
  await env.DB.prepare("UPDATE orders SET pos_status = 'synced', external_id = ? WHERE id = ?")
    .bind(externalId, created.order.id)
    .run();
  return { provider, t, orderId: created.order.id, externalId };
}

interface Signed {
  body: string;
  headers: Record<string, string>;
}

function webhookPath(provider: string, slug: string): string {
  return `/webhooks/pos/${provider}/${slug}`;
}

/** Posts a webhook exactly as given (the raw body is what was signed). */
function send(provider: string, slug: string, signed: Signed): Promise<Response> {
  return call(webhookPath(provider, slug), {
    method: "POST",
    rawBody: signed.body,
    headers: signed.headers,
  });
}

interface WebhookAnswer {
  received: boolean;
  events: number;
  applied: number;
}

async function sendOk(provider: string, slug: string, signed: Signed): Promise<WebhookAnswer> {
  const res = await send(provider, slug, signed);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as WebhookAnswer;
}

interface OrderRow {
  status: string;
  payment_status: string;
  pos_status: string;
  external_id: string | null;
  revision: string;
  updated_at: string;
}

async function orderRow(id: string): Promise<OrderRow | null> {
  return env.DB.prepare(
    "SELECT status, payment_status, pos_status, external_id, revision, updated_at FROM orders WHERE id = ?",
  )
    .bind(id)
    .first<OrderRow>();
}

async function history(orderId: string) {
  const rows = await env.DB.prepare(
    "SELECT from_status, to_status, source FROM order_status_history WHERE order_id = ? ORDER BY id",
  )
    .bind(orderId)
    .all<{ from_status: string | null; to_status: string; source: string }>();
  return rows.results;
}

async function webhookEventIds(tenantId: string) {
  const rows = await env.DB.prepare(
    "SELECT provider, event_id FROM webhook_events WHERE tenant_id = ? ORDER BY event_id",
  )
    .bind(tenantId)
    .all<{ provider: string; event_id: string }>();
  return rows.results;
}

/** Everything a webhook could change: row counts, the order, its history, the dedupe rows. */
async function snapshot(s: Setup) {
  // Events are compared by id (`webhookEvents`): an ignored event is recorded too.
  const { webhook_events: _recorded, ...counts } = await tableCounts();
  return {
    counts,
    order: await orderRow(s.orderId),
    history: await history(s.orderId),
    webhookEvents: await webhookEventIds(s.t.id),
  };
}

/** `counts` with `by` added to some tables. */
function grown(counts: Record<string, number>, by: Record<string, number>): Record<string, number> {
  const out = { ...counts };
  for (const [table, n] of Object.entries(by)) out[table] = (counts[table] ?? 0) + n;
  return out;
}

/** The history rows of an order paid at the counter: created, then confirmed by staff. */
const PAID_HISTORY = [
  { from_status: null, to_status: "pending_payment", source: "storefront" },
  { from_status: "pending_payment", to_status: "confirmed", source: "staff" },
];

// -------------------------------------------- vendors that report kitchen progress

/** A forward status each vendor can report, in our words. */
type Progress = "preparing" | "ready";

/** Which order a webhook names; for an unknown order, ids we do not have. */
interface Target {
  slug: string;
  orderId: string;
  externalId: string;
}

interface ProgressCase {
  provider: "toast" | "square" | "webhook";
  /** A correctly signed webhook saying the order reached `status`. */
  event(target: Target, status: Progress, eventId: string): Signed;
  /** The same webhook signed with another secret. */
  wrongSecret(target: Target, status: Progress, eventId: string): Signed;
  /** `signed` with its body changed after signing, to claim the order is ready. */
  tamper(signed: Signed): Signed;
  /** The header(s) carrying the signature. */
  signatureHeaders: string[];
}

const TOAST_KITCHEN: Record<Progress, string> = { preparing: "SENT", ready: "READY" };

/** A Toast `order_updated` message: an approved order whose items are at `status` in the kitchen. */
function toastBody(target: Target, status: Progress, eventId: string): string {
  const order = {
    guid: target.externalId,
    entityType: "Order",
    // Toast echoes the externalId we created the order with.
    externalId: `orderlane:${target.orderId}`,
    restaurantGuid: CONNECT.toast.locationId,
    approvalStatus: "APPROVED",
    voided: false,
    deleted: false,
    checks: [
      {
        guid: crypto.randomUUID(),
        voided: false,
        selections: [
          { guid: crypto.randomUUID(), fulfillmentStatus: TOAST_KITCHEN[status], voided: false },
        ],
      },
    ],
  };
  return JSON.stringify(toastDouble.orderUpdatedEvent(order, { eventGuid: eventId }));
}

const SQUARE_FULFILLMENT: Record<Progress, string> = { preparing: "RESERVED", ready: "PREPARED" };

/** A Square `order.fulfillment.updated` event moving the order's pickup fulfillment to `status`. */
function squareBody(target: Target, status: Progress, eventId: string): string {
  const at = new Date().toISOString();
  return JSON.stringify({
    merchant_id: "ML2PMZQDOUBLE",
    type: "order.fulfillment.updated",
    event_id: eventId,
    created_at: at,
    data: {
      type: "order_fulfillment_updated",
      id: target.externalId,
      object: {
        order_fulfillment_updated: {
          order_id: target.externalId,
          location_id: CONNECT.square.locationId,
          state: "OPEN",
          version: 3,
          created_at: at,
          updated_at: at,
          fulfillment_update: [
            {
              fulfillment_uid: "fulfillment-0",
              old_state: status === "preparing" ? "PROPOSED" : "RESERVED",
              new_state: SQUARE_FULFILLMENT[status],
            },
          ],
        },
      },
    },
  });
}

/**
 * Square signs the notification URL it was given: PUBLIC_BASE_URL's origin (vitest.config.ts)
 * with the path, not the origin the request arrives on (http://orderlane.test).
 */
function squareUrl(slug: string, origin = "https://orders.orderlane.example"): string {
  return `${origin}${webhookPath("square", slug)}`;
}

/** A status webhook from the generic webhook POS's receiver, in our words. */
function receiverBody(target: Target, status: Progress, eventId: string): string {
  return JSON.stringify({
    eventId,
    orderId: target.orderId,
    posOrderId: target.externalId,
    status,
    occurredAt: new Date().toISOString(),
  });
}

function replaceOnce(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

const PROGRESS_CASES: ProgressCase[] = [
  {
    provider: "toast",
    event(target, status, eventId) {
      const body = toastBody(target, status, eventId);
      return { body, headers: toastDouble.signWebhook(body, CONNECT.toast.webhookSecret) };
    },
    wrongSecret(target, status, eventId) {
      const body = toastBody(target, status, eventId);
      return { body, headers: toastDouble.signWebhook(body, "not-the-toast-secret") };
    },
    tamper: (signed) => ({
      ...signed,
      body: replaceOnce(signed.body, '"fulfillmentStatus":"SENT"', '"fulfillmentStatus":"READY"'),
    }),
    signatureHeaders: ["toast-signature"],
  },
  {
    provider: "square",
    event(target, status, eventId) {
      const body = squareBody(target, status, eventId);
      return {
        body,
        headers: squareDouble.signWebhook(
          body,
          CONNECT.square.webhookSecret,
          squareUrl(target.slug),
        ),
      };
    },
    wrongSecret(target, status, eventId) {
      const body = squareBody(target, status, eventId);
      return {
        body,
        headers: squareDouble.signWebhook(body, "not-the-square-key", squareUrl(target.slug)),
      };
    },
    tamper: (signed) => ({
      ...signed,
      body: replaceOnce(signed.body, '"new_state":"RESERVED"', '"new_state":"PREPARED"'),
    }),
    signatureHeaders: ["x-square-hmacsha256-signature"],
  },
  {
    provider: "webhook",
    event(target, status, eventId) {
      const body = receiverBody(target, status, eventId);
      return {
        body,
        headers: {
          "content-type": "application/json",
          ...receiverDouble.signWebhook(body, CONNECT.webhook.webhookSecret),
        },
      };
    },
    wrongSecret(target, status, eventId) {
      const body = receiverBody(target, status, eventId);
      return {
        body,
        headers: {
          "content-type": "application/json",
          ...receiverDouble.signWebhook(body, "not-the-status-secret"),
        },
      };
    },
    tamper: (signed) => ({
      ...signed,
      body: replaceOnce(signed.body, '"status":"preparing"', '"status":"ready"'),
    }),
    signatureHeaders: ["x-orderlane-signature", "x-orderlane-timestamp"],
  },
];

function targetOf(s: Setup): Target {
  return { slug: s.t.slug, orderId: s.orderId, externalId: s.externalId };
}

function newEventId(provider: Provider): string {
  return provider === "square" ? crypto.randomUUID() : `evt-${crypto.randomUUID()}`;
}

describe.each(PROGRESS_CASES)("POS webhooks: $provider", (c) => {
  it("a signed status webhook moves the order forward, records pos_webhook history, tells terminals", async () => {
    const s = await setupProvider(c.provider);
    const terminal = await connectTerminal(s.t.slug, { token: await createKey(s.t, "terminal") });
    const before = await tableCounts();
    const eventId = newEventId(c.provider);

    const answer = await sendOk(c.provider, s.t.slug, c.event(targetOf(s), "preparing", eventId));
    expect(answer).toEqual({ received: true, events: 1, applied: 1 });

    const row = await orderRow(s.orderId);
    expect(row).toMatchObject({
      status: "preparing",
      payment_status: "paid",
      pos_status: "synced",
      external_id: s.externalId,
    });
    expect(await history(s.orderId)).toEqual([
      ...PAID_HISTORY,
      { from_status: "confirmed", to_status: "preparing", source: "pos_webhook" },
    ]);
    expect(await webhookEventIds(s.t.id)).toEqual([
      { provider: c.provider, event_id: `${s.t.id}:${eventId}` },
    ]);
    // One history row and one outbox row (the order_updated); nothing else.
    expect(await tableCounts()).toEqual(
      grown(before, { order_status_history: 1, outbox_events: 1, webhook_events: 1 }),
    );

    const update = await terminal.waitFor(
      (m) =>
        m.type === "order_updated" && (m.data as { order: { id: string } }).order.id === s.orderId,
    );
    expect(update.data).toMatchObject({
      order: { id: s.orderId, status: "preparing", posStatus: "synced", externalId: s.externalId },
      previousStatus: "confirmed",
      change: "status",
    });
    terminal.close();
  });

  it("a tampered body, a wrong secret or no signature is 400 and changes nothing", async () => {
    const s = await setupProvider(c.provider);
    const valid = c.event(targetOf(s), "preparing", newEventId(c.provider));
    const unsigned = Object.fromEntries(
      Object.entries(valid.headers).filter(([name]) => !c.signatureHeaders.includes(name)),
    );
    const refused: Signed[] = [
      c.tamper(valid),
      c.wrongSecret(targetOf(s), "preparing", newEventId(c.provider)),
      { body: valid.body, headers: unsigned },
    ];
    const before = await snapshot(s);

    for (const attempt of refused) {
      const error = await expectError(
        await send(c.provider, s.t.slug, attempt),
        400,
        "validation_failed",
      );
      // Refused by the signature check, not by the body parser.
      expect(error.message).toBe("webhook signature is missing or invalid");
    }

    expect(await snapshot(s)).toEqual(before);
    expect(before.order?.status).toBe("confirmed");
  });

  it("a replayed webhook is 200 and changes nothing", async () => {
    const s = await setupProvider(c.provider);
    const signed = c.event(targetOf(s), "preparing", newEventId(c.provider));
    expect(await sendOk(c.provider, s.t.slug, signed)).toEqual({
      received: true,
      events: 1,
      applied: 1,
    });
    const afterFirst = await snapshot(s);
    expect(afterFirst.order?.status).toBe("preparing");

    expect(await sendOk(c.provider, s.t.slug, signed)).toEqual({
      received: true,
      events: 1,
      applied: 0,
    });
    expect(await snapshot(s)).toEqual(afterFirst);
    expect(
      (await history(s.orderId)).filter((h) => h.source === "pos_webhook").map((h) => h.to_status),
    ).toEqual(["preparing"]);
  });

  it("an earlier status arriving after a later one is 200 and ignored", async () => {
    const s = await setupProvider(c.provider);
    expect(
      await sendOk(c.provider, s.t.slug, c.event(targetOf(s), "ready", newEventId(c.provider))),
    ).toEqual({ received: true, events: 1, applied: 1 });
    const afterReady = await snapshot(s);
    expect(afterReady.order?.status).toBe("ready");

    const lateId = newEventId(c.provider);
    expect(await sendOk(c.provider, s.t.slug, c.event(targetOf(s), "preparing", lateId))).toEqual({
      received: true,
      events: 1,
      applied: 0,
    });

    const after = await snapshot(s);
    expect(after.counts).toEqual(afterReady.counts);
    expect(after.order).toEqual(afterReady.order);
    expect(after.history).toEqual([
      ...PAID_HISTORY,
      { from_status: "confirmed", to_status: "ready", source: "pos_webhook" },
    ]);
    // The stale event is remembered, so its redelivery is a cheap no-op too.
    expect(after.webhookEvents).toContainEqual({
      provider: c.provider,
      event_id: `${s.t.id}:${lateId}`,
    });
    expect(after.webhookEvents).toHaveLength(2);
  });

  it("a valid webhook naming an order we do not have is 200 and changes nothing", async () => {
    const s = await setupProvider(c.provider);
    const before = await snapshot(s);
    const unknown: Target = {
      slug: s.t.slug,
      orderId: `ord_unknown_${crypto.randomUUID()}`,
      externalId: vendorOrderId(c.provider),
    };
    const eventId = newEventId(c.provider);
    expect(await sendOk(c.provider, s.t.slug, c.event(unknown, "ready", eventId))).toEqual({
      received: true,
      events: 1,
      applied: 0,
    });
    const after = await snapshot(s);
    expect(after.counts).toEqual(before.counts);
    expect(after.order).toEqual(before.order);
    expect(after.history).toEqual(before.history);
    expect(after.webhookEvents).toEqual([
      { provider: c.provider, event_id: `${s.t.id}:${eventId}` },
    ]);
  });
});

describe("POS webhooks: square's notification URL", () => {
  it("is PUBLIC_BASE_URL's: a signature over the URL the request arrived on is 400 and changes nothing", async () => {
    const s = await setupProvider("square");
    const body = squareBody(targetOf(s), "preparing", newEventId("square"));
    // Signed over the origin the Worker sees (http://orderlane.test), as a request URL check
    // would want: behind a proxy Square never signs that one.
    const overArrival = squareDouble.signWebhook(
      body,
      CONNECT.square.webhookSecret,
      squareUrl(s.t.slug, "http://orderlane.test"),
    );
    const before = await snapshot(s);
    const error = await expectError(
      await send("square", s.t.slug, { body, headers: overArrival }),
      400,
      "validation_failed",
    );
    expect(error.message).toBe("webhook signature is missing or invalid");
    expect(await snapshot(s)).toEqual(before);
  });
});

describe("POS webhooks: webhook (receiver) signatures", () => {
  it("a correctly signed webhook older than five minutes is 400 and changes nothing", async () => {
    const s = await setupProvider("webhook");
    const body = receiverBody(targetOf(s), "preparing", newEventId("webhook"));
    const stale = Math.floor(Date.now() / 1000) - 301;
    const before = await snapshot(s);
    await expectError(
      await send("webhook", s.t.slug, {
        body,
        headers: receiverDouble.signWebhook(body, CONNECT.webhook.webhookSecret, stale),
      }),
      400,
      "validation_failed",
    );
    expect(await snapshot(s)).toEqual(before);
  });
});

// ------------------------------------------------------------------------ Clover

/** A Clover webhook message about one of the merchant's orders, with the app's auth code. */
function cloverWebhook(
  s: Setup,
  type: "CREATE" | "UPDATE" | "DELETE",
  ts: number,
  options: { orderId?: string; authCode?: string } = {},
): Signed {
  const body = JSON.stringify(
    cloverDouble.orderEvent({
      appId: "ORDERLANEAPP1",
      merchantId: CONNECT.clover.locationId,
      orderId: options.orderId ?? s.externalId,
      type,
      ts,
    }),
  );
  return {
    body,
    headers: cloverDouble.signWebhook(body, options.authCode ?? CONNECT.clover.webhookSecret),
  };
}

function cloverEventId(s: Setup, orderId: string, type: string, ts: number): string {
  return `${s.t.id}:${CONNECT.clover.locationId}:O:${orderId}:${type}:${ts}`;
}

describe("POS webhooks: clover", () => {
  // Clover's order events carry only a type; per its adapter only DELETE maps
  // to one of our statuses (cancelled). No Clover event can move an order
  // forward through the kitchen states.

  it("DELETE cancels the order, records pos_webhook history, tells terminals", async () => {
    const s = await setupProvider("clover");
    const terminal = await connectTerminal(s.t.slug, { token: await createKey(s.t, "terminal") });
    const before = await tableCounts();
    const ts = Date.now();

    expect(await sendOk("clover", s.t.slug, cloverWebhook(s, "DELETE", ts))).toEqual({
      received: true,
      events: 1,
      applied: 1,
    });
    // Paid at the counter: there is no card payment to refund; staff settle it in the shop.
    expect(await orderRow(s.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "paid",
      pos_status: "synced",
      external_id: s.externalId,
    });
    expect(await history(s.orderId)).toEqual([
      ...PAID_HISTORY,
      { from_status: "confirmed", to_status: "cancelled", source: "pos_webhook" },
    ]);
    expect(await webhookEventIds(s.t.id)).toEqual([
      { provider: "clover", event_id: cloverEventId(s, s.externalId, "DELETE", ts) },
    ]);
    // One history row, one outbox row (the order_updated) and the event recorded; nothing else.
    expect(await tableCounts()).toEqual(
      grown(before, { order_status_history: 1, outbox_events: 1, webhook_events: 1 }),
    );
    const update = await terminal.waitFor(
      (m) =>
        m.type === "order_updated" && (m.data as { order: { id: string } }).order.id === s.orderId,
    );
    expect(update.data).toMatchObject({
      order: { id: s.orderId, status: "cancelled", externalId: s.externalId },
      previousStatus: "confirmed",
      change: "status",
    });
    terminal.close();
  });

  it("UPDATE (and CREATE) are acknowledged and change nothing", async () => {
    const s = await setupProvider("clover");
    const before = await snapshot(s);
    const ts = Date.now();
    expect(await sendOk("clover", s.t.slug, cloverWebhook(s, "UPDATE", ts))).toEqual({
      received: true,
      events: 1,
      applied: 0,
    });
    expect(await sendOk("clover", s.t.slug, cloverWebhook(s, "CREATE", ts + 1))).toEqual({
      received: true,
      events: 1,
      applied: 0,
    });
    const after = await snapshot(s);
    expect(after.counts).toEqual(before.counts);
    expect(after.order).toEqual(before.order);
    expect(after.order?.status).toBe("confirmed");
    expect(after.history).toEqual(PAID_HISTORY);
    expect(after.webhookEvents).toHaveLength(2);
  });

  it("a wrong or missing auth code is 400 and changes nothing", async () => {
    // Clover does not sign bodies: a webhook proves itself only by carrying
    // the app's auth code in X-Clover-Auth, so the wrong code is the test.
    const s = await setupProvider("clover");
    const before = await snapshot(s);
    await expectError(
      await send(
        "clover",
        s.t.slug,
        cloverWebhook(s, "DELETE", Date.now(), { authCode: "not-the-auth-code" }),
      ),
      400,
      "validation_failed",
    );
    const valid = cloverWebhook(s, "DELETE", Date.now());
    await expectError(
      await send("clover", s.t.slug, {
        body: valid.body,
        headers: { "content-type": "application/json" },
      }),
      400,
      "validation_failed",
    );
    expect(await snapshot(s)).toEqual(before);
    expect(before.order?.status).toBe("confirmed");
  });

  it("a replayed DELETE is 200 and changes nothing", async () => {
    const s = await setupProvider("clover");
    const signed = cloverWebhook(s, "DELETE", Date.now());
    expect((await sendOk("clover", s.t.slug, signed)).applied).toBe(1);
    const afterFirst = await snapshot(s);
    expect(afterFirst.order?.status).toBe("cancelled");
    expect(await sendOk("clover", s.t.slug, signed)).toEqual({
      received: true,
      events: 1,
      applied: 0,
    });
    expect(await snapshot(s)).toEqual(afterFirst);
  });

  it("an event arriving after the order was cancelled is 200 and ignored", async () => {
    const s = await setupProvider("clover");
    const ts = Date.now();
    expect((await sendOk("clover", s.t.slug, cloverWebhook(s, "DELETE", ts))).applied).toBe(1);
    const afterDelete = await snapshot(s);
    // The CREATE happened first at Clover but is delivered last; so does a second DELETE.
    expect(await sendOk("clover", s.t.slug, cloverWebhook(s, "CREATE", ts - 60_000))).toEqual({
      received: true,
      events: 1,
      applied: 0,
    });
    expect(await sendOk("clover", s.t.slug, cloverWebhook(s, "DELETE", ts + 1))).toEqual({
      received: true,
      events: 1,
      applied: 0,
    });
    const after = await snapshot(s);
    expect(after.counts).toEqual(afterDelete.counts);
    expect(after.order).toEqual(afterDelete.order);
    expect(after.order?.status).toBe("cancelled");
    expect(after.history).toEqual([
      ...PAID_HISTORY,
      { from_status: "confirmed", to_status: "cancelled", source: "pos_webhook" },
    ]);
  });

  it("a DELETE naming an order we do not have is 200 and changes nothing", async () => {
    const s = await setupProvider("clover");
    const before = await snapshot(s);
    const unknownId = cloverId();
    const ts = Date.now();
    expect(
      await sendOk("clover", s.t.slug, cloverWebhook(s, "DELETE", ts, { orderId: unknownId })),
    ).toEqual({ received: true, events: 1, applied: 0 });
    const after = await snapshot(s);
    expect(after.counts).toEqual(before.counts);
    expect(after.order).toEqual(before.order);
    expect(after.webhookEvents).toEqual([
      { provider: "clover", event_id: cloverEventId(s, unknownId, "DELETE", ts) },
    ]);
  });
});

// ------------------------------------------------------------------ routing errors

describe("POS webhooks: routing", () => {
  it("an unknown provider is 404", async () => {
    const s = await setupProvider("toast");
    const signed = PROGRESS_CASES[0]?.event(targetOf(s), "preparing", newEventId("toast"));
    if (!signed) throw new Error("no toast case");
    const before = await snapshot(s);
    await expectError(await send("lightspeed", s.t.slug, signed), 404, "not_found");
    expect(await snapshot(s)).toEqual(before);
  });

  it("a provider other than the tenant's integration is 404, even correctly signed", async () => {
    const s = await setupProvider("square");
    // Signed with this tenant's own webhook secret, in Toast's scheme.
    const body = toastBody(targetOf(s), "preparing", newEventId("toast"));
    const before = await snapshot(s);
    await expectError(
      await send("toast", s.t.slug, {
        body,
        headers: toastDouble.signWebhook(body, CONNECT.square.webhookSecret),
      }),
      404,
      "not_found",
    );
    expect(await snapshot(s)).toEqual(before);
    expect(before.order?.status).toBe("confirmed");
  });

  it("a tenant without a POS integration, or no such tenant, is 404", async () => {
    const t = await createTenant();
    const body = JSON.stringify({
      eventId: "evt-1",
      orderId: "ord_x",
      status: "ready",
      occurredAt: new Date().toISOString(),
    });
    const headers = receiverDouble.signWebhook(body, CONNECT.webhook.webhookSecret);
    const before = await tableCounts();
    await expectError(await send("webhook", t.slug, { body, headers }), 404, "not_found");
    await expectError(
      await send("webhook", `no-such-tenant-${Date.now()}`, { body, headers }),
      404,
      "not_found",
    );
    expect(await tableCounts()).toEqual(before);
  });

  // Disconnecting is the owner's way to stop a POS from touching orders, and
  // the route answers "no such POS connection" for a missing one; but it only
  // looks the integration row up, whatever its status, and disconnecting
  // keeps the sealed webhook secret. Fails while that bug stands.
  it("a disconnected integration's webhooks are 404 and change nothing", async () => {
    const s = await setupProvider("square");
    const disconnected = await callJson<{ integration: { status: string } }>(
      `/v1/admin/${s.t.slug}/pos/disconnect`,
      { token: s.t.ownerKey, body: {} },
      200,
    );
    expect(disconnected.integration.status).toBe("disconnected");
    const square = PROGRESS_CASES.find((c) => c.provider === "square");
    if (!square) throw new Error("no square case");
    const before = await snapshot(s);
    await expectError(
      await send("square", s.t.slug, square.event(targetOf(s), "ready", newEventId("square"))),
      404,
      "not_found",
    );
    expect(await snapshot(s)).toEqual(before);
    expect(before.order?.status).toBe("confirmed");
  });
});

describe("POS webhooks: Clover's URL verification and its app-wide URL", () => {
  const verification = (code: string): Signed => ({
    body: JSON.stringify({ verificationCode: code }),
    headers: { "content-type": "application/json" },
  });

  it("answers the verification on a tenant's URL before any secret is set, and shows the code", async () => {
    const t = await createTenant();
    await callJson(
      `/v1/admin/${t.slug}/pos/connect`,
      {
        token: t.ownerKey,
        body: {
          provider: "clover",
          locationId: CONNECT.clover.locationId,
          credentials: CONNECT.clover.credentials,
        },
      },
      200,
    );
    const before = await tableCounts();
    expect(await sendOk("clover", t.slug, verification("6f1c-verify-42"))).toEqual({
      received: true,
      events: 0,
      applied: 0,
    });
    expect(await tableCounts()).toEqual(before);
    const staff = await createKey(t, "staff");
    const { integration } = await callJson<{
      integration: { webhookVerification: { code: string; receivedAt: string } | null };
    }>(`/v1/admin/${t.slug}/pos/integration`, { token: staff }, 200);
    expect(integration.webhookVerification?.code).toBe("6f1c-verify-42");
    // The newest code replaces an older one.
    await sendOk("clover", t.slug, verification("7a2d-verify-43"));
    const again = await callJson<{ integration: { webhookVerification: { code: string } } }>(
      `/v1/admin/${t.slug}/pos/integration`,
      { token: staff },
      200,
    );
    expect(again.integration.webhookVerification.code).toBe("7a2d-verify-43");
  });

  it("is not a way around the auth code: with X-Clover-Auth, or on another provider's URL, it is refused", async () => {
    const clover = await setupProvider("clover");
    const withAuth = { ...verification("x"), headers: { "x-clover-auth": "wrong" } };
    await expectError(await send("clover", clover.t.slug, withAuth), 400, "validation_failed");
    const toast = await setupProvider("toast");
    await expectError(
      await send("toast", toast.t.slug, verification("x")),
      400,
      "validation_failed",
    );
    const { integration } = await callJson<{ integration: { webhookVerification: unknown } }>(
      `/v1/admin/${toast.t.slug}/pos/integration`,
      { token: toast.t.ownerKey },
      200,
    );
    expect(integration.webhookVerification).toBeNull();
  });

  it("answers the app-wide URL's verification and shows its code to the operator only", async () => {
    const answer = await call("/webhooks/pos/clover", {
      method: "POST",
      rawBody: verification("app-wide-code-1").body,
    });
    expect(answer.status).toBe(200);
    const { verification: shown } = await callJson<{ verification: { code: string } | null }>(
      "/v1/platform/webhooks/clover/verification",
      { token: ADMIN_TOKEN },
      200,
    );
    expect(shown?.code).toBe("app-wide-code-1");
    const owner = (await createTenant()).ownerKey;
    const refused = await call("/v1/platform/webhooks/clover/verification", { token: owner });
    expect(refused.status).toBe(401);
  });

  it("routes each merchant's part of an app-wide message to its tenant; unknown merchants are ignored", async () => {
    const a = await setupProvider("clover");
    const b = await setupProvider("clover");
    const merchantOf = async (s: Setup, id: string) => {
      await env.DB.prepare("UPDATE pos_integrations SET location_id = ? WHERE tenant_id = ?")
        .bind(id, s.t.id)
        .run();
      return id;
    };
    const ma = await merchantOf(a, `MAPPWIDEA${Date.now().toString(36).toUpperCase()}`);
    const mb = await merchantOf(b, `MAPPWIDEB${Date.now().toString(36).toUpperCase()}`);
    const ts = Date.now();
    const body = JSON.stringify({
      appId: "ORDERLANEAPP1",
      merchants: {
        [ma]: [{ objectId: `O:${a.externalId}`, type: "DELETE", ts }],
        [mb]: [{ objectId: `O:${b.externalId}`, type: "DELETE", ts }],
        MNOBODYHERE: [{ objectId: "O:ZZZZ", type: "DELETE", ts }],
      },
    });
    const forged = await call("/webhooks/pos/clover", {
      method: "POST",
      rawBody: body,
      headers: cloverDouble.signWebhook(body, "not-the-app-code"),
    });
    expect(forged.status).toBe(400);
    expect((await orderRow(a.orderId))?.status).toBe("confirmed");

    const res = await call("/webhooks/pos/clover", {
      method: "POST",
      rawBody: body,
      headers: cloverDouble.signWebhook(body, "clover-app-auth-code"),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text)).toEqual({ received: true, events: 2, applied: 2 });
    expect((await orderRow(a.orderId))?.status).toBe("cancelled");
    expect((await orderRow(b.orderId))?.status).toBe("cancelled");
    // The same message again changes nothing.
    const replay = await call("/webhooks/pos/clover", {
      method: "POST",
      rawBody: body,
      headers: cloverDouble.signWebhook(body, "clover-app-auth-code"),
    });
    expect(await replay.json()).toEqual({ received: true, events: 2, applied: 0 });
  });
});
