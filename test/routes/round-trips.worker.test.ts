import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { tenantHub } from "../../src/delivery";
import worker from "../../src/index";
import { countD1, type D1Counter } from "../d1-counter";
import {
  type CallOptions,
  callJson,
  clientRequest,
  createKey,
  createMenuItem,
  createTenant,
  placeOrder,
  placeOrderOptions,
  until,
} from "../helpers";
import { orderRow, posDouble, queuedOrder, setupSquareTenant } from "../pos-helpers";
import {
  paymentEvent,
  placeCardOrder,
  stripeDouble,
  stripeWebhookOptions,
} from "../stripe-helpers";
import { connectTerminal } from "../ws-helpers";

/**
 * The hot paths' D1 round trips (issue 11), counted by a `DB` binding that
 * passes every call through (test/d1-counter.ts). "Before the answer" is what
 * the client waits for; what runs after it (`waitUntil`: marking the outbox
 * rows delivered) is counted apart.
 */

interface Counted {
  res: Response;
  /** Round trips made before the response was returned. */
  beforeAnswer: string[];
  /** Round trips made after it, in `waitUntil`. */
  afterAnswer: string[];
}

async function countedFetch(path: string, options: CallOptions): Promise<Counted> {
  const counter = countD1();
  const ctx = createExecutionContext();
  const res = await worker.fetch(clientRequest(path, options), counter.env, ctx);
  const beforeAnswer = [...counter.trips];
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return { res, beforeAnswer, afterAnswer: counter.trips.slice(beforeAnswer.length) };
}

let seq = 0;

beforeEach(async () => {
  await posDouble.reset();
});

describe("D1 round trips of the hot paths", () => {
  it("order creation: one read batch and one write batch with a warm isolate", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Soup", price: 900 });
    // Warms this isolate (the tenant's slug is known from here on).
    await callJson(`/v1/stores/${t.slug}/orders`, placeOrderOptions(item.id), 201);

    const placed = await countedFetch(`/v1/stores/${t.slug}/orders`, placeOrderOptions(item.id));
    expect(placed.res.status).toBe(201);
    expect(placed.beforeAnswer, placed.beforeAnswer.join("\n")).toHaveLength(2);
    expect(placed.beforeAnswer.every((trip) => trip.startsWith("batch"))).toBe(true);
    // After the answer: the order_updated event is published and its outbox row marked.
    expect(placed.afterAnswer.length).toBeLessThanOrEqual(1);
  });

  it("order creation in a cold isolate or for another slug reads the tenant first, once", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Soup", price: 900 });
    const other = await createTenant();
    // `other` was never served by this isolate's storefront: its slug is resolved first.
    const refused = await countedFetch(
      `/v1/stores/${other.slug}/orders`,
      placeOrderOptions(item.id), // t's item: unknown at `other`
    );
    expect(refused.res.status).toBe(400);
    expect(refused.beforeAnswer.length).toBeLessThanOrEqual(2);
    const placed = await countedFetch(`/v1/stores/${t.slug}/orders`, placeOrderOptions(item.id));
    expect(placed.res.status).toBe(201);
    expect(placed.beforeAnswer.length).toBeLessThanOrEqual(3);
  });

  it("payment confirmation by Stripe's webhook: one read batch, one write batch", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Soup", price: 900 });
    const order = await placeCardOrder(t, item.id);
    await stripeDouble.control(`payment_intents/${order.intentId}/succeed`, {});

    const confirmed = await countedFetch(
      "/webhooks/stripe",
      await stripeWebhookOptions(paymentEvent(order, "succeed")),
    );
    expect(confirmed.res.status).toBe(200);
    expect((await orderRow(order.orderId))?.payment_status).toBe("paid");
    expect(confirmed.beforeAnswer, confirmed.beforeAnswer.join("\n")).toHaveLength(2);
  });

  it("payment confirmation by mark-paid: one read (the key's check in it) and one write", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Soup", price: 900 });
    const staff = await createKey(t, "staff");
    const first = await placeOrder(t, item.id);
    const second = await placeOrder(t, item.id);

    // A key this isolate has not accepted yet is checked first (key and tenant in one batch).
    const cold = await countedFetch(`/v1/admin/${t.slug}/orders/${first.order.id}/mark-paid`, {
      token: staff,
      body: {},
    });
    expect(cold.res.status).toBe(200);
    expect(cold.beforeAnswer, cold.beforeAnswer.join("\n")).toHaveLength(3);

    const warm = await countedFetch(`/v1/admin/${t.slug}/orders/${second.order.id}/mark-paid`, {
      token: staff,
      body: {},
    });
    expect(warm.res.status).toBe(200);
    expect((await orderRow(second.order.id))?.payment_status).toBe("paid");
    // The key's liveness, the tenant, the order and the integration in one batch; the write.
    expect(warm.beforeAnswer, warm.beforeAnswer.join("\n")).toHaveLength(2);
    expect(warm.beforeAnswer[0]).toContain("api_keys");
  });

  it("a successful POS submission: at most three besides the vendor's calls", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    const counter = countD1();
    const batch = createMessageBatch("pos-submissions", [
      {
        id: `trips-msg-${++seq}`,
        timestamp: new Date(),
        attempts: 1,
        body: { type: "pos_submit", tenantId: s.t.id, orderId: order.id },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, counter.env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await orderRow(order.id))?.pos_status).toBe("synced");
    // Read the context, claim the order, record the outcome (its outbox row marked after).
    const work = counter.trips.filter((trip) => !isOutboxMark(trip));
    expect(work, counter.trips.join("\n")).toHaveLength(3);
  });

  it("a terminal's set_status: the key and the order in one read, then one write", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Soup", price: 900 });
    const placed = await callJson<{ order: { id: string } }>(
      `/v1/stores/${t.slug}/orders`,
      placeOrderOptions(item.id),
      201,
    );
    await callJson(
      `/v1/admin/${t.slug}/orders/${placed.order.id}/mark-paid`,
      { token: t.ownerKey, body: {} },
      200,
    );
    const terminal = await connectTerminal(t.slug, { token: await createKey(t, "terminal") });
    const counter: D1Counter = countD1();
    const hub = tenantHub(env, t.id);
    const realEnv = await runInDurableObject(hub, (instance: object) => {
      const own = (instance as { env: Env }).env;
      Object.defineProperty(instance, "env", { value: counter.env, configurable: true });
      return own;
    });
    try {
      terminal.send({
        type: "set_status",
        requestId: "r-trips",
        orderId: placed.order.id,
        status: "preparing",
      });
      const answer = await terminal.waitFor((m) => m.type === "set_status_result");
      expect(answer).toMatchObject({ ok: true });
      // The answer goes out once the event is in the hub's log; marking its outbox row follows.
      await until(
        () => counter.trips,
        (trips) => trips.some(isOutboxMark),
        8000,
        "the outbox mark",
      );
      const work = counter.trips.filter((trip) => !isOutboxMark(trip));
      expect(work, counter.trips.join("\n")).toHaveLength(2);
    } finally {
      await runInDurableObject(hub, (instance: object) => {
        Object.defineProperty(instance, "env", { value: realEnv, configurable: true });
      });
      terminal.close();
    }
    expect((await orderRow(placed.order.id))?.status).toBe("preparing");
  });
});

function isOutboxMark(trip: string): boolean {
  return /update "outbox_events" set "delivered_at"/i.test(trip);
}
