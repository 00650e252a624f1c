import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { runScheduled } from "../../src/scheduled";
import { callJson } from "../helpers";
import { orderRow, posDouble, queuedOrder, syncedSquareOrder } from "../pos-helpers";

// The cron pass asks the POS where an order stands when no webhook has spoken of it for two
// minutes (services/pos-polling.ts): the kitchen's progress reaches Orderlane even without
// webhooks, through the same forward-only path.

beforeEach(async () => {
  await posDouble.reset();
});

type SquareOrder = { id: string; version: number; fulfillments: { uid: string; state: string }[] };

/** The kitchen moving the order in Square itself: UpdateOrder on the double, as the POS app would. */
async function kitchenMoves(posOrderId: string, state: string): Promise<void> {
  const orders = (await posDouble.orders("square")) as unknown as SquareOrder[];
  const order = orders.find((o) => o.id === posOrderId);
  const uid = order?.fulfillments[0]?.uid;
  const res = await fetch(`${env.POS_DOUBLE_URL}/square/v2/orders/${posOrderId}`, {
    method: "PUT",
    headers: { authorization: "Bearer kitchen", "content-type": "application/json" },
    body: JSON.stringify({
      idempotency_key: crypto.randomUUID(),
      order: { version: order?.version, fulfillments: [{ uid, state }] },
    }),
  });
  expect(res.status, await res.text()).toBe(200);
}

/** Makes the order look quiet: its last change three minutes ago. */
async function quiet(orderId: string): Promise<void> {
  const past = new Date(Date.now() - 3 * 60_000).toISOString();
  await env.DB.prepare("UPDATE orders SET updated_at = ?, pos_polled_at = NULL WHERE id = ?")
    .bind(past, orderId)
    .run();
}

async function polls(posOrderId: string): Promise<number> {
  const received = await posDouble.received("square");
  return received.filter((r) => r.method === "GET" && r.path === `/v2/orders/${posOrderId}`).length;
}

describe("status polling", () => {
  it("a quiet order takes the status the kitchen gave it in the POS, recorded as polled", async () => {
    const { s, order, posOrderId } = await syncedSquareOrder();
    await kitchenMoves(posOrderId, "PREPARED");
    await quiet(order.id);
    await runScheduled(env, new Date());
    expect(await polls(posOrderId)).toBe(1);
    expect((await orderRow(order.id))?.status).toBe("ready");
    const detail = await callJson<{ history: { to: string; source: string }[] }>(
      `/v1/admin/${s.t.slug}/orders/${order.id}`,
      { token: s.t.ownerKey },
      200,
    );
    expect(detail.history.at(-1)).toMatchObject({ to: "ready", source: "pos_poll" });
    const event = await env.DB.prepare(
      "SELECT count(*) AS n FROM outbox_events WHERE tenant_id = ? AND type = 'order_updated' AND payload LIKE '%\"ready\"%'",
    )
      .bind(s.t.id)
      .first<{ n: number }>();
    expect(event?.n).toBe(1);
  });

  it("a poll never cancels: an order the POS reports cancelled keeps its status here", async () => {
    const { order, posOrderId } = await syncedSquareOrder();
    await kitchenMoves(posOrderId, "CANCELED");
    await quiet(order.id);
    await runScheduled(env, new Date());
    expect(await polls(posOrderId)).toBe(1);
    expect((await orderRow(order.id))?.status).toBe("confirmed");
  });

  it("asks once per quiet spell, and not about orders with recent news or no POS copy", async () => {
    const { s, order, posOrderId } = await syncedSquareOrder();
    // Just changed: not asked.
    await runScheduled(env, new Date());
    expect(await polls(posOrderId)).toBe(0);
    await quiet(order.id);
    await runScheduled(env, new Date());
    await runScheduled(env, new Date());
    // Nothing new in the POS: the status stays, and the second pass did not ask again.
    expect(await polls(posOrderId)).toBe(1);
    expect((await orderRow(order.id))?.status).toBe("confirmed");
    // An order the POS does not have is never asked about.
    const unsynced = await queuedOrder(s);
    await quiet(unsynced.id);
    const before = (await posDouble.received("square")).length;
    await runScheduled(env, new Date());
    expect((await posDouble.received("square")).length).toBe(before);
  });

  it("a finished order, or one whose POS was disconnected, is not asked about", async () => {
    const { s, order, posOrderId } = await syncedSquareOrder();
    await env.DB.prepare("UPDATE orders SET status = 'completed' WHERE id = ?")
      .bind(order.id)
      .run();
    await quiet(order.id);
    await runScheduled(env, new Date());
    expect(await polls(posOrderId)).toBe(0);

    const other = await syncedSquareOrder();
    await callJson(
      `/v1/admin/${other.s.t.slug}/pos/disconnect`,
      { token: other.s.t.ownerKey, body: {} },
      200,
    );
    await quiet(other.order.id);
    await runScheduled(env, new Date());
    expect(await polls(other.posOrderId)).toBe(0);
    expect(s.t.id).not.toBe(other.s.t.id);
  });
});
