import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getFreePort } from "../../tools/dev-server.mjs";
import { startStripeDouble } from "../../tools/stripe-double/server.mjs";
import { until } from "../wait";
import {
  call,
  callJson,
  connectTerminal,
  createSquareTenant,
  type Frame,
  type OrderView,
  type PosStack,
  type PosTenant,
  squareCreateCalls,
  startPosStack,
  type TerminalSocket,
} from "./pos-harness";

// Card payments end to end: a real `wrangler dev` (local D1, queues, Durable Objects) whose
// Stripe gateway talks to the Stripe double and whose Square adapter talks to the POS double,
// both running in this process. The Stripe double pays a PaymentIntent the way a customer's
// card does and sends the signed `payment_intent.succeeded` to the Worker's /webhooks/stripe;
// from there the Worker confirms the order, queues it for the POS, and (when the POS refuses it
// and the tenant's policy says so) refunds it on the payments queue. Every wait is bounded.

type StripeDouble = Awaited<ReturnType<typeof startStripeDouble>>;

const STRIPE_WEBHOOK_SECRET = `whsec_e2e_${randomBytes(16).toString("hex")}`;
/** Confirmation, POS submission and the refund each take a second or two locally. */
const SETTLE_TIMEOUT_MS = 30_000;
const FRAME_TIMEOUT_MS = 15_000;
/**
 * After a replay or a repeated cancel, how long nothing more may happen: the queues deliver
 * within about a second (max_batch_timeout = 1), so a second refund would show well within it.
 */
const QUIET_MS = 4_000;
const POLL_MS = 250;

interface Money {
  amount: number;
  currency: string;
}
interface Order extends OrderView {
  total: Money;
}
interface PlacedOrder {
  order: Order;
  accessToken: string;
  payment: { provider: string; clientSecret: string | null };
}
interface OrderDetail {
  order: Order;
  history: { from: string | null; to: string; source: string; at: string }[];
}
interface SquareOrder {
  id: string;
  reference_id: string;
}

/** One webhook delivery the Stripe double made, exactly as it went over the wire. */
interface SentWebhook {
  eventId: string;
  type: string;
  paymentIntentId: string | undefined;
  body: string;
  headers: Record<string, string>;
  status: number;
}

let stack: PosStack | undefined;
let stripe: StripeDouble | undefined;
let webhookUrl = "";
const sentWebhooks: SentWebhook[] = [];
const realFetch = globalThis.fetch;

/** What the scenarios hand on to the replay scenario. */
const paid: {
  happy?: { tenant: PosTenant; orderId: string; intentId: string };
  refunded?: { tenant: PosTenant; orderId: string; intentId: string };
} = {};

function running(): { s: PosStack; stripe: StripeDouble } {
  if (!stack || !stripe) throw new Error("the stack is not running");
  return { s: stack, stripe };
}

/** Extra context for a failed assertion: a reload of the Worker loses queued messages. */
function reloadNote(): string {
  const reloads = running().s.reloads();
  return reloads > 0
    ? ` (wrangler reloaded the Worker ${reloads} time(s) during the run: a file under src/ changed, and local queue messages do not survive a reload)`
    : "";
}

/**
 * Records every POST to the Worker's Stripe webhook made through this process's fetch (the
 * Stripe double's `sendEvent` uses the global fetch), so a delivery can be replayed byte for byte.
 */
function recordWebhookDeliveries(target: string): void {
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const response = await realFetch(input, init);
    if (url === target && init?.method === "POST" && typeof init.body === "string") {
      let event: { id?: string; type?: string; data?: { object?: { id?: string } } } = {};
      try {
        event = JSON.parse(init.body);
      } catch {
        // kept as sent
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      sentWebhooks.push({
        eventId: event.id ?? "",
        type: event.type ?? "",
        paymentIntentId: event.data?.object?.id,
        body: init.body,
        headers,
        status: response.status,
      });
    }
    return response;
  }) as typeof fetch;
}

/** POSTs a recorded delivery again: the same bytes, the same Stripe-Signature. */
async function replay(delivery: SentWebhook): Promise<{ status: number; body: unknown }> {
  const res = await realFetch(webhookUrl, {
    method: "POST",
    headers: delivery.headers,
    body: delivery.body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON; kept as text
  }
  return { status: res.status, body };
}

beforeAll(async () => {
  // The Stripe double needs the Worker's URL before the Worker runs: pick the port first.
  const port = await getFreePort();
  webhookUrl = `http://127.0.0.1:${port}/webhooks/stripe`;
  const double = await startStripeDouble({ webhookSecret: STRIPE_WEBHOOK_SECRET, webhookUrl });
  stripe = double;
  recordWebhookDeliveries(webhookUrl);
  stack = await startPosStack({
    port,
    vars: {
      STRIPE_SECRET_KEY: "sk_test_e2e",
      STRIPE_API_BASE: double.url,
      STRIPE_WEBHOOK_SECRET,
    },
    alsoStop: () => double.stop(),
  });
});

afterAll(async () => {
  await stack?.stop();
  globalThis.fetch = realFetch;
});

/** Places a one-burger pickup order as a storefront does; the answer carries how to pay. */
async function placeCardOrder(s: PosStack, tenant: PosTenant): Promise<PlacedOrder> {
  return callJson<PlacedOrder>(
    s.url,
    `/v1/stores/${tenant.slug}/orders`,
    {
      headers: { "idempotency-key": `pay-${randomUUID()}` },
      body: {
        orderType: "pickup",
        items: [{ menuItemId: tenant.itemId, quantity: 1 }],
        customer: { name: "Grace Hopper" },
      },
    },
    201,
  );
}

/** The PaymentIntent id inside a client secret (`pi_…_secret_…`). */
function intentIdOf(placed: PlacedOrder): string {
  expect(placed.payment.provider).toBe("stripe");
  const match = /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/.exec(placed.payment.clientSecret ?? "");
  expect(match, `clientSecret ${placed.payment.clientSecret}`).not.toBeNull();
  return match?.[1] ?? "";
}

async function getOrder(s: PosStack, tenant: PosTenant, id: string): Promise<OrderDetail> {
  return callJson<OrderDetail>(
    s.url,
    `/v1/admin/${tenant.slug}/orders/${id}`,
    { token: tenant.staffKey },
    200,
  );
}

/** Polls the order until `done` holds or `timeoutMs` passes; returns the last view. */
async function waitForOrder(
  s: PosStack,
  tenant: PosTenant,
  id: string,
  done: (order: Order) => boolean,
  timeoutMs = SETTLE_TIMEOUT_MS,
): Promise<{ order: Order; settled: boolean; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const { order } = await getOrder(s, tenant, id);
    const waitedMs = Date.now() - started;
    if (done(order)) return { order, settled: true, waitedMs };
    if (waitedMs >= timeoutMs) return { order, settled: false, waitedMs };
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, timeoutMs - waitedMs)));
  }
}

/** Refunds the Stripe double holds for one PaymentIntent. */
function refundsFor(d: StripeDouble, intentId: string) {
  return [...d.refunds.values()].filter((r) => r.payment_intent === intentId) as {
    id: string;
    amount: number;
    status: string;
    metadata: Record<string, string>;
  }[];
}

/** Refund creations (POST /v1/refunds) the Stripe double received for one PaymentIntent. */
function refundCallsFor(d: StripeDouble, intentId: string) {
  return d.requests.filter(
    (r) => r.method === "POST" && r.path === "/v1/refunds" && r.form.payment_intent === intentId,
  );
}

function squareOrdersFor(s: PosStack, orderId: string): SquareOrder[] {
  return ([...s.double.orders("square").values()] as SquareOrder[]).filter(
    (o) => o.reference_id === orderId,
  );
}

/** The one delivery of `payment_intent.succeeded` the double made for an intent. */
function succeededDelivery(intentId: string): SentWebhook {
  const found = sentWebhooks.filter(
    (w) => w.type === "payment_intent.succeeded" && w.paymentIntentId === intentId,
  );
  expect(
    found,
    "the Stripe double's webhook was not seen (does it still post with the global fetch?)",
  ).toHaveLength(1);
  return found[0] as SentWebhook;
}

/** Pays the intent at the double, which sends the signed webhook; asserts the Worker took it. */
async function payAtStripe(d: StripeDouble, intentId: string): Promise<SentWebhook> {
  const sent = await d.succeed(intentId);
  expect(sent, "the Stripe double has no webhook URL").not.toBeNull();
  expect(sent?.status, `webhook answer: ${sent?.body}`).toBe(200);
  expect(JSON.parse(sent?.body ?? "{}")).toEqual({ received: true, applied: true });
  const delivery = succeededDelivery(intentId);
  expect(delivery.eventId).toBe(sent?.eventId);
  return delivery;
}

/** Connects the tenant's Square integration again with these settings (the connect is an upsert). */
async function reconnectSquare(
  s: PosStack,
  tenant: PosTenant,
  settings: Record<string, unknown>,
): Promise<void> {
  const { integration } = await callJson<{ integration: { settings: Record<string, unknown> } }>(
    s.url,
    `/v1/admin/${tenant.slug}/pos/connect`,
    {
      token: tenant.ownerKey,
      body: {
        provider: "square",
        locationId: "L1",
        credentials: { accessToken: "sq", refreshToken: "r", clientId: "c", clientSecret: "s" },
        settings,
      },
    },
    200,
  );
  expect(integration.settings).toMatchObject(settings);
}

/** Calls the Worker made to the Stripe double for one PaymentIntent (`capture`, `cancel`). */
function intentCallsFor(d: StripeDouble, intentId: string, action: "capture" | "cancel") {
  return d.requests.filter(
    (r) => r.method === "POST" && r.path === `/v1/payment_intents/${intentId}/${action}`,
  );
}

const isNewOrder = (id: string) => (frame: Frame) =>
  frame.type === "new_order" && (frame.data as { id?: string } | undefined)?.id === id;

describe("card payments through the Stripe webhook, the POS and the refund saga", () => {
  it("a paid order is confirmed by the webhook, announced to the terminal and synced to Square once", async () => {
    const { s, stripe: d } = running();
    const tenant = await createSquareTenant(s, "paid");
    let terminal: TerminalSocket | undefined;
    try {
      terminal = await connectTerminal(s, tenant, "kitchen");
      const placed = await placeCardOrder(s, tenant);
      const orderId = placed.order.id;
      expect(placed.order).toMatchObject({ status: "pending_payment", paymentStatus: "unpaid" });
      const intentId = intentIdOf(placed);

      // The Worker made the intent at the double, for this order and its amount.
      const intent = d.paymentIntents.get(intentId);
      expect(intent).toMatchObject({
        amount: placed.order.total.amount,
        currency: placed.order.total.currency.toLowerCase(),
        status: "requires_payment_method",
        metadata: { order_id: orderId },
      });
      // Nothing reaches terminals or the POS before the money does.
      expect(terminal.frames.some(isNewOrder(orderId))).toBe(false);
      expect(squareOrdersFor(s, orderId)).toHaveLength(0);

      await payAtStripe(d, intentId);

      const announced = await terminal.waitFor(isNewOrder(orderId), FRAME_TIMEOUT_MS);
      expect(announced.seq).toEqual(expect.any(Number));
      expect(announced.data).toMatchObject({
        id: orderId,
        status: "confirmed",
        paymentStatus: "paid",
      });

      const { order, settled, waitedMs } = await waitForOrder(s, tenant, orderId, (o) =>
        ["synced", "failed"].includes(o.posStatus),
      );
      expect(
        settled,
        `posStatus still ${order.posStatus} after ${waitedMs} ms${reloadNote()}`,
      ).toBe(true);
      expect(order).toMatchObject({
        status: "confirmed",
        paymentStatus: "paid",
        posStatus: "synced",
      });

      // Exactly one Square order, the one the Orderlane order points at.
      const inSquare = squareOrdersFor(s, orderId);
      expect(inSquare).toHaveLength(1);
      expect(order.externalId).toBe(inSquare[0]?.id);
      expect(squareCreateCalls(s.double).filter((c) => c.orderId === orderId)).toHaveLength(1);
      expect(refundsFor(d, intentId)).toHaveLength(0);

      paid.happy = { tenant, orderId, intentId };
    } finally {
      terminal?.close();
    }
  });

  it("auto_refund: the POS refuses the paid order, so it is refunded once and cancelled", async () => {
    const { s, stripe: d } = running();
    const tenant = await createSquareTenant(s, "refund");
    // Reconnect with the saga's compensation switched on (the connect is an upsert).
    await reconnectSquare(s, tenant, { autoSync: true, failurePolicy: "auto_refund" });

    let terminal: TerminalSocket | undefined;
    // Both tenants share the Square double: it refuses everything until this scenario ends.
    s.double.setMode("square", { kind: "status", status: 400 });
    try {
      terminal = await connectTerminal(s, tenant, "kitchen");
      const placed = await placeCardOrder(s, tenant);
      const orderId = placed.order.id;
      const intentId = intentIdOf(placed);

      await payAtStripe(d, intentId);
      await terminal.waitFor(isNewOrder(orderId), FRAME_TIMEOUT_MS);

      const { order, settled, waitedMs } = await waitForOrder(
        s,
        tenant,
        orderId,
        (o) => o.paymentStatus === "refunded" || o.paymentStatus === "refund_failed",
      );
      expect(
        settled,
        `still ${order.status}/${order.paymentStatus}/${order.posStatus} after ${waitedMs} ms${reloadNote()}`,
      ).toBe(true);
      expect(order).toMatchObject({
        status: "cancelled",
        paymentStatus: "refunded",
        posStatus: "failed",
        externalId: null,
      });

      // Square was asked once (a 400 is permanent) and holds nothing.
      expect(squareCreateCalls(s.double).filter((c) => c.orderId === orderId)).toHaveLength(1);
      expect(squareOrdersFor(s, orderId)).toHaveLength(0);

      // Stripe holds exactly one refund, of the whole amount, tagged with the order.
      const refunds = refundsFor(d, intentId);
      expect(refunds).toHaveLength(1);
      expect(refunds[0]).toMatchObject({
        amount: placed.order.total.amount,
        status: "succeeded",
        metadata: { order_id: orderId },
      });
      expect(refundCallsFor(d, intentId)).toHaveLength(1);
      expect(refundCallsFor(d, intentId)[0]?.headers["idempotency-key"]).toBe(`refund:${orderId}`);

      // The terminal heard of the failure and of the refund.
      const deadline = Date.now() + FRAME_TIMEOUT_MS;
      const left = () => Math.max(1, deadline - Date.now());
      const alert = await terminal.waitFor((frame) => {
        const data = frame.data as { kind?: string; orderId?: string } | undefined;
        return (
          frame.type === "alert" && data?.kind === "pos_sync_failed" && data.orderId === orderId
        );
      }, left());
      expect(alert.data).toMatchObject({ level: "critical", alertId: expect.any(String) });
      const refundedFrame = await terminal.waitFor((frame) => {
        const data = frame.data as { order?: { id?: string; paymentStatus?: string } } | undefined;
        return (
          frame.type === "order_updated" &&
          data?.order?.id === orderId &&
          data.order.paymentStatus === "refunded"
        );
      }, left());
      expect(refundedFrame.data).toMatchObject({
        change: "payment",
        order: { status: "cancelled", posStatus: "failed" },
      });

      paid.refunded = { tenant, orderId, intentId };
    } finally {
      s.double.setMode("square", null);
      terminal?.close();
    }
  });

  it("a replayed webhook and repeated cancels change nothing and refund nothing twice", async () => {
    const { s, stripe: d } = running();
    const { happy, refunded } = paid;
    if (!happy || !refunded) throw new Error("needs the two scenarios above to have passed");

    const before = {
      happy: (await getOrder(s, happy.tenant, happy.orderId)).order,
      refunded: await getOrder(s, refunded.tenant, refunded.orderId),
      squareCalls: squareCreateCalls(s.double).length,
      refundCalls: refundCallsFor(d, refunded.intentId).length,
    };

    // The exact deliveries again (same event ids, bytes and signatures): 200, nothing applied.
    for (const { intentId } of [refunded, happy]) {
      const delivery = succeededDelivery(intentId);
      const again = await replay(delivery);
      expect(again, `replay of ${delivery.eventId}`).toEqual({
        status: 200,
        body: { received: true, applied: false },
      });
    }

    // Staff cancel the refunded order again: accepted, nothing to do.
    const cancelled = await callJson<{ order: Order }>(
      s.url,
      `/v1/admin/${refunded.tenant.slug}/orders/${refunded.orderId}/cancel`,
      { token: refunded.tenant.ownerKey, body: {} },
      202,
    );
    expect(cancelled.order).toMatchObject({ status: "cancelled", paymentStatus: "refunded" });

    // Staff cancel the synced paid order twice at once: one refund between them.
    const cancels = await Promise.all(
      [0, 1].map(() =>
        call(s.url, `/v1/admin/${happy.tenant.slug}/orders/${happy.orderId}/cancel`, {
          token: happy.tenant.ownerKey,
          body: {},
        }),
      ),
    );
    for (const res of cancels) {
      expect(res.status, res.text).toBe(202);
      expect((res.body as { order: Order }).order).toMatchObject({ status: "cancelled" });
    }
    const { order: happyAfter, settled } = await waitForOrder(
      s,
      happy.tenant,
      happy.orderId,
      (o) => o.paymentStatus === "refunded" || o.paymentStatus === "refund_failed",
    );
    expect(settled, `happy order still ${happyAfter.paymentStatus}${reloadNote()}`).toBe(true);
    expect(happyAfter).toMatchObject({ status: "cancelled", paymentStatus: "refunded" });

    // A second refund would come from the queue within a second or two: watch for a while.
    const quietUntil = Date.now() + QUIET_MS;
    while (Date.now() < quietUntil) {
      expect(refundsFor(d, happy.intentId)).toHaveLength(1);
      expect(refundsFor(d, refunded.intentId)).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    expect(refundsFor(d, happy.intentId)[0]).toMatchObject({
      amount: before.happy.total.amount,
      metadata: { order_id: happy.orderId },
    });
    expect(refundCallsFor(d, refunded.intentId)).toHaveLength(before.refundCalls);

    // The refunded order is exactly as it was: same state, no new history, no POS call.
    const after = await getOrder(s, refunded.tenant, refunded.orderId);
    expect(after.order).toEqual(before.refunded.order);
    expect(after.history).toEqual(before.refunded.history);
    expect(squareCreateCalls(s.double)).toHaveLength(before.squareCalls);
    expect(squareOrdersFor(s, happy.orderId)).toHaveLength(1);
  });
});

describe("capture when the POS accepts (captureMode: on_pos_accept)", () => {
  it("an authorised order is captured once Square takes it, and released when Square refuses it", async () => {
    const { s, stripe: d } = running();
    const tenant = await createSquareTenant(s, "capture");
    await reconnectSquare(s, tenant, { autoSync: true, captureMode: "on_pos_accept" });

    /** Places an order, authorises its card at the double and checks the Worker confirmed it. */
    const authorise = async () => {
      const placed = await placeCardOrder(s, tenant);
      const orderId = placed.order.id;
      const intentId = intentIdOf(placed);
      expect(d.paymentIntents.get(intentId)).toMatchObject({
        capture_method: "manual",
        amount: placed.order.total.amount,
        metadata: { order_id: orderId },
      });
      const sent = await d.authorize(intentId);
      expect(sent?.status, `webhook answer: ${sent?.body}`).toBe(200);
      expect(JSON.parse(sent?.body ?? "{}")).toEqual({ received: true, applied: true });
      return { orderId, intentId };
    };

    // Square takes it: the order is confirmed, synced, and the hold captured exactly once.
    const accepted = await authorise();
    const synced = await waitForOrder(s, tenant, accepted.orderId, (o) =>
      ["synced", "failed"].includes(o.posStatus),
    );
    expect(
      synced.settled,
      `posStatus still ${synced.order.posStatus} after ${synced.waitedMs} ms${reloadNote()}`,
    ).toBe(true);
    expect(synced.order).toMatchObject({
      status: "confirmed",
      paymentStatus: "paid",
      posStatus: "synced",
    });
    // The capture follows the sync in the same queue delivery.
    await until(
      () => d.paymentIntents.get(accepted.intentId)?.status,
      (status) => status === "succeeded",
      SETTLE_TIMEOUT_MS,
      `the capture${reloadNote()}`,
    );
    expect(d.paymentIntents.get(accepted.intentId), reloadNote()).toMatchObject({
      status: "succeeded",
      amount_received: synced.order.total.amount,
    });
    const captures = intentCallsFor(d, accepted.intentId, "capture");
    expect(captures).toHaveLength(1);
    expect(captures[0]?.headers["idempotency-key"]).toBe(`capture:${accepted.orderId}`);
    expect(refundCallsFor(d, accepted.intentId)).toHaveLength(0);
    expect((await getOrder(s, tenant, accepted.orderId)).order).toMatchObject({
      status: "confirmed",
      paymentStatus: "paid",
    });

    // Square refuses it for good: the hold is released (no capture, no refund) and the order cancelled.
    s.double.setMode("square", { kind: "status", status: 400 });
    try {
      const refused = await authorise();
      const { order, settled, waitedMs } = await waitForOrder(
        s,
        tenant,
        refused.orderId,
        (o) => o.paymentStatus === "refunded" || o.paymentStatus === "refund_failed",
      );
      expect(
        settled,
        `still ${order.status}/${order.paymentStatus}/${order.posStatus} after ${waitedMs} ms${reloadNote()}`,
      ).toBe(true);
      expect(order).toMatchObject({
        status: "cancelled",
        paymentStatus: "refunded",
        posStatus: "failed",
        externalId: null,
      });
      expect(d.paymentIntents.get(refused.intentId)).toMatchObject({
        status: "canceled",
        amount_received: 0,
      });
      expect(intentCallsFor(d, refused.intentId, "cancel")).toHaveLength(1);
      expect(intentCallsFor(d, refused.intentId, "capture")).toHaveLength(0);
      expect(refundCallsFor(d, refused.intentId)).toHaveLength(0);
      expect(refundsFor(d, refused.intentId)).toHaveLength(0);
      expect(squareCreateCalls(s.double).filter((c) => c.orderId === refused.orderId)).toHaveLength(
        1,
      );
      expect(squareOrdersFor(s, refused.orderId)).toHaveLength(0);
    } finally {
      s.double.setMode("square", null);
    }
  });

  it("a declined card cancels the order and its intent, so the card cannot be charged later", async () => {
    const { s, stripe: d } = running();
    const tenant = await createSquareTenant(s, "declined");
    const placed = await placeCardOrder(s, tenant);
    const orderId = placed.order.id;
    const intentId = intentIdOf(placed);

    const sent = await d.fail(intentId);
    expect(sent?.status, `webhook answer: ${sent?.body}`).toBe(200);
    const { order, settled } = await waitForOrder(
      s,
      tenant,
      orderId,
      (o) => o.status !== "pending_payment",
    );
    expect(settled).toBe(true);
    expect(order).toMatchObject({ status: "cancelled", paymentStatus: "failed", externalId: null });
    // The Worker cancelled the intent at Stripe, so the customer's second card is refused.
    expect(intentCallsFor(d, intentId, "cancel")).toHaveLength(1);
    expect(d.paymentIntents.get(intentId)?.status).toBe("canceled");
    await expect(d.succeed(intentId)).rejects.toMatchObject({
      answer: { status: 400, body: { error: { code: "payment_intent_unexpected_state" } } },
    });
    const { history } = await getOrder(s, tenant, orderId);
    expect(history.at(-1)).toMatchObject({
      from: "pending_payment",
      to: "cancelled",
      source: "stripe",
    });
    expect(squareCreateCalls(s.double).filter((c) => c.orderId === orderId)).toHaveLength(0);
    expect(refundCallsFor(d, intentId)).toHaveLength(0);
  });
});
