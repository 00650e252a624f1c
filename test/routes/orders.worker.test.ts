import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { applyOrderChange, findOrder } from "../../src/db/orders";
import {
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  type MenuItemBody,
  type TestTenant,
  tableCounts,
} from "../helpers";
import { intentAtStripe } from "../stripe-helpers";

interface OrderBody {
  id: string;
  number: number;
  tenant: string;
  status: string;
  paymentStatus: string;
  posStatus: string;
  items: {
    menuItemId: string;
    name: string;
    quantity: number;
    unitPrice: { amount: number };
    lineTotal: { amount: number };
    modifiers: { id: string }[];
  }[];
  subtotal: { amount: number; currency: string };
  discount: { amount: number };
  tax: { amount: number };
  tip: { amount: number };
  total: { amount: number };
}
interface Created {
  order: OrderBody;
  accessToken: string;
  payment: { provider: string; clientSecret: string | null };
}

async function setup(
  taxRateBps = 875,
): Promise<{ t: TestTenant; burger: MenuItemBody; soda: MenuItemBody }> {
  const t = await createTenant({ taxRateBps });
  const burger = await createMenuItem(t, {
    name: "Burger",
    price: 1000,
    modifiers: [
      { name: "Cheese", price: 150 },
      { name: "Bacon", price: 250 },
    ],
  });
  const soda = await createMenuItem(t, { name: "Soda", price: 300 });
  return { t, burger, soda };
}

function draft(
  items: { menuItemId: string; quantity: number; modifierIds?: string[] }[],
  extra: Record<string, unknown> = {},
) {
  return { orderType: "pickup", items, customer: { name: "Ada", phone: "+1 555 0100" }, ...extra };
}

let keySeq = 0;
const newKey = () => `key-${Date.now()}-${++keySeq}`;

function placeOrder(t: TestTenant, body: unknown, key: string = newKey()) {
  return call(`/v1/stores/${t.slug}/orders`, { body, headers: { "idempotency-key": key } });
}

describe("orders: placing", () => {
  it("prices from the menu and stores order, lines, history, outbox and idempotency in one go", async () => {
    const { t, burger, soda } = await setup();
    const before = await tableCounts();
    const res = await placeOrder(
      t,
      draft(
        [
          { menuItemId: burger.id, quantity: 2, modifierIds: [burger.modifiers[0]?.id ?? ""] },
          { menuItemId: soda.id, quantity: 1 },
        ],
        { tip: { amount: 200, currency: "USD" }, specialInstructions: "ring the bell" },
      ),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as Created;
    // 2 × (1000 + 150) + 300 = 2600; tax 8.75% of 2600 = 227.5 → 228
    expect(body.order).toMatchObject({
      number: 1001,
      tenant: t.slug,
      status: "pending_payment",
      paymentStatus: "unpaid",
      posStatus: "not_required",
      orderType: "pickup",
      subtotal: { amount: 2600, currency: "USD" },
      discount: { amount: 0, currency: "USD" },
      tax: { amount: 228, currency: "USD" },
      tip: { amount: 200, currency: "USD" },
      total: { amount: 3028, currency: "USD" },
      customer: { name: "Ada", email: null, phone: "+1 555 0100" },
      specialInstructions: "ring the bell",
      externalId: null,
    });
    expect(
      body.order.items.map((i) => [i.name, i.quantity, i.unitPrice.amount, i.lineTotal.amount]),
    ).toEqual([
      ["Burger", 2, 1150, 2300],
      ["Soda", 1, 300, 300],
    ]);
    expect(body.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A PaymentIntent for the total, tagged with the tenant and the order.
    expect(body.payment.provider).toBe("stripe");
    expect(body.payment.clientSecret).toMatch(/^pi_\w+_secret_\w+$/);
    const intentId = (body.payment.clientSecret ?? "").split("_secret_")[0];
    const stored = await env.DB.prepare("SELECT payment_intent_id FROM orders WHERE id = ?")
      .bind(body.order.id)
      .first<{ payment_intent_id: string }>();
    expect(stored?.payment_intent_id).toBe(intentId);
    const intent = await intentAtStripe(intentId ?? "");
    expect(intent).toMatchObject({
      amount: 3028,
      currency: "usd",
      metadata: { tenant_id: t.id, order_id: body.order.id },
    });

    const after = await tableCounts();
    expect(after.orders).toBe((before.orders ?? 0) + 1);
    expect(after.order_items).toBe((before.order_items ?? 0) + 2);
    expect(after.order_status_history).toBe((before.order_status_history ?? 0) + 1);
    expect(after.outbox_events).toBe((before.outbox_events ?? 0) + 1);
    expect(after.idempotency_keys).toBe((before.idempotency_keys ?? 0) + 1);

    const history = await env.DB.prepare(
      "SELECT from_status, to_status, source FROM order_status_history WHERE order_id = ?",
    )
      .bind(body.order.id)
      .all();
    expect(history.results).toEqual([
      { from_status: null, to_status: "pending_payment", source: "storefront" },
    ]);
    const outbox = await env.DB.prepare(
      "SELECT type, payload, delivered_at FROM outbox_events WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first<{ type: string; payload: string; delivered_at: string | null }>();
    expect(outbox?.type).toBe("order_updated");
    expect(JSON.parse(outbox?.payload ?? "{}")).toEqual({
      order: body.order,
      previousStatus: null,
      change: "status",
    });
    // The access token is derived, never stored.
    const dump = await env.DB.prepare("SELECT * FROM idempotency_keys").all();
    expect(JSON.stringify(dump.results)).not.toContain(body.accessToken);
  });

  it("applies a discount and counts its use", async () => {
    const { t, burger } = await setup(1000);
    await callJson(
      `/v1/admin/${t.slug}/discounts`,
      { token: t.ownerKey, body: { code: "TEN", kind: "percent", value: 10, minSubtotal: 1000 } },
      201,
    );
    const res = await placeOrder(
      t,
      draft([{ menuItemId: burger.id, quantity: 3 }], { discountCode: "ten" }),
    );
    const body = (await res.json()) as Created & { order: { discountCode: string } };
    expect(res.status).toBe(201);
    // 3000 − 300 = 2700; tax 10% = 270
    expect([
      body.order.subtotal.amount,
      body.order.discount.amount,
      body.order.tax.amount,
      body.order.total.amount,
    ]).toEqual([3000, 300, 270, 2970]);
    expect(body.order.discountCode).toBe("TEN");
    const row = await env.DB.prepare("SELECT used_count FROM discount_codes WHERE tenant_id = ?")
      .bind(t.id)
      .first();
    expect(row).toEqual({ used_count: 1 });
  });

  it("the last use of a code goes to one order only; the other is 400 and writes nothing", async () => {
    const { t, soda } = await setup();
    await callJson(
      `/v1/admin/${t.slug}/discounts`,
      { token: t.ownerKey, body: { code: "ONCE", kind: "fixed", value: 100, maxUses: 1 } },
      201,
    );
    const first = await placeOrder(
      t,
      draft([{ menuItemId: soda.id, quantity: 1 }], { discountCode: "ONCE" }),
    );
    expect(first.status).toBe(201);
    const before = await tableCounts();
    const second = await placeOrder(
      t,
      draft([{ menuItemId: soda.id, quantity: 2 }], { discountCode: "ONCE" }),
    );
    const error = await expectError(second, 400, "validation_failed");
    expect(error.details).toMatchObject({ reason: "discount_exhausted" });
    expect(await tableCounts()).toEqual(before);
  });

  it("concurrent orders racing for the last use: exactly one gets it", async () => {
    const { t, soda } = await setup();
    await callJson(
      `/v1/admin/${t.slug}/discounts`,
      { token: t.ownerKey, body: { code: "LAST", kind: "fixed", value: 100, maxUses: 1 } },
      201,
    );
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        placeOrder(t, draft([{ menuItemId: soda.id, quantity: 1 }], { discountCode: "LAST" })),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 400, 400, 400, 400, 400]);
    const orders = await env.DB.prepare("SELECT count(*) AS n FROM orders WHERE tenant_id = ?")
      .bind(t.id)
      .first();
    expect(orders).toEqual({ n: 1 });
  });

  it("order numbers stay unique and consecutive under concurrent creation", async () => {
    const { t, soda } = await setup();
    const responses = await Promise.all(
      Array.from({ length: 25 }, () =>
        placeOrder(t, draft([{ menuItemId: soda.id, quantity: 1 }])),
      ),
    );
    const numbers: number[] = [];
    for (const res of responses) {
      expect(res.status).toBe(201);
      numbers.push(((await res.json()) as Created).order.number);
    }
    expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => 1001 + i));
  });

  it("numbers are per tenant", async () => {
    const a = await setup();
    const b = await setup();
    const ra = (await (
      await placeOrder(a.t, draft([{ menuItemId: a.soda.id, quantity: 1 }]))
    ).json()) as Created;
    const rb = (await (
      await placeOrder(b.t, draft([{ menuItemId: b.soda.id, quantity: 1 }]))
    ).json()) as Created;
    expect([ra.order.number, rb.order.number]).toEqual([1001, 1001]);
  });
});

describe("orders: idempotency", () => {
  it("the same key and body answer the first response again and create nothing", async () => {
    const { t, soda } = await setup();
    const body = draft([{ menuItemId: soda.id, quantity: 2 }]);
    const first = await placeOrder(t, body, "same-key-0001");
    const firstBody = await first.json();
    const before = await tableCounts();
    // Same body with keys in another order and other whitespace is the same request.
    const reordered = { customer: body.customer, items: body.items, orderType: body.orderType };
    const again = await call(`/v1/stores/${t.slug}/orders`, {
      rawBody: JSON.stringify(reordered, null, 2),
      headers: { "idempotency-key": "same-key-0001" },
    });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(firstBody);
    expect(await tableCounts()).toEqual(before);
  });

  it("the same key with another body is 422 and writes nothing", async () => {
    const { t, soda } = await setup();
    await placeOrder(t, draft([{ menuItemId: soda.id, quantity: 1 }]), "reused-key-01");
    const before = await tableCounts();
    await expectError(
      await placeOrder(t, draft([{ menuItemId: soda.id, quantity: 5 }]), "reused-key-01"),
      422,
      "idempotency_mismatch",
    );
    expect(await tableCounts()).toEqual(before);
  });

  it("concurrent requests with one key create one order and all answer it", async () => {
    const { t, soda } = await setup();
    const body = draft([{ menuItemId: soda.id, quantity: 1 }]);
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => placeOrder(t, body, "racing-key-01")),
    );
    const ids = new Set<string>();
    for (const res of responses) {
      expect(res.status).toBe(201);
      ids.add(((await res.json()) as Created).order.id);
    }
    expect(ids.size).toBe(1);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM orders WHERE tenant_id = ?")
      .bind(t.id)
      .first();
    expect(count).toEqual({ n: 1 });
    // Every PaymentIntent made for a request that lost the race was cancelled.
    const requests = (await (await fetch(`${env.STRIPE_API_BASE}/_control/requests`)).json()) as {
      method: string;
      path: string;
      form: Record<string, unknown>;
    }[];
    const ours = (r: { form: Record<string, unknown> }) => JSON.stringify(r.form).includes(t.id);
    const created = requests.filter(
      (r) => r.method === "POST" && r.path === "/v1/payment_intents" && ours(r),
    );
    const cancelled = requests.filter((r) => r.method === "POST" && /\/cancel$/.test(r.path));
    expect(created.length).toBeGreaterThanOrEqual(1);
    const createdIds = new Set(
      cancelled.map((r) => r.path.split("/")[3]).filter((id) => id !== undefined),
    );
    const winner = [...ids][0];
    const stored = await env.DB.prepare("SELECT payment_intent_id FROM orders WHERE id = ?")
      .bind(winner)
      .first<{ payment_intent_id: string }>();
    expect(createdIds.has(stored?.payment_intent_id ?? "")).toBe(false);
    expect(
      cancelled.filter((r) => r.path.includes("/v1/payment_intents/")).length,
    ).toBeGreaterThanOrEqual(created.length - 1);
  });

  it("keys are per tenant", async () => {
    const a = await setup();
    const b = await setup();
    expect(
      (await placeOrder(a.t, draft([{ menuItemId: a.soda.id, quantity: 1 }]), "shared-key-01"))
        .status,
    ).toBe(201);
    expect(
      (await placeOrder(b.t, draft([{ menuItemId: b.soda.id, quantity: 1 }]), "shared-key-01"))
        .status,
    ).toBe(201);
  });

  it.each([
    ["missing", undefined],
    ["too short", "abc"],
    ["with spaces", "has spaces in it"],
  ])("an Idempotency-Key %s is 400", async (_name, key) => {
    const { t, soda } = await setup();
    const before = await tableCounts();
    const res = await call(`/v1/stores/${t.slug}/orders`, {
      body: draft([{ menuItemId: soda.id, quantity: 1 }]),
      headers: key === undefined ? {} : { "idempotency-key": key },
    });
    const error = await expectError(res, 400, "validation_failed");
    expect(error.message.toLowerCase()).toContain("idempotency-key");
    expect(await tableCounts()).toEqual(before);
  });
});

describe("orders: the payment processor is down", () => {
  it("answers 500 internal saying to retry, writes nothing, and the same request succeeds later", async () => {
    const { t, soda } = await setup();
    // Both attempts stripe-node makes (one retry) fail, for this tenant's intents only.
    const faults = await fetch(`${env.STRIPE_API_BASE}/_control/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(
        [1, 2].map(() => ({
          path: "/v1/payment_intents",
          method: "POST",
          status: 503,
          form: { "metadata[tenant_id]": t.id },
        })),
      ),
    });
    expect(faults.status).toBe(204);
    const body = draft([{ menuItemId: soda.id, quantity: 1 }]);
    const before = await tableCounts();
    const down = await placeOrder(t, body, "processor-down-1");
    const error = await expectError(down, 500, "internal");
    expect(error.message).toMatch(/payment processor could not be reached/);
    expect(error.details).toEqual({ reason: "payment_unavailable", retryable: true });
    expect(await tableCounts()).toEqual(before);

    const retried = await placeOrder(t, body, "processor-down-1");
    expect(retried.status).toBe(201);
    const created = (await retried.json()) as Created;
    expect(created.payment.clientSecret).toMatch(/^pi_\w+_secret_\w+$/);
  });
});

describe("orders: rejected drafts write nothing", () => {
  it.each<
    [
      string,
      (m: { burger: MenuItemBody; soda: MenuItemBody; other: MenuItemBody }) => unknown,
      string,
    ]
  >([
    [
      "an unknown item",
      () => draft([{ menuItemId: "itm_missing", quantity: 1 }]),
      "items[0].menuItemId",
    ],
    [
      "another tenant's item",
      (m) => draft([{ menuItemId: m.other.id, quantity: 1 }]),
      "items[0].menuItemId",
    ],
    [
      "a modifier of another item",
      (m) =>
        draft([
          { menuItemId: m.soda.id, quantity: 1, modifierIds: [m.burger.modifiers[0]?.id ?? ""] },
        ]),
      "items[0].modifierIds[0]",
    ],
    ["quantity 0", (m) => draft([{ menuItemId: m.soda.id, quantity: 0 }]), "items[0].quantity"],
    [
      "quantity as a string",
      (m) => draft([{ menuItemId: m.soda.id, quantity: "2" as unknown as number }]),
      "items[0].quantity",
    ],
    [
      "a client price",
      (m) => draft([{ menuItemId: m.soda.id, quantity: 1, price: 1 } as never]),
      "",
    ],
    ["no items", () => draft([]), "items"],
    [
      "no customer name",
      (m) => ({ ...draft([{ menuItemId: m.soda.id, quantity: 1 }]), customer: {} }),
      "customer.name",
    ],
    [
      "a bad email",
      (m) =>
        draft([{ menuItemId: m.soda.id, quantity: 1 }], { customer: { name: "A", email: "nope" } }),
      "customer.email",
    ],
    [
      "delivery without address",
      (m) => draft([{ menuItemId: m.soda.id, quantity: 1 }], { orderType: "delivery" }),
      "deliveryAddress",
    ],
    [
      "an unknown order type",
      (m) => draft([{ menuItemId: m.soda.id, quantity: 1 }], { orderType: "drone" }),
      "orderType",
    ],
    [
      "a tip in another currency",
      (m) =>
        draft([{ menuItemId: m.soda.id, quantity: 1 }], { tip: { amount: 1, currency: "EUR" } }),
      "tip.currency",
    ],
    [
      "a negative tip",
      (m) =>
        draft([{ menuItemId: m.soda.id, quantity: 1 }], { tip: { amount: -5, currency: "USD" } }),
      "tip.amount",
    ],
    [
      "an unknown discount code",
      (m) => draft([{ menuItemId: m.soda.id, quantity: 1 }], { discountCode: "NOPE" }),
      "discountCode",
    ],
    [
      "a bad scheduledFor",
      (m) => draft([{ menuItemId: m.soda.id, quantity: 1 }], { scheduledFor: "soon" }),
      "scheduledFor",
    ],
  ])("%s is 400", async (_name, build, path) => {
    const { t, burger, soda } = await setup();
    const otherTenant = await createTenant();
    const other = await createMenuItem(otherTenant, { name: "Elsewhere", price: 100 });
    const before = await tableCounts();
    const error = await expectError(
      await placeOrder(t, build({ burger, soda, other })),
      400,
      "validation_failed",
    );
    if (path) {
      const details = error.details as { issues: { path: string }[] };
      expect(details.issues.map((i) => i.path)).toContain(path);
    }
    expect(await tableCounts()).toEqual(before);
  });

  it("an unavailable item is 409 item_unavailable naming it, and writes nothing", async () => {
    const t = await createTenant();
    const off = await createMenuItem(t, { name: "Off", price: 100, available: false });
    const before = await tableCounts();
    const error = await expectError(
      await placeOrder(t, draft([{ menuItemId: off.id, quantity: 1 }])),
      409,
      "conflict",
    );
    expect(error.details).toMatchObject({ reason: "item_unavailable", menuItemId: off.id });
    expect(await tableCounts()).toEqual(before);
  });
});

describe("orders: preview", () => {
  it("prices without writing", async () => {
    const { t, burger } = await setup(825);
    const before = await tableCounts();
    const preview = await callJson<Record<string, { amount: number }>>(
      `/v1/stores/${t.slug}/orders/preview`,
      { body: draft([{ menuItemId: burger.id, quantity: 1 }]) },
      200,
    );
    // 1000 at 8.25% = 82.5 → 83 (half up)
    expect([preview.subtotal?.amount, preview.tax?.amount, preview.total?.amount]).toEqual([
      1000, 83, 1083,
    ]);
    expect(await tableCounts()).toEqual(before);
  });
});

describe("orders: tracking with the access token", () => {
  it("the token reads the order; a wrong, missing or other order's token is 404", async () => {
    const { t, soda } = await setup();
    const a = (await (
      await placeOrder(t, draft([{ menuItemId: soda.id, quantity: 1 }]))
    ).json()) as Created;
    const b = (await (
      await placeOrder(t, draft([{ menuItemId: soda.id, quantity: 2 }]))
    ).json()) as Created;
    const read = await callJson<{ order: OrderBody }>(
      `/v1/stores/${t.slug}/orders/${a.order.id}?token=${a.accessToken}`,
      {},
      200,
    );
    expect(read.order).toEqual(a.order);
    await expectError(await call(`/v1/stores/${t.slug}/orders/${a.order.id}`), 404, "not_found");
    await expectError(
      await call(`/v1/stores/${t.slug}/orders/${a.order.id}?token=${b.accessToken}`),
      404,
      "not_found",
    );
    await expectError(
      await call(`/v1/stores/${t.slug}/orders/${a.order.id}?token=x${a.accessToken.slice(1)}`),
      404,
      "not_found",
    );
    const other = await createTenant();
    await expectError(
      await call(`/v1/stores/${other.slug}/orders/${a.order.id}?token=${a.accessToken}`),
      404,
      "not_found",
    );
  });
});

describe("orders: staff", () => {
  async function confirmedOrder() {
    const { t, soda } = await setup();
    const created = (await (
      await placeOrder(t, draft([{ menuItemId: soda.id, quantity: 1 }]))
    ).json()) as Created;
    // What the payment webhook will do; payments are not part of this suite.
    await env.DB.prepare(
      "UPDATE orders SET status = 'confirmed', payment_status = 'paid' WHERE id = ?",
    )
      .bind(created.order.id)
      .run();
    return { t, order: created.order, staff: await createKey(t, "staff") };
  }

  it("moves an order forward through the state machine with history and events", async () => {
    const { t, order, staff } = await confirmedOrder();
    for (const status of ["preparing", "ready", "completed"]) {
      const res = await callJson<{ order: OrderBody; changed: boolean }>(
        `/v1/admin/${t.slug}/orders/${order.id}/status`,
        { token: staff, body: { status } },
        200,
      );
      expect(res.order.status).toBe(status);
      expect(res.changed).toBe(true);
    }
    const detail = await callJson<{
      order: OrderBody;
      history: { from: string | null; to: string; source: string }[];
    }>(`/v1/admin/${t.slug}/orders/${order.id}`, { token: staff }, 200);
    expect(detail.order.status).toBe("completed");
    expect(detail.history.map((h) => [h.from, h.to, h.source])).toEqual([
      [null, "pending_payment", "storefront"],
      ["confirmed", "preparing", "staff"],
      ["preparing", "ready", "staff"],
      ["ready", "completed", "staff"],
    ]);
    const events = await env.DB.prepare(
      "SELECT json_extract(payload, '$.order.status') AS status, json_extract(payload, '$.previousStatus') AS previous FROM outbox_events WHERE tenant_id = ? ORDER BY created_at, rowid",
    )
      .bind(t.id)
      .all();
    expect(events.results).toEqual([
      { status: "pending_payment", previous: null },
      { status: "preparing", previous: "confirmed" },
      { status: "ready", previous: "preparing" },
      { status: "completed", previous: "ready" },
    ]);
  });

  it("an illegal move is 409 and writes nothing", async () => {
    const { t, order, staff } = await confirmedOrder();
    await callJson(
      `/v1/admin/${t.slug}/orders/${order.id}/status`,
      { token: staff, body: { status: "ready" } },
      200,
    );
    const before = await tableCounts();
    for (const status of ["preparing", "pending_payment", "out_for_delivery"]) {
      await expectError(
        await call(`/v1/admin/${t.slug}/orders/${order.id}/status`, {
          token: staff,
          body: { status },
        }),
        409,
        "conflict",
      );
    }
    expect(await tableCounts()).toEqual(before);
  });

  it("an unpaid order cannot be prepared, but can be cancelled; a cancelled one is final", async () => {
    const { t, soda } = await setup();
    const created = (await (
      await placeOrder(t, draft([{ menuItemId: soda.id, quantity: 1 }]))
    ).json()) as Created;
    const url = `/v1/admin/${t.slug}/orders/${created.order.id}/status`;
    await expectError(
      await call(url, { token: t.ownerKey, body: { status: "preparing" } }),
      409,
      "conflict",
    );
    await expectError(
      await call(url, { token: t.ownerKey, body: { status: "confirmed" } }),
      409,
      "conflict",
    );
    const cancelled = await callJson<{ order: OrderBody }>(
      url,
      { token: t.ownerKey, body: { status: "cancelled" } },
      200,
    );
    expect(cancelled.order.status).toBe("cancelled");
    await expectError(
      await call(url, { token: t.ownerKey, body: { status: "preparing" } }),
      409,
      "conflict",
    );
  });

  it("repeating the current status changes nothing", async () => {
    const { t, order, staff } = await confirmedOrder();
    const url = `/v1/admin/${t.slug}/orders/${order.id}/status`;
    await callJson(url, { token: staff, body: { status: "preparing" } }, 200);
    const before = await tableCounts();
    const again = await callJson<{ changed: boolean; order: OrderBody }>(
      url,
      { token: staff, body: { status: "preparing" } },
      200,
    );
    expect(again).toMatchObject({ changed: false, order: { status: "preparing" } });
    expect(await tableCounts()).toEqual(before);
  });

  it("a write from a stale read loses: no status, history or event is written", async () => {
    const { t, order } = await confirmedOrder();
    const db = getDb(env);
    const stale = await findOrder(db, t.id, order.id);
    if (!stale) throw new Error("order not found");
    const change = (to: "preparing" | "cancelled") => ({
      patch: { status: to },
      source: "staff" as const,
      event: () => ({ type: "order_updated" as const, payload: {} }),
    });
    const first = await applyOrderChange(db, stale, change("preparing"), new Date());
    expect(first?.order.status).toBe("preparing");
    const before = await tableCounts();
    const second = await applyOrderChange(db, stale, change("cancelled"), new Date());
    expect(second).toBeNull();
    expect(await tableCounts()).toEqual(before);
    expect((await findOrder(db, t.id, order.id))?.status).toBe("preparing");
  });

  it("lists orders newest first with filters and cursor pagination", async () => {
    const { t, soda } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          (await (
            await placeOrder(t, draft([{ menuItemId: soda.id, quantity: 1 }]))
          ).json()) as Created
        ).order.id,
      );
    }
    await callJson(
      `/v1/admin/${t.slug}/orders/${ids[1]}/status`,
      { token: t.ownerKey, body: { status: "cancelled" } },
      200,
    );
    const page1 = await callJson<{ items: OrderBody[]; nextCursor: string | null }>(
      `/v1/admin/${t.slug}/orders?limit=2`,
      { token: t.ownerKey },
      200,
    );
    expect(page1.items.map((o) => o.number)).toEqual([1005, 1004]);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = await callJson<{ items: OrderBody[]; nextCursor: string | null }>(
      `/v1/admin/${t.slug}/orders?limit=2&cursor=${page1.nextCursor}`,
      { token: t.ownerKey },
      200,
    );
    expect(page2.items.map((o) => o.number)).toEqual([1003, 1002]);
    const page3 = await callJson<{ items: OrderBody[]; nextCursor: string | null }>(
      `/v1/admin/${t.slug}/orders?limit=2&cursor=${page2.nextCursor}`,
      { token: t.ownerKey },
      200,
    );
    expect(page3.items.map((o) => o.number)).toEqual([1001]);
    expect(page3.nextCursor).toBeNull();
    const cancelled = await callJson<{ items: OrderBody[] }>(
      `/v1/admin/${t.slug}/orders?status=cancelled`,
      { token: t.ownerKey },
      200,
    );
    expect(cancelled.items.map((o) => o.id)).toEqual([ids[1]]);
    await expectError(
      await call(`/v1/admin/${t.slug}/orders?status=lost`, { token: t.ownerKey }),
      400,
      "validation_failed",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/orders?limit=500`, { token: t.ownerKey }),
      400,
      "validation_failed",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/orders?cursor=abc`, { token: t.ownerKey }),
      400,
      "validation_failed",
    );
  });

  it("a terminal key cannot use the staff order routes", async () => {
    const { t, order } = await confirmedOrder();
    const terminal = await createKey(t, "terminal");
    await expectError(
      await call(`/v1/admin/${t.slug}/orders`, { token: terminal }),
      403,
      "forbidden",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/orders/${order.id}/status`, {
        token: terminal,
        body: { status: "preparing" },
      }),
      403,
      "forbidden",
    );
  });
});
