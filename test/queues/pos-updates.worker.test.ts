import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { callJson, createKey, until } from "../helpers";
import { deliver, posDouble, syncedSquareOrder } from "../pos-helpers";

// What staff and terminals change here reaches the POS once (services/pos-updates.ts): the
// order's pos_push is set with the change, a pos_update message tells the adapter, and the push
// is cleared. Square is the vendor with fulfillment states; its double refuses what Square does.

beforeEach(async () => {
  await posDouble.reset();
});

type SquareOrder = {
  id: string;
  state: string;
  version: number;
  fulfillments?: { state: string }[];
};

async function squareOrder(id: string): Promise<SquareOrder | undefined> {
  const orders = (await posDouble.orders("square")) as unknown as SquareOrder[];
  return orders.find((o) => o.id === id);
}

async function updateCalls(posOrderId: string) {
  const calls = await posDouble.received("square");
  return calls.filter((c) => c.method === "PUT" && c.path === `/v2/orders/${posOrderId}`);
}

async function pushOf(orderId: string): Promise<string | null> {
  const row = await env.DB.prepare("SELECT pos_push FROM orders WHERE id = ?")
    .bind(orderId)
    .first<{ pos_push: string | null }>();
  return row?.pos_push ?? null;
}

describe("status changes reach the POS's fulfillment", () => {
  it("staff moving an order to preparing, then ready, moves Square's fulfillment forward once each", async () => {
    const { s, order, posOrderId } = await syncedSquareOrder();
    const staff = await createKey(s.t, "staff");
    for (const [status, square] of [
      ["preparing", "RESERVED"],
      ["ready", "PREPARED"],
    ] as const) {
      await callJson(
        `/v1/admin/${s.t.slug}/orders/${order.id}/status`,
        { token: staff, body: { status } },
        200,
      );
      await until(
        () => squareOrder(posOrderId),
        (o) => o?.fulfillments?.[0]?.state === square,
        8000,
        `Square's fulfillment to be ${square}`,
      );
      await until(
        () => pushOf(order.id),
        (p) => p === null,
        8000,
        "the push to be cleared",
      );
    }
    const before = (await updateCalls(posOrderId)).length;
    // A duplicate delivery of the last message: nothing is left to tell, so no call.
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id, type: "pos_update" }]);
    expect((await updateCalls(posOrderId)).length).toBe(before);
    expect((await squareOrder(posOrderId))?.fulfillments?.[0]?.state).toBe("PREPARED");
  });

  it("a late push never moves the fulfillment back", async () => {
    const { s, order, posOrderId } = await syncedSquareOrder();
    const staff = await createKey(s.t, "staff");
    await callJson(
      `/v1/admin/${s.t.slug}/orders/${order.id}/status`,
      { token: staff, body: { status: "ready" } },
      200,
    );
    await until(
      () => squareOrder(posOrderId),
      (o) => o?.fulfillments?.[0]?.state === "PREPARED",
      8000,
      "Square's fulfillment to be PREPARED",
    );
    await until(
      () => pushOf(order.id),
      (p) => p === null,
      8000,
      "the push to be cleared",
    );
    // An older push arriving late (a message delayed behind a newer one).
    await env.DB.prepare("UPDATE orders SET pos_push = 'preparing' WHERE id = ?")
      .bind(order.id)
      .run();
    const result = await deliver("pos-submissions", [
      { tenantId: s.t.id, orderId: order.id, type: "pos_update" },
    ]);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await squareOrder(posOrderId))?.fulfillments?.[0]?.state).toBe("PREPARED");
    expect(await pushOf(order.id)).toBeNull();
  });
});

describe("a cancel reaches the POS", () => {
  it("Square takes a paid order off its fulfillment queue and staff are told to refund it there, once", async () => {
    const { s, order, posOrderId } = await syncedSquareOrder();
    await callJson(
      `/v1/admin/${s.t.slug}/orders/${order.id}/cancel`,
      { token: s.t.ownerKey, body: {} },
      202,
    );
    await until(
      () => pushOf(order.id),
      (p) => p === null,
      8000,
      "the cancel to reach Square",
    );
    // Square refuses to cancel an order with a payment recorded; its fulfillment is cancelled.
    expect((await squareOrder(posOrderId))?.fulfillments?.[0]?.state).toBe("CANCELED");
    const alerts = await env.DB.prepare(
      "SELECT kind FROM alerts WHERE order_id = ? AND kind = 'pos_void_needed'",
    )
      .bind(order.id)
      .all();
    expect(alerts.results).toHaveLength(1);
    // Delivered again: nothing more is told, no second alert.
    const calls = (await updateCalls(posOrderId)).length;
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id, type: "pos_update" }]);
    expect((await updateCalls(posOrderId)).length).toBe(calls);
    const again = await env.DB.prepare(
      "SELECT count(*) AS n FROM alerts WHERE order_id = ? AND kind = 'pos_void_needed'",
    )
      .bind(order.id)
      .first<{ n: number }>();
    expect(again?.n).toBe(1);
  });
});
