import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  call,
  callJson,
  createKey,
  expectError,
  insertOpenAlert,
  keyIdOf,
  until,
} from "../helpers";
import {
  deliver as deliverPos,
  deliverRefund,
  posDouble,
  queuedOrder,
  setupSquareTenant,
} from "../pos-helpers";
import { settledSnapshot } from "../snapshot";
import { type PaidOrder, paidOrder, stripeDouble } from "../stripe-helpers";
import { connectTerminal } from "../ws-helpers";

/** The order as the saga leaves it when the refund was handed to staff. */
async function refundFailed(p: PaidOrder): Promise<string> {
  await env.DB.prepare(
    "UPDATE orders SET status = 'cancelled', payment_status = 'refund_failed' WHERE id = ?",
  )
    .bind(p.orderId)
    .run();
  return insertOpenAlertOfKind(p, "refund_failed");
}

async function insertOpenAlertOfKind(p: PaidOrder, kind: string): Promise<string> {
  const id = await insertOpenAlert(p.t.id, p.orderId);
  await env.DB.prepare("UPDATE alerts SET kind = ? WHERE id = ?").bind(kind, id).run();
  return id;
}

async function orderRow(id: string) {
  return env.DB.prepare("SELECT status, payment_status FROM orders WHERE id = ?")
    .bind(id)
    .first<{ status: string; payment_status: string }>();
}

async function alertOpen(id: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT acknowledged_at FROM alerts WHERE id = ?")
    .bind(id)
    .first<{ acknowledged_at: string | null }>();
  return row?.acknowledged_at === null;
}

/** Refund requests the Stripe double has received for this intent. */
async function refundCalls(intentId: string): Promise<number> {
  const requests = (await stripeDouble.control("requests")) as {
    method: string;
    path: string;
    form?: Record<string, unknown>;
  }[];
  return requests.filter(
    (r) => r.method === "POST" && r.path === "/v1/refunds" && r.form?.payment_intent === intentId,
  ).length;
}

/** Calls refund-retry, then delivers the refund message itself (the background consumer may too). */
async function retry(p: PaidOrder) {
  const res = await callJson<{ order: { paymentStatus: string } }>(
    `/v1/admin/${p.t.slug}/orders/${p.orderId}/refund-retry`,
    { token: p.t.ownerKey, body: {} },
    202,
  );
  expect(res.order.paymentStatus).toBe("refund_pending");
  await deliverRefund("payments", { tenantId: p.t.id, orderId: p.orderId });
  return until(
    () => orderRow(p.orderId),
    (row) => row?.payment_status === "refunded",
    10_000,
    "the order to be refunded",
  );
}

describe("POST /orders/:id/refund-retry", () => {
  it("a refund Stripe already has is found, not made again", async () => {
    const p = await paidOrder();
    // Made at Stripe (a timed-out call that went through), unknown to D1.
    const made = await fetch(`${env.STRIPE_API_BASE}/v1/refunds`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ payment_intent: p.intentId, "metadata[order_id]": p.orderId }),
    });
    expect(made.status).toBe(200);
    const alertId = await refundFailed(p);
    const callsBefore = await refundCalls(p.intentId);
    expect(await retry(p)).toEqual({ status: "cancelled", payment_status: "refunded" });
    expect(await stripeDouble.refundsFor(p.intentId)).toHaveLength(1);
    expect(await refundCalls(p.intentId)).toBe(callsBefore);
    expect(await alertOpen(alertId)).toBe(false);
  });

  it("with no refund anywhere, exactly one is made", async () => {
    const p = await paidOrder();
    await refundFailed(p);
    await retry(p);
    // Delivered twice more (a duplicate message, a second staff click after it settled): still one.
    await deliverRefund("payments", { tenantId: p.t.id, orderId: p.orderId });
    await expectError(
      await call(`/v1/admin/${p.t.slug}/orders/${p.orderId}/refund-retry`, {
        token: p.t.ownerKey,
        body: {},
      }),
      409,
      "conflict",
    );
    const refunds = await stripeDouble.refundsFor(p.intentId);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]?.status).toBe("succeeded");
  });

  it("after a refund Stripe failed, the retry gets an idempotency key of its own", async () => {
    const p = await paidOrder();
    await env.DB.prepare(
      "INSERT INTO refunds (id, tenant_id, order_id, payment_intent_id, amount, currency, status, created_at, updated_at) VALUES (?, ?, ?, ?, 900, 'USD', 'failed', ?, ?)",
    )
      .bind(
        `re_failed_${p.orderId}`,
        p.t.id,
        p.orderId,
        p.intentId,
        new Date().toISOString(),
        new Date().toISOString(),
      )
      .run();
    await refundFailed(p);
    await retry(p);
    const requests = (await stripeDouble.control("requests")) as {
      path: string;
      headers?: Record<string, string>;
      form?: Record<string, unknown>;
    }[];
    const keys = requests
      .filter((r) => r.path === "/v1/refunds" && r.form?.payment_intent === p.intentId)
      .map((r) => r.headers?.["idempotency-key"]);
    expect(keys).toContain(`refund:${p.orderId}:1`);
  });

  it("is 409 in any other payment state and changes nothing", async () => {
    const p = await paidOrder();
    const staff = await createKey(p.t, "staff");
    const before = await settledSnapshot();
    await expectError(
      await call(`/v1/admin/${p.t.slug}/orders/${p.orderId}/refund-retry`, {
        token: staff,
        body: {},
      }),
      409,
      "conflict",
    );
    expect(await settledSnapshot()).toEqual(before);
    const terminal = await createKey(p.t, "terminal");
    await expectError(
      await call(`/v1/admin/${p.t.slug}/orders/${p.orderId}/refund-retry`, {
        token: terminal,
        body: {},
      }),
      403,
      "forbidden",
    );
  });
});

describe("POST /orders/:id/refund-settled", () => {
  it("records a refund made by hand with the note and who made it, without Stripe", async () => {
    const p = await paidOrder();
    const alertId = await refundFailed(p);
    const staff = await createKey(p.t, "staff");
    const callsBefore = await refundCalls(p.intentId);
    const { order } = await callJson<{ order: { status: string; paymentStatus: string } }>(
      `/v1/admin/${p.t.slug}/orders/${p.orderId}/refund-settled`,
      { token: staff, body: { note: "Cash back at the counter, receipt 4411" } },
      200,
    );
    expect(order).toMatchObject({ status: "cancelled", paymentStatus: "refunded" });
    expect(await refundCalls(p.intentId)).toBe(callsBefore);
    expect(await alertOpen(alertId)).toBe(false);
    const detail = await callJson<{
      refunds: { id: string; note: string | null; recordedBy: { keyId: string; label: string } }[];
      history: { to: string; source: string }[];
    }>(`/v1/admin/${p.t.slug}/orders/${p.orderId}`, { token: p.t.ownerKey }, 200);
    expect(detail.refunds).toEqual([
      expect.objectContaining({
        id: `manual_${p.orderId}`,
        status: "succeeded",
        note: "Cash back at the counter, receipt 4411",
        recordedBy: { keyId: await keyIdOf(p.t, staff), label: "staff key" },
      }),
    ]);
  });

  it("is 409 unless the refund failed, 400 without a note, and writes nothing then", async () => {
    const p = await paidOrder();
    const before = await settledSnapshot();
    await expectError(
      await call(`/v1/admin/${p.t.slug}/orders/${p.orderId}/refund-settled`, {
        token: p.t.ownerKey,
        body: { note: "refunded" },
      }),
      409,
      "conflict",
    );
    await refundFailed(p);
    const failedState = await settledSnapshot();
    expect(failedState).not.toEqual(before);
    for (const body of [{}, { note: "" }, { note: "x".repeat(501) }]) {
      await expectError(
        await call(`/v1/admin/${p.t.slug}/orders/${p.orderId}/refund-settled`, {
          token: p.t.ownerKey,
          body,
        }),
        400,
        "validation_failed",
      );
    }
    expect(await settledSnapshot()).toEqual(failedState);
  });
});

describe("a successful POS retry", () => {
  it("closes the order's open pos_sync_failed alert", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    await env.DB.prepare("UPDATE orders SET pos_status = 'failed' WHERE id = ?")
      .bind(order.id)
      .run();
    const p = { t: s.t, orderId: order.id, intentId: "" };
    const alertId = await insertOpenAlertOfKind(p, "pos_sync_failed");
    const other = await insertOpenAlertOfKind(p, "payment_duplicate");
    await callJson(
      `/v1/admin/${s.t.slug}/orders/${order.id}/pos-retry`,
      { token: s.t.ownerKey, body: {} },
      202,
    );
    await deliverPos("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    await until(
      () => alertOpen(alertId),
      (open) => !open,
      10_000,
      "the pos_sync_failed alert to close",
    );
    const atSquare = (await posDouble.orders("square")).filter((o) => o.reference_id === order.id);
    expect(atSquare).toHaveLength(1);
    // Only the POS failure is settled by it.
    expect(await alertOpen(other)).toBe(true);
  });
});

describe("acknowledging an alert", () => {
  it("over HTTP or from one terminal takes it down on every terminal", async () => {
    const p = await paidOrder();
    const staff = await createKey(p.t, "staff");
    const kitchen = await connectTerminal(p.t.slug, { token: staff, query: "name=kitchen" });
    const bar = await connectTerminal(p.t.slug, { token: staff, query: "name=bar" });
    const byHttp = await insertOpenAlertOfKind(p, "pos_sync_failed");
    const bySocket = await insertOpenAlertOfKind(p, "refund_failed");

    await callJson(`/v1/admin/${p.t.slug}/alerts/${byHttp}/ack`, { token: staff, body: {} }, 200);
    kitchen.send({ type: "ack_alert", alertId: bySocket });
    for (const socket of [kitchen, bar]) {
      for (const alertId of [byHttp, bySocket]) {
        const event = await socket.waitFor(
          (m) => m.type === "alert" && (m.data as { alertId: string }).alertId === alertId,
        );
        expect((event.data as { acknowledgedAt: string | null }).acknowledgedAt).toEqual(
          expect.any(String),
        );
      }
    }
    expect(await alertOpen(byHttp)).toBe(false);
    expect(await alertOpen(bySocket)).toBe(false);
    kitchen.close();
    bar.close();
  });
});
