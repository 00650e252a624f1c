import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  type TestTenant,
} from "../helpers";
import { snapshotTables } from "../snapshot";

const MAX = 100_000_000;
const usd = (amount: number) => ({ amount, currency: "USD" });
let seq = 0;

function placeOrder(t: TestTenant, body: Record<string, unknown>): Promise<Response> {
  return call(`/v1/stores/${t.slug}/orders`, {
    body: { orderType: "pickup", customer: { name: "Ada" }, ...body },
    headers: { "idempotency-key": `bounds-${Date.now()}-${++seq}` },
  });
}

/** Asserts a 400 naming `path` among its issues, and that nothing was written. */
async function expectRefused(
  send: () => Promise<Response>,
  path: string,
): Promise<{ message: string }> {
  const before = await snapshotTables();
  const error = await expectError(await send(), 400, "validation_failed");
  const issues = (error.details as { issues?: { path: string }[] } | undefined)?.issues ?? [];
  expect(
    issues.map((i) => i.path),
    error.message,
  ).toContain(path);
  expect(await snapshotTables()).toEqual(before);
  return error;
}

describe("money is bounded", () => {
  it("menu prices and modifier prices above 1 000 000.00 are 400 naming the field", async () => {
    const t = await createTenant();
    await expectRefused(
      () =>
        call(`/v1/admin/${t.slug}/menu/items`, {
          token: t.ownerKey,
          body: { name: "Gold", price: usd(MAX + 1) },
        }),
      "price.amount",
    );
    await expectRefused(
      () =>
        call(`/v1/admin/${t.slug}/menu/items`, {
          token: t.ownerKey,
          body: {
            name: "Gold",
            price: usd(100),
            modifiers: [{ name: "Leaf", price: usd(MAX + 1) }],
          },
        }),
      "modifiers[0].price.amount",
    );
    // The ceiling itself is accepted.
    await callJson(
      `/v1/admin/${t.slug}/menu/items`,
      { token: t.ownerKey, body: { name: "Gold", price: usd(MAX) } },
      201,
    );
  });

  it("tips, discounts and gift cards above the ceiling are 400 naming the field", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Soup", price: 500 });
    await expectRefused(
      () => placeOrder(t, { items: [{ menuItemId: item.id, quantity: 1 }], tip: usd(MAX + 1) }),
      "tip.amount",
    );
    await expectRefused(
      () =>
        call(`/v1/stores/${t.slug}/orders/preview`, {
          body: {
            orderType: "pickup",
            customer: { name: "Ada" },
            items: [{ menuItemId: item.id, quantity: 1 }],
            tip: usd(MAX + 1),
          },
        }),
      "tip.amount",
    );
    await expectRefused(
      () =>
        call(`/v1/admin/${t.slug}/discounts`, {
          token: t.ownerKey,
          body: { code: "HUGE", kind: "fixed", value: MAX + 1 },
        }),
      "value",
    );
    await expectRefused(
      () =>
        call(`/v1/admin/${t.slug}/discounts`, {
          token: t.ownerKey,
          body: { code: "HUGE", kind: "fixed", value: 100, minSubtotal: MAX + 1 },
        }),
      "minSubtotal",
    );
    const terminal = await createKey(t, "terminal");
    await expectRefused(
      () =>
        call(`/v1/pos/${t.slug}/gift-cards`, {
          token: terminal,
          body: { amount: usd(MAX + 1), purchaserName: "Bo" },
        }),
      "amount.amount",
    );
  });

  it("quantities above 99 and more than 50 lines are 400 naming the field", async () => {
    const t = await createTenant();
    const item = await createMenuItem(t, { name: "Soup", price: 500 });
    await expectRefused(
      () => placeOrder(t, { items: [{ menuItemId: item.id, quantity: 100 }] }),
      "items[0].quantity",
    );
    await expectRefused(
      () =>
        placeOrder(t, {
          items: Array.from({ length: 51 }, () => ({ menuItemId: item.id, quantity: 1 })),
        }),
      "items",
    );
  });

  it("an order whose line or total would pass the ceiling is 400 and writes nothing", async () => {
    const t = await createTenant();
    const pricey = await createMenuItem(t, { name: "Caviar", price: 2_000_000 });
    await expectRefused(
      () => placeOrder(t, { items: [{ menuItemId: pricey.id, quantity: 99 }] }),
      "items[0].quantity",
    );
    const lines = Array.from({ length: 50 }, () => ({ menuItemId: pricey.id, quantity: 2 }));
    await expectRefused(() => placeOrder(t, { items: lines }), "items");
  });

  it("a tenant's own lower ceiling applies everywhere", async () => {
    const t = await createTenant();
    const { tenant } = await callJson<{ tenant: { maxAmount: number } }>(
      `/v1/platform/tenants/${t.slug}`,
      { method: "PATCH", token: ADMIN_TOKEN, body: { maxAmount: 50_000 } },
      200,
    );
    expect(tenant.maxAmount).toBe(50_000);
    await expectRefused(
      () =>
        call(`/v1/admin/${t.slug}/menu/items`, {
          token: t.ownerKey,
          body: { name: "Wine", price: usd(50_001) },
        }),
      "price.amount",
    );
    const item = await createMenuItem(t, { name: "Wine", price: 20_000 });
    await expectRefused(
      () => placeOrder(t, { items: [{ menuItemId: item.id, quantity: 3 }] }),
      "items[0].quantity",
    );
    await expectRefused(
      () => placeOrder(t, { items: [{ menuItemId: item.id, quantity: 1 }], tip: usd(50_001) }),
      "tip.amount",
    );
    // 40 000 of food, 3 500 of tax and a 7 000 tip: the total passes 50 000.
    await expectRefused(
      () =>
        placeOrder(t, {
          items: [
            { menuItemId: item.id, quantity: 1 },
            { menuItemId: item.id, quantity: 1 },
          ],
          tip: usd(7_000),
        }),
      "tip",
    );
    // The platform refuses a ceiling above its own.
    await expectError(
      await call(`/v1/platform/tenants/${t.slug}`, {
        method: "PATCH",
        token: ADMIN_TOKEN,
        body: { maxAmount: MAX + 1 },
      }),
      400,
      "validation_failed",
    );
  });
});

describe("a rejected order takes no order number", () => {
  it("an order the payment processor refuses writes nothing, and the next order gets the next number", async () => {
    const t = await createTenant();
    const free = await createMenuItem(t, { name: "Water", price: 0 });
    const soup = await createMenuItem(t, { name: "Soup", price: 500 });
    const before = await snapshotTables();
    // Stripe refuses a PaymentIntent for 0.
    await expectError(
      await placeOrder(t, { items: [{ menuItemId: free.id, quantity: 1 }] }),
      400,
      "validation_failed",
    );
    expect(await snapshotTables()).toEqual(before);
    const res = await placeOrder(t, { items: [{ menuItemId: soup.id, quantity: 1 }] });
    expect(res.status).toBe(201);
    const { order } = (await res.json()) as { order: { id: string; number: number } };
    expect(order.number).toBe(1001);
    const detail = await callJson<{ order: { number: number } }>(
      `/v1/admin/${t.slug}/orders/${order.id}`,
      { token: t.ownerKey },
      200,
    );
    expect(detail.order.number).toBe(1001);
  });

  it("the stored response and the event carry the number taken in the batch", async () => {
    const t = await createTenant();
    const soup = await createMenuItem(t, { name: "Soup", price: 500 });
    const key = `bounds-replay-${Date.now()}`;
    const body = {
      orderType: "pickup",
      customer: { name: "Ada" },
      items: [{ menuItemId: soup.id, quantity: 1 }],
    };
    const numbers: number[] = [];
    for (let i = 0; i < 3; i++) {
      const first = await callJson<{ order: { number: number } }>(
        `/v1/stores/${t.slug}/orders`,
        { body, headers: { "idempotency-key": `${key}-${i}` } },
        201,
      );
      const replay = await callJson<{ order: { number: number } }>(
        `/v1/stores/${t.slug}/orders`,
        { body, headers: { "idempotency-key": `${key}-${i}` } },
        201,
      );
      expect(replay.order.number).toBe(first.order.number);
      numbers.push(first.order.number);
    }
    expect(numbers).toEqual([1001, 1002, 1003]);
  });
});

describe("errors quote little of the input", () => {
  it("a long unknown path or a long unknown field is quoted at most 100 characters", async () => {
    const t = await createTenant();
    const long = "w".repeat(4000);
    const notFound = await expectError(await call(`/v1/${long}`), 404, "not_found");
    expect(JSON.stringify(notFound)).not.toContain("w".repeat(101));
    const invalid = await expectError(
      await call(`/v1/admin/${t.slug}/menu/items`, {
        token: t.ownerKey,
        body: { name: "Soup", price: usd(100), [long]: true },
      }),
      400,
      "validation_failed",
    );
    expect(JSON.stringify(invalid)).not.toContain("w".repeat(101));
    expect(JSON.stringify(invalid)).toContain("w".repeat(100));
  });
});

describe("times are UTC", () => {
  it("scheduledFor and a discount's expiresAt given with an offset come back in UTC", async () => {
    const t = await createTenant();
    const soup = await createMenuItem(t, { name: "Soup", price: 500 });
    const res = await placeOrder(t, {
      items: [{ menuItemId: soup.id, quantity: 1 }],
      scheduledFor: "2031-06-01T18:30:00+02:00",
    });
    expect(res.status).toBe(201);
    const { order } = (await res.json()) as { order: { scheduledFor: string } };
    expect(order.scheduledFor).toBe("2031-06-01T16:30:00.000Z");
    const { discount } = await callJson<{ discount: { expiresAt: string } }>(
      `/v1/admin/${t.slug}/discounts`,
      {
        token: t.ownerKey,
        body: { code: "LATE", kind: "fixed", value: 100, expiresAt: "2031-01-01T00:00:00-05:00" },
      },
      201,
    );
    expect(discount.expiresAt).toBe("2031-01-01T05:00:00.000Z");
  });
});
