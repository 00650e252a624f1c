import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  type TestTenant,
  tableCounts,
} from "../helpers";
import { deliverRefund } from "../pos-helpers";
import { intentAtStripe, placeCardOrder, sendStripeWebhook, stripeDouble } from "../stripe-helpers";
import { connectTerminal } from "../ws-helpers";

interface Placed {
  t: TestTenant;
  orderId: string;
  intentId: string;
  total: number;
}

let seq = 0;
async function newCardOrder(): Promise<Placed> {
  const t = await createTenant();
  const item = await createMenuItem(t, { name: "Soup", price: 900 });
  const order = await placeCardOrder(t, item.id);
  return { t, orderId: order.orderId, intentId: order.intentId, total: order.total };
}

function eventFor(
  p: Placed,
  type: string,
  overrides: Record<string, unknown> = {},
  id = `evt_${Date.now()}_${++seq}`,
) {
  return JSON.stringify({
    id,
    object: "event",
    type,
    api_version: "2025-10-29.clover",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: {
      object: {
        id: p.intentId,
        object: "payment_intent",
        amount: p.total,
        amount_received: type === "payment_intent.succeeded" ? p.total : 0,
        currency: "usd",
        status: type === "payment_intent.succeeded" ? "succeeded" : "requires_payment_method",
        metadata: { tenant_id: p.t.id, order_id: p.orderId },
        ...overrides,
      },
    },
  });
}

const send = sendStripeWebhook;

async function orderRow(id: string) {
  return env.DB.prepare("SELECT status, payment_status, pos_status FROM orders WHERE id = ?")
    .bind(id)
    .first<{ status: string; payment_status: string; pos_status: string }>();
}

describe("POST /webhooks/stripe", () => {
  it("payment_intent.succeeded confirms the order once and terminals get new_order", async () => {
    const p = await newCardOrder();
    const terminal = await connectTerminal(p.t.slug, { token: await createKey(p.t, "terminal") });
    const payload = eventFor(p, "payment_intent.succeeded");
    const res = await send(payload);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, applied: true });
    expect(await orderRow(p.orderId)).toEqual({
      status: "confirmed",
      payment_status: "paid",
      pos_status: "not_required",
    });
    const event = await terminal.waitFor((m) => m.type === "new_order");
    expect(event.data).toMatchObject({ id: p.orderId, status: "confirmed", paymentStatus: "paid" });
    const history = await env.DB.prepare(
      "SELECT to_status, source FROM order_status_history WHERE order_id = ? ORDER BY id",
    )
      .bind(p.orderId)
      .all();
    expect(history.results).toEqual([
      { to_status: "pending_payment", source: "storefront" },
      { to_status: "confirmed", source: "stripe" },
    ]);

    // The same event again: 200, nothing changes.
    const before = await tableCounts();
    const replay = await send(payload);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ received: true, applied: false });
    expect(await tableCounts()).toEqual(before);
    terminal.close();
  });

  it.each([
    [
      "a tampered body",
      async (payload: string) =>
        // Still valid JSON, another amount: only the signature can tell.
        send(payload, { body: payload.replace(/"amount":\d+/, '"amount":1') }),
    ],
    [
      "the wrong secret",
      async (payload: string) => send(payload, { secret: "whsec_someone_else" }),
    ],
    [
      "a stale timestamp",
      async (payload: string) => send(payload, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
    ],
    [
      // A minute beyond the tolerance: the Worker reads the clock later than this does, and a
      // second ticking between the two made +301 pass. The exact boundary is the adapter's unit
      // test's (test/adapters/stripe.unit.test.ts), under a clock that stands still.
      "a timestamp more than five minutes ahead",
      async (payload: string) => send(payload, { timestamp: Math.floor(Date.now() / 1000) + 360 }),
    ],
    ["no signature", async (payload: string) => call("/webhooks/stripe", { rawBody: payload })],
  ])("%s is 400 and changes nothing", async (_name, sendIt) => {
    const p = await newCardOrder();
    const before = await tableCounts();
    await expectError(
      await sendIt(eventFor(p, "payment_intent.succeeded")),
      400,
      "validation_failed",
    );
    expect(await tableCounts()).toEqual(before);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "pending_payment",
      payment_status: "unpaid",
    });
  });

  it("a correctly signed event we cannot read is acknowledged, so Stripe does not retry it for days", async () => {
    const p = await newCardOrder();
    const before = await tableCounts();
    const unreadable = eventFor(p, "payment_intent.succeeded", { amount: "lots" });
    const res = await send(unreadable);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, applied: false });
    expect(await tableCounts()).toEqual(before);
    expect(await orderRow(p.orderId)).toMatchObject({ status: "pending_payment" });
  });

  it("an amount mismatch leaves the order unconfirmed and raises an alert", async () => {
    const p = await newCardOrder();
    const terminal = await connectTerminal(p.t.slug, { token: await createKey(p.t, "terminal") });
    const res = await send(
      eventFor(p, "payment_intent.succeeded", {
        amount: p.total - 100,
        amount_received: p.total - 100,
      }),
    );
    expect(res.status).toBe(200);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "pending_payment",
      payment_status: "unpaid",
    });
    const alert = await terminal.waitFor((m) => m.type === "alert");
    expect(alert.data).toMatchObject({
      kind: "payment_mismatch",
      orderId: p.orderId,
      level: "critical",
    });
    const currency = await send(eventFor(p, "payment_intent.succeeded", { currency: "eur" }));
    expect(currency.status).toBe(200);
    expect(await orderRow(p.orderId)).toMatchObject({ status: "pending_payment" });
    terminal.close();
  });

  it("payment_failed cancels the order and its intent, so it cannot be paid afterwards", async () => {
    const declined = await newCardOrder();
    const terminal = await connectTerminal(declined.t.slug, {
      token: await createKey(declined.t, "terminal"),
    });
    expect((await send(eventFor(declined, "payment_intent.payment_failed"))).status).toBe(200);
    expect(await orderRow(declined.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "failed",
    });
    const update = await terminal.waitFor(
      (m) =>
        m.type === "order_updated" &&
        (m.data as { order: { id: string } }).order.id === declined.orderId,
    );
    expect(update.data).toMatchObject({
      order: { status: "cancelled", paymentStatus: "failed" },
      previousStatus: "pending_payment",
      change: "payment",
    });
    // Stripe would take a second card on the same intent; the order is gone, so the intent is too.
    expect((await intentAtStripe(declined.intentId)).status).toBe("canceled");
    const history = await env.DB.prepare(
      "SELECT from_status, to_status, source FROM order_status_history WHERE order_id = ?",
    )
      .bind(declined.orderId)
      .all();
    expect(history.results).toContainEqual({
      from_status: "pending_payment",
      to_status: "cancelled",
      source: "stripe",
    });
    terminal.close();
  });

  it("payment_intent.canceled cancels the unpaid order; neither touches a paid one", async () => {
    const canceled = await newCardOrder();
    expect((await send(eventFor(canceled, "payment_intent.canceled"))).status).toBe(200);
    expect(await orderRow(canceled.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "failed",
    });

    // Events arrive out of order: a failure reported after the success changes nothing.
    const paid = await newCardOrder();
    expect((await send(eventFor(paid, "payment_intent.succeeded"))).status).toBe(200);
    const late = await send(eventFor(paid, "payment_intent.payment_failed"));
    expect(late.status).toBe(200);
    expect(await late.json()).toEqual({ received: true, applied: false });
    expect(await orderRow(paid.orderId)).toMatchObject({
      status: "confirmed",
      payment_status: "paid",
    });
  });

  it("a second card that went through before the failure's cancel reached Stripe is refunded", async () => {
    const p = await newCardOrder();
    // Stripe reports the first card declined; the customer's second card is charged meanwhile.
    await stripeDouble.control(`payment_intents/${p.intentId}/succeed`, {});
    expect((await send(eventFor(p, "payment_intent.payment_failed"))).status).toBe(200);
    expect(await orderRow(p.orderId)).toMatchObject({ status: "cancelled" });
    // The intent could not be cancelled (it is paid), and its success arrives: the money goes back.
    expect((await send(eventFor(p, "payment_intent.succeeded"))).status).toBe(200);
    // The refund's message is delivered here, not left to the background consumer (refunding
    // is idempotent: the webhook's own message changes nothing more).
    await deliverRefund("payments", { tenantId: p.t.id, orderId: p.orderId });
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
    });
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
  });

  it("a payment that lands after staff cancelled the order is refunded, not confirmed", async () => {
    const p = await newCardOrder();
    // The card is charged just before the cancel reaches Stripe.
    await stripeDouble.control(`payment_intents/${p.intentId}/succeed`, {});
    await callJson(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/cancel`,
      { token: p.t.ownerKey, body: {} },
      202,
    );
    const res = await send(eventFor(p, "payment_intent.succeeded"));
    expect(res.status).toBe(200);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: expect.stringMatching(/^refund(_pending|ed)$/),
    });
    // A later event for the same (now refunding) order changes nothing and is still a 200.
    const again = await send(eventFor(p, "payment_intent.succeeded"));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ received: true, applied: false });
    await deliverRefund("payments", { tenantId: p.t.id, orderId: p.orderId });
    expect((await orderRow(p.orderId))?.payment_status).toBe("refunded");
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
  });

  it("a replayed event id changes nothing, even where the event alone would act again", async () => {
    const p = await newCardOrder();
    // A mismatch raises an alert each time it is seen; its replay must not.
    const mismatch = eventFor(p, "payment_intent.succeeded", {
      amount: p.total - 1,
      amount_received: p.total - 1,
    });
    expect((await send(mismatch)).status).toBe(200);
    const before = await tableCounts();
    const replay = await send(mismatch);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ received: true, applied: false });
    expect(await tableCounts()).toEqual(before);
    const alerts = await env.DB.prepare("SELECT kind FROM alerts WHERE order_id = ?")
      .bind(p.orderId)
      .all();
    expect(alerts.results).toEqual([{ kind: "payment_mismatch" }]);
  });

  it("paid at the counter: the card intent is cancelled, and a card payment that still lands is flagged", async () => {
    const p = await newCardOrder();
    await callJson(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/mark-paid`,
      { token: p.t.ownerKey, body: {} },
      200,
    );
    expect((await intentAtStripe(p.intentId)).status).toBe("canceled");
    const terminal = await connectTerminal(p.t.slug, { token: await createKey(p.t, "terminal") });
    // The customer's card went through before the cancellation reached Stripe.
    const res = await send(eventFor(p, "payment_intent.succeeded"));
    expect(res.status).toBe(200);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "confirmed",
      payment_status: "paid",
    });
    const alert = await terminal.waitFor((m) => m.type === "alert");
    expect(alert.data).toMatchObject({
      kind: "payment_duplicate",
      level: "critical",
      orderId: p.orderId,
    });
    terminal.close();
  });

  it("paid at the counter while the card was only authorised: the hold is released, no alarm", async () => {
    const p = await newCardOrder();
    await callJson(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/mark-paid`,
      { token: p.t.ownerKey, body: {} },
      200,
    );
    const res = await send(
      eventFor(p, "payment_intent.amount_capturable_updated", {
        status: "requires_capture",
        amount_capturable: p.total,
      }),
    );
    expect(res.status).toBe(200);
    expect((await intentAtStripe(p.intentId)).status).toBe("canceled");
    const alerts = await env.DB.prepare("SELECT kind FROM alerts WHERE order_id = ?")
      .bind(p.orderId)
      .all();
    expect(alerts.results).toEqual([]);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "confirmed",
      payment_status: "paid",
    });
  });

  it("an intent of another order, or not ours, is acknowledged and ignored", async () => {
    const p = await newCardOrder();
    const before = await tableCounts();
    const foreign = await send(
      eventFor(p, "payment_intent.succeeded", { id: "pi_not_this_orders" }),
    );
    expect(foreign.status).toBe(200);
    const unknown = await send(eventFor(p, "payment_intent.succeeded", { metadata: {} }));
    expect(unknown.status).toBe(200);
    const other = await send(eventFor(p, "customer.created"));
    expect(other.status).toBe(200);
    expect(await orderRow(p.orderId)).toMatchObject({ status: "pending_payment" });
    const after = await tableCounts();
    expect(after.orders).toBe(before.orders);
    expect(after.outbox_events).toBe(before.outbox_events);
  });
});

describe("refund reconciliation", () => {
  async function refundPending(): Promise<Placed> {
    const p = await newCardOrder();
    // Paid and refunding, as the saga leaves it (no queue message, so only the webhook acts).
    await env.DB.prepare(
      "UPDATE orders SET status = 'confirmed', payment_status = 'refund_pending' WHERE id = ?",
    )
      .bind(p.orderId)
      .run();
    return p;
  }

  function refundEvent(p: Placed, type: string, object: Record<string, unknown>) {
    return JSON.stringify({
      id: `evt_refund_${Date.now()}_${++seq}`,
      object: "event",
      type,
      api_version: "2025-10-29.clover",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { payment_intent: p.intentId, currency: "usd", ...object } },
    });
  }

  it("refund.updated succeeded settles a pending refund: refunded and cancelled", async () => {
    const p = await refundPending();
    const res = await send(
      refundEvent(p, "refund.updated", {
        id: "re_1",
        object: "refund",
        amount: p.total,
        status: "succeeded",
        metadata: { order_id: p.orderId },
      }),
    );
    expect(res.status).toBe(200);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
    });
  });

  it("refund.updated failed marks refund_failed and alerts", async () => {
    const p = await refundPending();
    await send(
      refundEvent(p, "refund.updated", {
        id: "re_2",
        object: "refund",
        amount: p.total,
        status: "failed",
        metadata: { order_id: p.orderId },
      }),
    );
    expect(await orderRow(p.orderId)).toMatchObject({ payment_status: "refund_failed" });
    const alerts = await env.DB.prepare("SELECT kind FROM alerts WHERE order_id = ?")
      .bind(p.orderId)
      .all();
    expect(alerts.results).toEqual([{ kind: "refund_failed" }]);

    // Stripe made it after all (a retry at the card network): the order is refunded, not left to staff.
    await send(
      refundEvent(p, "refund.updated", {
        id: "re_2",
        object: "refund",
        amount: p.total,
        status: "succeeded",
        metadata: { order_id: p.orderId },
      }),
    );
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
    });
    // Nothing is left for staff: the alert is closed, so it is not raised again.
    const closed = await env.DB.prepare(
      "SELECT kind, acknowledged_by FROM alerts WHERE order_id = ?",
    )
      .bind(p.orderId)
      .all();
    expect(closed.results).toEqual([{ kind: "refund_failed", acknowledged_by: "system" }]);
  });

  it("a refund that fails after it succeeded goes back to staff with an alert", async () => {
    const p = await refundPending();
    const refund = {
      id: "re_3",
      object: "refund",
      amount: p.total,
      metadata: { order_id: p.orderId },
    };
    await send(refundEvent(p, "refund.updated", { ...refund, status: "succeeded" }));
    expect(await orderRow(p.orderId)).toMatchObject({ payment_status: "refunded" });
    await send(refundEvent(p, "refund.updated", { ...refund, status: "failed" }));
    expect(await orderRow(p.orderId)).toMatchObject({ payment_status: "refund_failed" });
    const alerts = await env.DB.prepare("SELECT kind FROM alerts WHERE order_id = ?")
      .bind(p.orderId)
      .all();
    expect(alerts.results).toEqual([{ kind: "refund_failed" }]);
  });

  it("a partial refund made in the Stripe dashboard, or another order's, settles nothing", async () => {
    const p = await refundPending();
    await send(
      refundEvent(p, "refund.updated", {
        id: "re_4",
        object: "refund",
        amount: p.total - 100,
        status: "succeeded",
        metadata: {},
      }),
    );
    await send(
      refundEvent(p, "refund.updated", {
        id: "re_5",
        object: "refund",
        amount: p.total,
        status: "succeeded",
        metadata: { order_id: "ord_someone_else" },
      }),
    );
    await send(
      refundEvent(p, "charge.refunded", {
        id: "ch_2",
        object: "charge",
        amount: p.total,
        amount_refunded: p.total - 100,
        refunded: false,
      }),
    );
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "confirmed",
      payment_status: "refund_pending",
    });
  });

  it("charge.refunded in full settles a pending refund", async () => {
    const p = await refundPending();
    await send(
      refundEvent(p, "charge.refunded", {
        id: "ch_1",
        object: "charge",
        amount: p.total,
        amount_refunded: p.total,
        refunded: true,
      }),
    );
    expect(await orderRow(p.orderId)).toMatchObject({ payment_status: "refunded" });
  });
});
