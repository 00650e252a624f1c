import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import {
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  type TestTenant,
  until,
} from "../helpers";
import { attempts, deliver, posDouble, setupSquareTenant } from "../pos-helpers";
import { intentAtStripe, sendStripeWebhook, stripeEvent } from "../stripe-helpers";

// The saga between the POS and the payment: what happens to a card-paid order
// the POS refuses, takes late, or takes while its payment is only authorised.

const stripeDouble = {
  async control(path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${env.STRIPE_API_BASE}/_control/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return text ? (JSON.parse(text) as unknown) : null;
  },
  async refundsFor(intentId: string): Promise<{ id: string; status: string }[]> {
    const res = await fetch(`${env.STRIPE_API_BASE}/v1/refunds?payment_intent=${intentId}`, {
      headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
    });
    return ((await res.json()) as { data: { id: string; status: string }[] }).data;
  },
};

let seq = 0;

interface Placed {
  orderId: string;
  intentId: string;
  total: number;
}

/** Places a card order at the storefront; the PaymentIntent is made but not paid. */
async function placeOrder(t: TestTenant, menuItemId: string): Promise<Placed> {
  const placed = await callJson<{
    order: { id: string; total: { amount: number } };
    payment: { clientSecret: string };
  }>(
    `/v1/stores/${t.slug}/orders`,
    {
      body: {
        orderType: "pickup",
        items: [{ menuItemId, quantity: 1 }],
        customer: { name: "Ada" },
      },
      headers: { "idempotency-key": `saga-${Date.now()}-${++seq}` },
    },
    201,
  );
  const intentId = placed.payment.clientSecret.split("_secret_")[0] ?? "";
  return { orderId: placed.order.id, intentId, total: placed.order.total.amount };
}

/** The customer pays at the double, and Stripe's signed `payment_intent.succeeded` arrives. */
async function pay(t: TestTenant, p: Placed): Promise<void> {
  await stripeDouble.control(`payment_intents/${p.intentId}/succeed`, {});
  const res = await sendStripeWebhook(
    stripeEvent("payment_intent.succeeded", {
      id: p.intentId,
      object: "payment_intent",
      amount: p.total,
      amount_received: p.total,
      currency: "usd",
      status: "succeeded",
      metadata: { tenant_id: t.id, order_id: p.orderId },
    }),
  );
  expect(res.status).toBe(200);
}

/** The card is authorised at the double, and the signed `amount_capturable_updated` arrives. */
async function authorise(t: TestTenant, p: Placed): Promise<void> {
  await stripeDouble.control(`payment_intents/${p.intentId}/authorize`, {});
  const res = await sendStripeWebhook(
    stripeEvent("payment_intent.amount_capturable_updated", {
      id: p.intentId,
      object: "payment_intent",
      amount: p.total,
      amount_capturable: p.total,
      amount_received: 0,
      currency: "usd",
      status: "requires_capture",
      capture_method: "manual",
      metadata: { tenant_id: t.id, order_id: p.orderId },
    }),
  );
  expect(res.status).toBe(200);
}

async function orderRow(id: string) {
  return env.DB.prepare(
    "SELECT status, payment_status, pos_status, external_id, payment_captured_at FROM orders WHERE id = ?",
  )
    .bind(id)
    .first<{
      status: string;
      payment_status: string;
      pos_status: string;
      external_id: string | null;
      payment_captured_at: string | null;
    }>();
}

async function alertKinds(orderId: string): Promise<string[]> {
  const rows = await env.DB.prepare("SELECT kind FROM alerts WHERE order_id = ? ORDER BY kind")
    .bind(orderId)
    .all<{ kind: string }>();
  return rows.results.map((r) => r.kind);
}

async function notificationsFor(orderId: string) {
  const rows = await env.DB.prepare(
    "SELECT audience, kind, sent_at IS NOT NULL AS sent FROM notifications WHERE order_id = ? ORDER BY created_at, kind",
  )
    .bind(orderId)
    .all<{ audience: string; kind: string; sent: number }>();
  return rows.results;
}

beforeEach(async () => {
  await posDouble.reset();
});

describe("failurePolicy hold: a paid order the POS refuses keeps its payment", () => {
  /** A Square tenant (auto sync, hold), a card-paid order, and the POS refusing it once, for good. */
  async function refusedPaidOrder() {
    const s = await setupSquareTenant({ autoSync: true, failurePolicy: "hold" });
    const staffKey = await createKey(s.t, "staff");
    const p = await placeOrder(s.t, s.itemId);
    await posDouble.inject("square", [{ kind: "status", status: 400 }]);
    // The webhook confirms the order and queues it; the background consumer meets the 400.
    await pay(s.t, p);
    // The failure handler stores its staff notification with the failure and marks it sent
    // last, after the failure policy ran: once sent, any refund would have been started.
    await until(
      () => notificationsFor(p.orderId),
      (rows) => rows.some((n) => n.kind === "pos_sync_failed" && n.sent === 1),
    );
    return { ...s, staffKey, ...p };
  }

  it("ends failed with a pos_sync_failed alert and no refund; pos-retry sends it to the POS again", async () => {
    const o = await refusedPaidOrder();
    expect(await orderRow(o.orderId)).toMatchObject({
      status: "confirmed",
      payment_status: "paid",
      pos_status: "failed",
    });
    const open = await callJson<{ items: { kind: string; orderId: string }[] }>(
      `/v1/admin/${o.t.slug}/alerts?open=true`,
      { token: o.staffKey },
      200,
    );
    expect(open.items).toEqual([
      expect.objectContaining({ kind: "pos_sync_failed", orderId: o.orderId }),
    ]);
    // No compensation under "hold": no auto-refund notice, no refund, nothing told to the customer.
    expect(await notificationsFor(o.orderId)).toEqual([
      { audience: "staff", kind: "pos_sync_failed", sent: 1 },
    ]);
    expect((await attempts(o.orderId)).map((a) => a.status)).toEqual(["permanent_error"]);

    // Staff send it again: queued at once, and the background consumer now gets it through.
    const retried = await callJson<{ order: { posStatus: string; paymentStatus: string } }>(
      `/v1/admin/${o.t.slug}/orders/${o.orderId}/pos-retry`,
      { token: o.staffKey, body: {} },
      202,
    );
    expect(retried.order).toMatchObject({ posStatus: "queued", paymentStatus: "paid" });
    const synced = await until(
      () => orderRow(o.orderId),
      (row) => row?.pos_status === "synced",
    );
    expect(synced).toMatchObject({ status: "confirmed", payment_status: "paid" });
    expect(synced?.external_id).toBeTruthy();
    // Long past the point a refund message would have been consumed: the money stays.
    expect(await stripeDouble.refundsFor(o.intentId)).toEqual([]);
    expect((await intentAtStripe(o.intentId)).status).toBe("succeeded");
    expect((await notificationsFor(o.orderId)).map((n) => n.kind)).toEqual(["pos_sync_failed"]);
  });

  it("staff cancel the held order instead: cancelled, refunded exactly once", async () => {
    const o = await refusedPaidOrder();
    expect(await orderRow(o.orderId)).toMatchObject({
      payment_status: "paid",
      pos_status: "failed",
    });
    expect(await stripeDouble.refundsFor(o.intentId)).toEqual([]);

    const cancelled = await callJson<{ order: { status: string; paymentStatus: string } }>(
      `/v1/admin/${o.t.slug}/orders/${o.orderId}/cancel`,
      { token: o.staffKey, body: {} },
      202,
    );
    expect(cancelled.order).toMatchObject({ status: "cancelled", paymentStatus: "refund_pending" });
    // The refund runs on the payments queue, in the background.
    const refunded = await until(
      () => orderRow(o.orderId),
      (row) => row?.payment_status === "refunded",
    );
    expect(refunded).toMatchObject({ status: "cancelled", pos_status: "failed" });
    const refunds = await stripeDouble.refundsFor(o.intentId);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]?.status).toBe("succeeded");
    await until(
      () => notificationsFor(o.orderId),
      (rows) => rows.some((n) => n.kind === "order_refunded" && n.sent === 1),
    );
    expect(
      (await notificationsFor(o.orderId)).filter((n) => n.kind === "order_refunded"),
    ).toHaveLength(1);
  });
});

describe("a POS success that lands after the refund started", () => {
  it("is recorded (synced) and raises pos_synced_after_refund for staff", async () => {
    // autoSync off: no background message; the test delivers the one submission itself.
    const s = await setupSquareTenant({ autoSync: false });
    const p = await placeOrder(s.t, s.itemId);
    await pay(s.t, p);
    await env.DB.prepare("UPDATE orders SET pos_status = 'queued' WHERE id = ?")
      .bind(p.orderId)
      .run();
    // The POS answers (successfully) after 1 s, within the adapter's 1.5 s timeout.
    await posDouble.inject("square", [{ kind: "delay", ms: 1000 }]);
    let submissionDone = false;
    const submission = deliver("pos-submissions", [{ tenantId: s.t.id, orderId: p.orderId }]).then(
      (result) => {
        submissionDone = true;
        return result;
      },
    );
    // In flight: the order is claimed and the POS holds the request.
    await until(
      () => posDouble.received("square"),
      (received) => received.some((r) => r.method === "POST" && r.path.startsWith("/v2/orders")),
      3000,
    );
    const cancelled = await callJson<{ order: { status: string; paymentStatus: string } }>(
      `/v1/admin/${s.t.slug}/orders/${p.orderId}/cancel`,
      { token: s.t.ownerKey, body: {} },
      202,
    );
    expect(cancelled.order).toMatchObject({ status: "cancelled", paymentStatus: "refund_pending" });
    // The precondition of this test: the refund began while the POS call was still open.
    expect(submissionDone).toBe(false);

    const result = await submission;
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    const row = await orderRow(p.orderId);
    expect(row).toMatchObject({ status: "cancelled", pos_status: "synced" });
    expect(["refund_pending", "refunded"]).toContain(row?.payment_status);
    expect(row?.external_id).toBe(((await posDouble.orders("square"))[0] as { id: string }).id);
    expect(await alertKinds(p.orderId)).toEqual(["pos_synced_after_refund"]);
    const open = await callJson<{ items: { kind: string; orderId: string; level: string }[] }>(
      `/v1/admin/${s.t.slug}/alerts?open=true`,
      { token: s.t.ownerKey },
      200,
    );
    expect(open.items).toEqual([
      expect.objectContaining({
        kind: "pos_synced_after_refund",
        orderId: p.orderId,
        level: "critical",
      }),
    ]);
    // The refund itself still completes, once.
    await until(
      () => orderRow(p.orderId),
      (r) => r?.payment_status === "refunded",
    );
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
  });
});

describe("captureMode on_pos_accept", () => {
  /** A Square tenant capturing on POS acceptance, and a card order placed while it is connected. */
  async function onPosAcceptOrder() {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Burger", price: 1200 });
    await callJson(
      `/v1/admin/${t.slug}/pos/connect`,
      {
        token: t.ownerKey,
        body: {
          provider: "square",
          locationId: "L1",
          credentials: { accessToken: "sq" },
          settings: { autoSync: true, captureMode: "on_pos_accept" },
        },
      },
      200,
    );
    const p = await placeOrder(t, item.id);
    expect((await intentAtStripe(p.intentId)).capture_method).toBe("manual");
    return { t, ...p };
  }

  it("a POS disconnected before the authorisation: confirmed without the POS, and captured at once", async () => {
    const o = await onPosAcceptOrder();
    await callJson(`/v1/admin/${o.t.slug}/pos/disconnect`, { token: o.t.ownerKey, body: {} }, 200);
    await authorise(o.t, o);
    // The capture is made while the webhook is handled.
    expect((await intentAtStripe(o.intentId)).status).toBe("succeeded");
    const row = await orderRow(o.orderId);
    expect(row).toMatchObject({
      status: "confirmed",
      payment_status: "paid",
      pos_status: "not_required",
    });
    expect(row?.payment_captured_at).not.toBeNull();
    expect(await attempts(o.orderId)).toEqual([]);
    expect(await stripeDouble.refundsFor(o.intentId)).toEqual([]);
  });

  it("the expiring-authorisation sweep leaves alone an order the POS took, even with its capture failed", async () => {
    const o = await onPosAcceptOrder();
    // Every capture of this intent fails (stripe-node retries once).
    await stripeDouble.control("faults", [
      { path: `/v1/payment_intents/${o.intentId}/capture`, method: "POST", status: 500 },
      { path: `/v1/payment_intents/${o.intentId}/capture`, method: "POST", status: 500 },
      { path: `/v1/payment_intents/${o.intentId}/capture`, method: "POST", status: 500 },
    ]);
    await authorise(o.t, o);
    // The background consumer sends it to the POS, which takes it; the capture then fails.
    await until(
      () => alertKinds(o.orderId),
      (kinds) => kinds.includes("payment_capture_failed"),
    );
    expect(await orderRow(o.orderId)).toMatchObject({
      status: "confirmed",
      payment_status: "paid",
      pos_status: "synced",
      payment_captured_at: null,
    });
    expect((await intentAtStripe(o.intentId)).status).toBe("requires_capture");

    // Six and a half days on, past the point an unanswered authorisation is released.
    await env.DB.prepare("UPDATE orders SET created_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 6.5 * 24 * 3600_000).toISOString(), o.orderId)
      .run();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);

    expect(await alertKinds(o.orderId)).toEqual(["payment_capture_failed"]);
    expect(await orderRow(o.orderId)).toMatchObject({
      status: "confirmed",
      payment_status: "paid",
      pos_status: "synced",
    });
    expect((await intentAtStripe(o.intentId)).status).toBe("requires_capture");
    expect(await stripeDouble.refundsFor(o.intentId)).toEqual([]);
  });
});
