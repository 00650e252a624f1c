import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import {
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  tableCounts,
  until,
} from "../helpers";
import {
  deliver as deliverPos,
  deliverRefund as deliverRefundMessage,
  orderRow,
  posDouble,
  setupSquareTenant,
} from "../pos-helpers";
import {
  intentAtStripe,
  type PaidOrder,
  paidOrder,
  payAtStripe,
  placeCardOrder,
  stripeDouble,
} from "../stripe-helpers";
import { connectTerminal } from "../ws-helpers";

type Paid = PaidOrder;

/**
 * The order as a cancel leaves it (cancelled, refund pending) but with no queue message of its
 * own, so only what the test delivers acts on it (no background consumer races the test).
 * Where a test goes through a route that enqueues, it delivers that message itself too
 * (deliverRefund, deliverPos) instead of waiting for the background consumer; the route's own
 * message changes nothing more whenever it comes (refunds are idempotent, a POS submission
 * claims its order).
 */
async function refundPending(p: Paid): Promise<void> {
  await env.DB.prepare(
    "UPDATE orders SET status = 'cancelled', payment_status = 'refund_pending' WHERE id = ?",
  )
    .bind(p.orderId)
    .run();
}

function deliverRefund(queue: "payments" | "payments-dlq", p: Paid, attempts = 1) {
  return deliverRefundMessage(queue, { tenantId: p.t.id, orderId: p.orderId, attempts });
}

async function notificationsFor(orderId: string) {
  const rows = await env.DB.prepare(
    "SELECT audience, kind, sent_at IS NOT NULL AS sent FROM notifications WHERE order_id = ? ORDER BY created_at",
  )
    .bind(orderId)
    .all();
  return rows.results;
}

beforeEach(async () => {
  await posDouble.reset();
});

describe("refunds", () => {
  it("staff cancel a paid order: cancelled now, refunded once, customer and terminals told", async () => {
    const p = await paidOrder();
    const terminal = await connectTerminal(p.t.slug, { token: await createKey(p.t, "terminal") });
    const cancelled = await callJson<{ order: { status: string; paymentStatus: string } }>(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/cancel`,
      { token: p.t.ownerKey, body: {} },
      202,
    );
    expect(cancelled.order).toMatchObject({ status: "cancelled", paymentStatus: "refund_pending" });
    expect(await deliverRefund("payments", p)).toEqual({ acked: 1, retried: 0, delays: [] });
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
    });
    const refunds = await stripeDouble.refundsFor(p.intentId);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]?.metadata).toMatchObject({ order_id: p.orderId });
    // The customer's notification is stored with the refund and handed to the notifier.
    expect(await notificationsFor(p.orderId)).toEqual([
      { audience: "customer", kind: "order_refunded", sent: 1 },
    ]);
    // A duplicate message refunds nothing twice, and tells the customer nothing twice.
    await deliverRefund("payments", p);
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
    expect(await notificationsFor(p.orderId)).toHaveLength(1);
    const seen = await terminal.waitFor(
      (m) =>
        m.type === "order_updated" &&
        (m.data as { order: { paymentStatus: string } }).order.paymentStatus === "refunded",
    );
    expect(seen.data).toMatchObject({ change: "payment" });
    // Staff see the refund on the order, with Stripe's id to look it up there.
    const detail = await callJson<{
      order: { total: { amount: number; currency: string } };
      refunds: unknown[];
    }>(`/v1/admin/${p.t.slug}/orders/${p.orderId}`, { token: p.t.ownerKey }, 200);
    expect(detail.refunds).toEqual([
      {
        id: refunds[0]?.id,
        amount: detail.order.total,
        status: "succeeded",
        note: null,
        recordedBy: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
    ]);
    terminal.close();
  });

  it("a refund recorded in D1 as succeeded settles the order without asking Stripe", async () => {
    const p = await paidOrder();
    // Refunding, with the refund already made and recorded (the order's own change was lost).
    await env.DB.batch([
      env.DB.prepare(
        "UPDATE orders SET status = 'cancelled', payment_status = 'refund_pending' WHERE id = ?",
      ).bind(p.orderId),
      env.DB.prepare(
        "INSERT INTO refunds (id, tenant_id, order_id, payment_intent_id, amount, currency, status, created_at, updated_at) VALUES ('re_recorded', ?, ?, ?, 979, 'USD', 'succeeded', ?, ?)",
      ).bind(p.t.id, p.orderId, p.intentId, new Date().toISOString(), new Date().toISOString()),
    ]);
    const asked = async () =>
      ((await stripeDouble.control("requests")) as { path: string }[]).filter((r) =>
        r.path.startsWith("/v1/refunds"),
      ).length;
    const before = await asked();
    await deliverRefund("payments", p);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
    });
    expect(await asked()).toBe(before);
  });

  it("a refund Stripe already holds (its key forgotten) is found and not made again", async () => {
    const p = await paidOrder();
    await callJson(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/cancel`,
      { token: p.t.ownerKey, body: {} },
      202,
    );
    await deliverRefund("payments", p);
    // Back to pending as if the first run crashed after Stripe refunded.
    await env.DB.prepare("UPDATE orders SET payment_status = 'refund_pending' WHERE id = ?")
      .bind(p.orderId)
      .run();
    await deliverRefund("payments", p);
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
    expect((await orderRow(p.orderId))?.payment_status).toBe("refunded");
  });

  it("a retryable Stripe error is retried with backoff, then refunds once", async () => {
    const p = await paidOrder();
    await refundPending(p);
    await stripeDouble.control("faults", [
      { path: "/v1/refunds", method: "POST", status: 500, form: { payment_intent: p.intentId } },
      { path: "/v1/refunds", method: "POST", status: 500, form: { payment_intent: p.intentId } },
    ]);
    const first = await deliverRefund("payments", p, 1);
    expect(first.retried).toBe(1);
    expect(first.delays[0]).toBeGreaterThanOrEqual(1);
    expect((await orderRow(p.orderId))?.payment_status).toBe("refund_pending");
    await deliverRefund("payments", p, 2);
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
    expect((await orderRow(p.orderId))?.payment_status).toBe("refunded");
  });

  it("cancelling a paid order through the status route refunds it, as the cancel route does", async () => {
    const p = await paidOrder();
    const res = await callJson<{
      order: { status: string; paymentStatus: string };
      changed: boolean;
    }>(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/status`,
      { token: p.t.ownerKey, body: { status: "cancelled" } },
      200,
    );
    expect(res).toMatchObject({
      changed: true,
      order: { status: "cancelled", paymentStatus: "refund_pending" },
    });
    await deliverRefund("payments", p);
    expect((await orderRow(p.orderId))?.payment_status).toBe("refunded");
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
    // Asking again changes nothing and refunds nothing more.
    const again = await callJson<{ changed: boolean }>(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/status`,
      { token: p.t.ownerKey, body: { status: "cancelled" } },
      200,
    );
    expect(again.changed).toBe(false);
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
  });

  it("a staff socket cancelling a paid order refunds it; the cashier and the other screens hear it", async () => {
    const p = await paidOrder();
    // Cancelling refunds, so the socket needs staff, as POST …/cancel does.
    const token = await createKey(p.t, "staff");
    const cashier = await connectTerminal(p.t.slug, { token, query: "name=till" });
    const kitchen = await connectTerminal(p.t.slug, { token, query: "name=kitchen" });
    cashier.send({ type: "set_status", orderId: p.orderId, status: "cancelled", requestId: "r1" });
    const result = await cashier.waitFor((m) => m.type === "set_status_result");
    expect(result).toMatchObject({ requestId: "r1", ok: true });
    await deliverRefund("payments", p);
    const refunded = await kitchen.waitFor(
      (m) =>
        m.type === "order_updated" &&
        (m.data as { order: { paymentStatus: string } }).order.paymentStatus === "refunded",
    );
    expect(refunded.data).toMatchObject({ order: { id: p.orderId, status: "cancelled" } });
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
    const history = await env.DB.prepare(
      "SELECT to_status, source FROM order_status_history WHERE order_id = ? ORDER BY id",
    )
      .bind(p.orderId)
      .all();
    expect(history.results.at(-1)).toEqual({ to_status: "cancelled", source: "terminal" });
    cashier.close();
    kitchen.close();
  });

  it("pos-retry refuses a cancelled or refunded order: the POS must not get it", async () => {
    const p = await paidOrder();
    await callJson(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/cancel`,
      { token: p.t.ownerKey, body: {} },
      202,
    );
    // As if its POS submission had failed before the cancel.
    await env.DB.prepare("UPDATE orders SET pos_status = 'failed' WHERE id = ?")
      .bind(p.orderId)
      .run();
    const before = await tableCounts();
    const error = await expectError(
      await call(`/v1/admin/${p.t.slug}/orders/${p.orderId}/pos-retry`, {
        token: p.t.ownerKey,
        body: {},
      }),
      409,
      "conflict",
    );
    expect(error.details).toMatchObject({ status: "cancelled" });
    expect((await orderRow(p.orderId))?.pos_status).toBe("failed");
    expect((await tableCounts()).outbox_events).toBe(before.outbox_events);
  });

  it("a refund pending at Stripe is neither retried into the DLQ nor failed; the cron pass settles it", async () => {
    const p = await paidOrder();
    await stripeDouble.control(`payment_intents/${p.intentId}/pending_refunds`, {});
    await callJson(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/cancel`,
      { token: p.t.ownerKey, body: {} },
      202,
    );
    // Pending at the card network: the message is done, the order waits for Stripe.
    expect(await deliverRefund("payments", p)).toEqual({ acked: 1, retried: 0, delays: [] });
    expect((await orderRow(p.orderId))?.payment_status).toBe("refund_pending");
    const [refund, ...more] = await stripeDouble.refundsFor(p.intentId);
    expect(more).toHaveLength(0);
    expect(refund?.status).toBe("pending");
    // A dead letter meanwhile does not hand it to staff: Stripe is still on it.
    await deliverRefund("payments-dlq", p);
    expect((await orderRow(p.orderId))?.payment_status).toBe("refund_pending");
    expect(await notificationsFor(p.orderId)).toEqual([]);

    const pendingDetail = await callJson<{ refunds: { id: string; status: string }[] }>(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}`,
      { token: p.t.ownerKey },
      200,
    );
    expect(pendingDetail.refunds).toMatchObject([{ id: refund?.id, status: "pending" }]);

    // Stripe finishes, and its refund.updated never arrives: the cron pass looks again.
    await stripeDouble.control(`refunds/${refund?.id}/settle`, { status: "succeeded" });
    const tenMinutesOn = Math.ceil((Date.now() + 11 * 60_000) / 600_000) * 600_000;
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: tenMinutesOn }), env, ctx);
    await waitOnExecutionContext(ctx);
    // The pass put the refund on the payments queue again; its message is delivered here.
    await deliverRefund("payments", p);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
    });
    const settledDetail = await callJson<{ refunds: { id: string; status: string }[] }>(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}`,
      { token: p.t.ownerKey },
      200,
    );
    expect(settledDetail.refunds).toMatchObject([{ id: refund?.id, status: "succeeded" }]);
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
  });

  it("a dead letter for a refund Stripe made after all settles the order instead of failing it", async () => {
    const p = await paidOrder();
    await refundPending(p);
    // The refund was made (say, by a call that timed out on our side)…
    const made = await fetch(`${env.STRIPE_API_BASE}/v1/refunds`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
        "content-type": "application/x-www-form-urlencoded",
        "idempotency-key": `refund:${p.orderId}`,
      },
      body: new URLSearchParams({
        payment_intent: p.intentId,
        "metadata[order_id]": p.orderId,
      }).toString(),
    });
    expect(made.status).toBe(200);
    // …and the message still ran out of retries.
    await deliverRefund("payments-dlq", p);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
    });
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
  });

  it("a dead letter while Stripe cannot be asked leaves the refund pending, not handed to staff", async () => {
    const p = await paidOrder();
    await refundPending(p);
    // Both attempts (stripe-node retries once) to look for the refund fail.
    await stripeDouble.control(
      "faults",
      [1, 2].map(() => ({
        path: "/v1/refunds",
        method: "GET",
        status: 500,
        query: { payment_intent: p.intentId },
      })),
    );
    expect(await deliverRefund("payments-dlq", p)).toMatchObject({ acked: 1 });
    expect((await orderRow(p.orderId))?.payment_status).toBe("refund_pending");
    const alerts = await env.DB.prepare("SELECT kind FROM alerts WHERE order_id = ?")
      .bind(p.orderId)
      .all();
    expect(alerts.results).toEqual([]);
  });

  it("a card-paid order cancelled without its refund starting is refunded by the cron pass", async () => {
    const p = await paidOrder();
    // As if the process stopped between the cancel's batch and the refund's.
    await env.DB.prepare("UPDATE orders SET status = 'cancelled' WHERE id = ?")
      .bind(p.orderId)
      .run();
    const tenMinutesOn = Math.ceil((Date.now() + 11 * 60_000) / 600_000) * 600_000;
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: tenMinutesOn }), env, ctx);
    await waitOnExecutionContext(ctx);
    // The refund was started (its own message may already have finished it) …
    expect((await orderRow(p.orderId))?.payment_status).toMatch(/^refund(_pending|ed)$/);
    // … and its message, delivered here, finishes it.
    await deliverRefund("payments", p);
    expect((await orderRow(p.orderId))?.payment_status).toBe("refunded");
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
  });

  it("the payments dead-letter queue marks refund_failed, alerts, and lists the order for review", async () => {
    const p = await paidOrder();
    await refundPending(p);
    expect(await deliverRefund("payments-dlq", p)).toMatchObject({ acked: 1 });
    expect((await orderRow(p.orderId))?.payment_status).toBe("refund_failed");
    const alerts = await callJson<{ items: { kind: string; orderId: string }[] }>(
      `/v1/admin/${p.t.slug}/alerts?open=true`,
      { token: p.t.ownerKey },
      200,
    );
    expect(alerts.items).toEqual([
      expect.objectContaining({ kind: "refund_failed", orderId: p.orderId }),
    ]);
    expect(await notificationsFor(p.orderId)).toEqual([
      { audience: "staff", kind: "refund_failed", sent: 1 },
    ]);
    const review = await callJson<{ items: { id: string }[] }>(
      `/v1/admin/${p.t.slug}/orders?paymentStatus=refund_failed`,
      { token: p.t.ownerKey },
      200,
    );
    expect(review.items.map((o) => o.id)).toEqual([p.orderId]);
  });

  it("cancel: an unpaid order is cancelled without a refund; a completed one is 409", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Tea", price: 300 });
    const placed = await callJson<{ order: { id: string } }>(
      `/v1/stores/${t.slug}/orders`,
      {
        body: {
          orderType: "pickup",
          items: [{ menuItemId: item.id, quantity: 1 }],
          customer: { name: "B" },
        },
        headers: { "idempotency-key": `unpaid-${Date.now()}` },
      },
      201,
    );
    const res = await callJson<{ order: { status: string; paymentStatus: string } }>(
      `/v1/admin/${t.slug}/orders/${placed.order.id}/cancel`,
      { token: t.ownerKey, body: {} },
      202,
    );
    expect(res.order).toMatchObject({ status: "cancelled", paymentStatus: "unpaid" });
    const p = await paidOrder(t, item.id);
    for (const status of ["preparing", "ready", "completed"]) {
      await callJson(
        `/v1/admin/${t.slug}/orders/${p.orderId}/status`,
        { token: t.ownerKey, body: { status } },
        200,
      );
    }
    await expectError(
      await call(`/v1/admin/${t.slug}/orders/${p.orderId}/cancel`, { token: t.ownerKey, body: {} }),
      409,
      "conflict",
    );
  });
});

describe("the saga: a POS that cannot take a paid order", () => {
  it("auto_refund: the failed submission starts the refund; the order ends cancelled and refunded", async () => {
    const { t, itemId } = await setupSquareTenant({ failurePolicy: "auto_refund" });
    const p = await paidOrder(t, itemId);
    await env.DB.prepare("UPDATE orders SET pos_status = 'queued' WHERE id = ?")
      .bind(p.orderId)
      .run();
    await posDouble.inject("square", [{ kind: "status", status: 400 }]);
    await deliverPos("pos-submissions", [{ tenantId: t.id, orderId: p.orderId }]);
    // The refund is started (its own message may already have finished it).
    expect(await orderRow(p.orderId)).toMatchObject({
      pos_status: "failed",
      payment_status: expect.stringMatching(/^refund(_pending|ed)$/),
    });
    await deliverRefund("payments", p);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
      pos_status: "failed",
    });
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
    // Late duplicates from either dead-letter queue refund nothing more.
    await deliverRefund("payments-dlq", p);
    await deliverPos("pos-submissions-dlq", [
      { tenantId: t.id, orderId: p.orderId },
      { tenantId: t.id, orderId: p.orderId },
    ]);
    await deliverRefund("payments", p);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
      pos_status: "failed",
    });
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
    // Stripe was asked for a refund of this intent once.
    const requests = (await stripeDouble.control("requests")) as {
      method: string;
      path: string;
      form: Record<string, unknown>;
    }[];
    expect(
      requests.filter(
        (r) =>
          r.method === "POST" && r.path === "/v1/refunds" && r.form.payment_intent === p.intentId,
      ),
    ).toHaveLength(1);
  });

  it("an order whose refund has started is not sent to the POS", async () => {
    const { t, itemId } = await setupSquareTenant();
    const p = await paidOrder(t, itemId);
    await callJson(
      `/v1/admin/${t.slug}/orders/${p.orderId}/cancel`,
      { token: t.ownerKey, body: {} },
      202,
    );
    await env.DB.prepare("UPDATE orders SET pos_status = 'queued' WHERE id = ?")
      .bind(p.orderId)
      .run();
    await deliverPos("pos-submissions", [{ tenantId: t.id, orderId: p.orderId }]);
    expect(await posDouble.orders("square")).toHaveLength(0);
    expect((await orderRow(p.orderId))?.pos_status).toBe("not_required");
  });
});

describe("capture when the POS accepts (captureMode: on_pos_accept)", () => {
  async function authorisedOrder() {
    const { t, itemId } = await setupSquareTenant({ autoSync: true, captureMode: "on_pos_accept" });
    const order = await placeCardOrder(t, itemId);
    expect((await intentAtStripe(order.intentId)).capture_method).toBe("manual");
    await payAtStripe(order, "authorize");
    // The webhook queued its submission; it is delivered here (the background consumer's copy
    // then finds the order claimed or done), and waitForPos covers the consumer being first.
    await deliverPos("pos-submissions", [{ tenantId: t.id, orderId: order.orderId }]);
    return { t, orderId: order.orderId, intentId: order.intentId };
  }

  function waitForPos(orderId: string, wanted: string[]) {
    return until(
      () => orderRow(orderId),
      (row) => row !== null && wanted.includes(row.pos_status),
    );
  }

  it("an authorised order is confirmed, sent to the POS, and captured once the POS took it", async () => {
    const p = await authorisedOrder();
    expect((await orderRow(p.orderId))?.status).toBe("confirmed");
    await waitForPos(p.orderId, ["synced"]);
    // The capture follows the sync in the same delivery, and is recorded after Stripe took it.
    await until(
      () =>
        env.DB.prepare("SELECT payment_captured_at FROM orders WHERE id = ?")
          .bind(p.orderId)
          .first<{ payment_captured_at: string | null }>(),
      (row) => row?.payment_captured_at != null,
    );
    expect((await intentAtStripe(p.intentId)).status).toBe("succeeded");
  });

  it("an authorisation the POS never answered is released before it expires, and staff alerted", async () => {
    await posDouble.setMode("square", { kind: "status", status: 503 });
    const p = await authorisedOrder();
    await waitForPos(p.orderId, ["retrying"]);
    await env.DB.prepare("UPDATE orders SET created_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 6.5 * 24 * 3600_000).toISOString(), p.orderId)
      .run();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const alerts = await env.DB.prepare("SELECT kind FROM alerts WHERE order_id = ?")
      .bind(p.orderId)
      .all();
    expect(alerts.results).toEqual([{ kind: "authorization_expiring" }]);
    expect((await orderRow(p.orderId))?.status).toBe("cancelled");
    // The release runs on the payments queue (it cancels the intent at Stripe, then settles the
    // order in D1); its message is delivered here, so both are done when it returns.
    await deliverRefund("payments", p);
    expect((await intentAtStripe(p.intentId)).status).toBe("canceled");
    expect((await orderRow(p.orderId))?.payment_status).toBe("refunded");
    await posDouble.setMode("square", null);
  });

  it("a POS that fails permanently releases the authorisation: no capture, no refund", async () => {
    await posDouble.setMode("square", { kind: "status", status: 400 });
    const p = await authorisedOrder();
    await waitForPos(p.orderId, ["failed"]);
    // The failure handler starts the release after it marks the order failed.
    await until(
      () => orderRow(p.orderId),
      (row) => row?.payment_status === "refund_pending" || row?.payment_status === "refunded",
    );
    await deliverRefund("payments", p);
    expect((await intentAtStripe(p.intentId)).status).toBe("canceled");
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(0);
    expect(await orderRow(p.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
    });
    await posDouble.setMode("square", null);
  });
});
