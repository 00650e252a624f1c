import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { callJson, createKey, until } from "../helpers";
import {
  attempts,
  deliver,
  deliverRefund,
  orderRow,
  posDouble,
  setupSquareTenant,
} from "../pos-helpers";
import { intentAtStripe, payAtStripe, placeCardOrder, stripeDouble } from "../stripe-helpers";

// The saga between the POS and the payment: what happens to a card-paid order
// the POS refuses, takes late, or takes while its payment is only authorised.
//
// Each test delivers the queue messages it depends on itself (deliver, deliverRefund) rather
// than waiting for the background consumer: a route that enqueues still sends its own message,
// which the consumer gets a second or more later and which then changes nothing (the POS
// submission claims the order, a refund is idempotent).

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
  /** A Square tenant (hold), a card-paid order, and the POS refusing it once, for good. */
  async function refusedPaidOrder() {
    // autoSync off, so the webhook sends no message of its own; the order is queued as it
    // would have been and its submission delivered here, where it meets the 400.
    const s = await setupSquareTenant({ autoSync: false, failurePolicy: "hold" });
    const staffKey = await createKey(s.t, "staff");
    const p = await placeCardOrder(s.t, s.itemId);
    await payAtStripe(p);
    await env.DB.prepare("UPDATE orders SET pos_status = 'queued' WHERE id = ?")
      .bind(p.orderId)
      .run();
    await posDouble.inject("square", [{ kind: "status", status: 400 }]);
    const submitted = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: p.orderId }]);
    expect(submitted.explicitAcks).toHaveLength(1);
    // The failure handler stores its staff notification with the failure and marks it sent
    // last, after the failure policy ran: once sent, any refund would have been started.
    expect(await notificationsFor(p.orderId)).toEqual([
      { audience: "staff", kind: "pos_sync_failed", sent: 1 },
    ]);
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

    // Staff send it again: queued at once, and this time the POS takes it. The route's own
    // message is delivered here; should the background consumer get it first, its claim makes
    // this delivery wait, and the bounded wait covers that.
    const retried = await callJson<{ order: { posStatus: string; paymentStatus: string } }>(
      `/v1/admin/${o.t.slug}/orders/${o.orderId}/pos-retry`,
      { token: o.staffKey, body: {} },
      202,
    );
    expect(retried.order).toMatchObject({ posStatus: "queued", paymentStatus: "paid" });
    await deliver("pos-submissions", [{ tenantId: o.t.id, orderId: o.orderId }]);
    const synced = await until(
      () => orderRow(o.orderId),
      (row) => row?.pos_status === "synced",
    );
    expect(synced).toMatchObject({ status: "confirmed", payment_status: "paid" });
    const [atSquare] = (await posDouble.orders("square")) as { id: string; reference_id: string }[];
    expect(atSquare?.reference_id).toBe(o.orderId);
    expect(synced?.external_id).toBe(atSquare?.id);
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
    // The refund runs on the payments queue; its message is delivered here.
    expect(await deliverRefund("payments", { tenantId: o.t.id, orderId: o.orderId })).toEqual({
      acked: 1,
      retried: 0,
      delays: [],
    });
    expect(await orderRow(o.orderId)).toMatchObject({
      status: "cancelled",
      payment_status: "refunded",
      pos_status: "failed",
    });
    const refunds = await stripeDouble.refundsFor(o.intentId);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]?.status).toBe("succeeded");
    expect(
      (await notificationsFor(o.orderId)).filter((n) => n.kind === "order_refunded" && n.sent),
    ).toHaveLength(1);
    // The route's own message, whenever the background consumer gets it, refunds nothing more.
    await deliverRefund("payments", { tenantId: o.t.id, orderId: o.orderId });
    expect(await stripeDouble.refundsFor(o.intentId)).toHaveLength(1);
    expect(
      (await notificationsFor(o.orderId)).filter((n) => n.kind === "order_refunded"),
    ).toHaveLength(1);
  });
});

describe("a POS success that lands after the refund started", () => {
  it("is recorded (synced) and raises pos_synced_after_refund for staff", async () => {
    // autoSync off: no background message; the test delivers the one submission itself.
    const s = await setupSquareTenant({ autoSync: false });
    const p = await placeCardOrder(s.t, s.itemId);
    await payAtStripe(p);
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
    await deliverRefund("payments", { tenantId: s.t.id, orderId: p.orderId });
    expect((await orderRow(p.orderId))?.payment_status).toBe("refunded");
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
  });
});

describe("captureMode on_pos_accept", () => {
  /** A Square tenant capturing on POS acceptance, and a card order placed while it is connected. */
  async function onPosAcceptOrder() {
    const { t, itemId } = await setupSquareTenant({ autoSync: true, captureMode: "on_pos_accept" });
    const p = await placeCardOrder(t, itemId);
    expect((await intentAtStripe(p.intentId)).capture_method).toBe("manual");
    return { t, ...p };
  }

  it("a POS disconnected while the authorised order waits for it: captured when its message comes", async () => {
    const o = await onPosAcceptOrder();
    // The POS is down (for every call, so that the webhook's own message, which the background
    // consumer may get too, cannot sync it meanwhile), so the order waits for a retry…
    await posDouble.setMode("square", { kind: "status", status: 503 });
    await payAtStripe(o, "authorize");
    await deliver("pos-submissions", [{ tenantId: o.t.id, orderId: o.orderId }]);
    await until(
      () => orderRow(o.orderId),
      (row) => row?.pos_status === "retrying",
    );
    // …and the restaurant disconnects the POS meanwhile: the order is theirs, the money taken.
    await callJson(`/v1/admin/${o.t.slug}/pos/disconnect`, { token: o.t.ownerKey, body: {} }, 200);
    await deliver("pos-submissions", [{ tenantId: o.t.id, orderId: o.orderId }]);
    const row = await orderRow(o.orderId);
    expect(row).toMatchObject({
      status: "confirmed",
      payment_status: "paid",
      pos_status: "not_required",
    });
    expect(row?.payment_captured_at).not.toBeNull();
    expect((await intentAtStripe(o.intentId)).status).toBe("succeeded");
    await posDouble.setMode("square", null);
  });

  it("a POS disconnected before the authorisation: confirmed without the POS, and captured at once", async () => {
    const o = await onPosAcceptOrder();
    await callJson(`/v1/admin/${o.t.slug}/pos/disconnect`, { token: o.t.ownerKey, body: {} }, 200);
    await payAtStripe(o, "authorize");
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
    await payAtStripe(o, "authorize");
    // The submission (delivered here; the background consumer's copy finds the order claimed or
    // synced) reaches the POS, which takes it; the capture then fails.
    await deliver("pos-submissions", [{ tenantId: o.t.id, orderId: o.orderId }]);
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
