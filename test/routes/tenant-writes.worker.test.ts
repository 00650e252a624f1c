import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  insertOpenAlert,
  type TestTenant,
} from "../helpers";
import { snapshotTenant, untilOutboxDelivered } from "../snapshot";
import { connectTerminal } from "../ws-helpers";

interface OpenApiDoc {
  paths: Record<string, Record<string, unknown>>;
}

/** Every write operation under a tenant, read from the OpenAPI document so new routes join. */
async function tenantWriteRoutes(): Promise<{ method: string; path: string }[]> {
  const doc = await callJson<OpenApiDoc>("/openapi.json", {}, 200);
  const out: { method: string; path: string }[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.includes("{tenant}") || path.startsWith("/v1/platform/")) continue;
    for (const method of Object.keys(methods)) {
      if (["post", "patch", "put", "delete"].includes(method)) {
        out.push({ method: method.toUpperCase(), path });
      }
    }
  }
  return out;
}

/** Tenant A with one of everything a write could reach: item, modifier, discount, order, alert, keys, gift card, points. */
async function populatedTenant() {
  const a = await createTenant();
  const item = await createMenuItem(a, {
    name: "Fries",
    price: 400,
    modifiers: [
      { name: "Large", price: 100 },
      { name: "Cheese", price: 150 },
    ],
  });
  const { discount } = await callJson<{ discount: { id: string; code: string } }>(
    `/v1/admin/${a.slug}/discounts`,
    { token: a.ownerKey, body: { code: "ATENANT10", kind: "percent", value: 10 } },
    201,
  );
  const { order } = await callJson<{ order: { id: string } }>(
    `/v1/stores/${a.slug}/orders`,
    {
      body: {
        orderType: "pickup",
        items: [{ menuItemId: item.id, quantity: 1, modifierIds: [item.modifiers[0]?.id] }],
        customer: { name: "Ada", phone: "+15550100" },
      },
      headers: { "idempotency-key": `tenant-writes-${Date.now()}` },
    },
    201,
  );
  await callJson(
    `/v1/admin/${a.slug}/orders/${order.id}/mark-paid`,
    { token: a.ownerKey, body: {} },
    200,
  );
  const terminalKey = await createKey(a, "terminal");
  const { giftCard } = await callJson<{ giftCard: { code: string } }>(
    `/v1/pos/${a.slug}/gift-cards`,
    {
      token: terminalKey,
      body: { amount: { amount: 2500, currency: "USD" }, purchaserName: "Bo" },
    },
    201,
  );
  await callJson(
    `/v1/pos/${a.slug}/loyalty/+15550100/add`,
    { token: terminalKey, body: { points: 50, reason: "visit" } },
    200,
  );
  const alertId = await insertOpenAlert(a.id, order.id);
  // A's own background work (outbox delivery) must be done before its rows are compared.
  await untilOutboxDelivered(a.id);
  const { items: keys } = await callJson<{ items: { id: string }[] }>(
    `/v1/admin/${a.slug}/keys`,
    { token: a.ownerKey },
    200,
  );
  return {
    a,
    ids: [
      item.id,
      ...item.modifiers.map((m) => m.id),
      discount.id,
      discount.code,
      order.id,
      alertId,
      ...keys.map((k) => k.id),
      giftCard.code,
      "+15550100",
    ],
    refs: { itemId: item.id, modifierIds: item.modifiers.map((m) => m.id), orderId: order.id },
  };
}

/** A body that passes validation, so the request reaches the data layer. */
function bodyFor(
  method: string,
  path: string,
  refs: { itemId: string; modifierIds: string[]; orderId: string },
): unknown[] {
  if (method === "DELETE") return [undefined];
  if (path.endsWith("/menu/items/{id}")) {
    return [
      { name: "Taken over", price: { amount: 1, currency: "USD" } },
      {
        modifiers: refs.modifierIds.map((id) => ({
          id,
          name: "Stolen",
          price: { amount: 1, currency: "USD" },
        })),
      },
    ];
  }
  if (path.endsWith("/menu/items")) {
    return [{ name: "Copy", price: { amount: 1, currency: "USD" } }];
  }
  if (path.endsWith("/status")) return [{ status: "preparing" }, { status: "cancelled" }];
  if (path.includes("/loyalty/")) return [{ points: 10, reason: "probe" }];
  if (path.endsWith("/discounts")) return [{ code: "ATENANT10", kind: "fixed", value: 1 }];
  if (path.endsWith("/keys")) return [{ role: "staff", label: "probe" }];
  if (path.endsWith("/gift-cards")) {
    return [{ amount: { amount: 100, currency: "USD" }, purchaserName: "Probe" }];
  }
  return [{}];
}

describe("every write is scoped to its tenant", () => {
  it("tenant B's write routes given tenant A's object ids change none of A's rows", async () => {
    const { a, ids, refs } = await populatedTenant();
    const b: TestTenant = await createTenant();
    const bTerminal = await createKey(b, "terminal");
    const before = await snapshotTenant(a.id);
    expect(before.menu_modifiers).toHaveLength(2);
    expect(before.orders).toHaveLength(1);

    const routes = await tenantWriteRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(15);
    let calls = 0;
    for (const { method, path } of routes) {
      const params = path.match(/\{(?!tenant\})[^}]+\}/g) ?? [];
      const fills = params.length === 0 ? [path] : ids.map((id) => fillParams(path, id));
      for (const filled of fills) {
        for (const body of bodyFor(method, path, refs)) {
          const token = path.startsWith("/v1/pos/") ? bTerminal : b.ownerKey;
          const res = await call(filled.replace("{tenant}", b.slug), { method, token, body });
          expect(res.status, `${method} ${filled}`).toBeLessThan(500);
          calls += 1;
        }
      }
    }
    expect(calls).toBeGreaterThan(100);
    expect(await snapshotTenant(a.id)).toEqual(before);
  });

  it("B's terminal socket cannot move A's order or acknowledge A's alert", async () => {
    const { a, refs } = await populatedTenant();
    const b = await createTenant();
    const alert = await env.DB.prepare("SELECT id FROM alerts WHERE tenant_id = ?")
      .bind(a.id)
      .first<{ id: string }>();
    const before = await snapshotTenant(a.id);
    const socket = await connectTerminal(b.slug, { token: b.ownerKey });
    for (const status of ["preparing", "cancelled"]) {
      socket.send({ type: "set_status", orderId: refs.orderId, status, requestId: status });
      const result = await socket.waitFor(
        (m) => m.type === "set_status_result" && m.requestId === status,
      );
      expect(result).toMatchObject({ ok: false, error: { code: "not_found" } });
    }
    socket.send({ type: "ack_alert", alertId: alert?.id });
    expect(await socket.waitFor((m) => m.type === "ack_alert_result")).toMatchObject({ ok: false });
    socket.close();
    expect(await snapshotTenant(a.id)).toEqual(before);
  });
});

function fillParams(path: string, id: string): string {
  return path.replace(/\{(?!tenant\})[^}]+\}/g, encodeURIComponent(id));
}
