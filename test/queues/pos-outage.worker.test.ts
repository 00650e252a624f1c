import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runScheduled } from "../../src/scheduled";
import { call, callJson, createKey, createTenant, expectError } from "../helpers";
import {
  attempts,
  deliver,
  orderRow,
  posDouble,
  queuedOrder,
  setupSquareTenant,
} from "../pos-helpers";
import { connectTerminal } from "../ws-helpers";

// A POS that stops answering (services/pos-outage.ts): three unanswered attempts in a row take it
// down, new paid orders become manual-entry tickets on the terminals, a probe or a submission
// that gets an answer brings automatic submission back, and no order is both entered by hand
// and sent automatically.

beforeEach(async () => {
  await posDouble.reset();
});
afterEach(async () => {
  await posDouble.setMode("square", null);
  await posDouble.control("state", { vendor: "square", key: "locations", value: null });
});

const MINUTE = 60_000;

async function integration(tenantId: string) {
  return env.DB.prepare(
    "SELECT down_since, probe_at, probe_failures, unanswered_streak FROM pos_integrations WHERE tenant_id = ?",
  )
    .bind(tenantId)
    .first<{
      down_since: string | null;
      probe_at: string | null;
      probe_failures: number;
      unanswered_streak: number;
    }>();
}

async function alertKinds(tenantId: string): Promise<string[]> {
  const rows = await env.DB.prepare(
    "SELECT kind FROM alerts WHERE tenant_id = ? ORDER BY created_at",
  )
    .bind(tenantId)
    .all<{ kind: string }>();
  return rows.results.map((r) => r.kind);
}

let keySeq = 0;
/** An order the customer placed and staff marked paid: the tenant's POS path decides its posStatus. */
async function paidOrder(slug: string, ownerKey: string, itemId: string) {
  const created = await callJson<{ order: { id: string } }>(
    `/v1/stores/${slug}/orders`,
    {
      body: {
        orderType: "pickup",
        items: [{ menuItemId: itemId, quantity: 1 }],
        customer: { name: "Grace Hopper", phone: "+15550101", email: "grace@example.com" },
      },
      headers: { "idempotency-key": `outage-${Date.now()}-${++keySeq}` },
    },
    201,
  );
  const paid = await callJson<{
    order: { id: string; posStatus: string; posEnteredAt: string | null };
  }>(`/v1/admin/${slug}/orders/${created.order.id}/mark-paid`, { token: ownerKey, body: {} }, 200);
  return paid.order;
}

/** Makes the current streak of unanswered attempts three minutes old: past POS_DOWN_AFTER_SECONDS. */
async function backdateStreak(tenantId: string): Promise<void> {
  const past = new Date(Date.now() - 3 * MINUTE).toISOString();
  const result = await env.DB.prepare(
    "UPDATE pos_integrations SET unanswered_since = ? WHERE tenant_id = ? AND unanswered_since IS NOT NULL",
  )
    .bind(past, tenantId)
    .run();
  expect(result.meta.changes, "a streak to backdate").toBe(1);
}

/** A Square tenant whose POS has stopped answering: three orders' attempts got 503s. */
async function downTenant() {
  const s = await setupSquareTenant();
  await posDouble.setMode("square", { kind: "status", status: 503 });
  const stuck: string[] = [];
  for (let i = 0; i < 3; i++) {
    const order = await queuedOrder(s);
    const result = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.retryMessages).toHaveLength(1);
    if (i === 0) await backdateStreak(s.t.id);
    stuck.push(order.id);
  }
  // Orders placed from now on go to the POS automatically (as a live tenant's would).
  await env.DB.prepare("UPDATE pos_integrations SET auto_sync = 1 WHERE tenant_id = ?")
    .bind(s.t.id)
    .run();
  return { ...s, stuck };
}

describe("when the POS is down", () => {
  it("three unanswered attempts in a row take the POS down and tell staff once", async () => {
    const s = await setupSquareTenant();
    await posDouble.setMode("square", { kind: "status", status: 503 });
    for (let i = 0; i < 2; i++) {
      const order = await queuedOrder(s);
      await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
      if (i === 0) await backdateStreak(s.t.id);
    }
    expect((await integration(s.t.id))?.down_since).toBeNull();
    const third = await queuedOrder(s);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: third.id }]);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: third.id, attempts: 2 }]);
    const row = await integration(s.t.id);
    expect(row?.down_since).not.toBeNull();
    expect(Date.parse(row?.probe_at ?? "") - Date.parse(row?.down_since ?? "")).toBe(MINUTE);
    expect(await alertKinds(s.t.id)).toEqual(["pos_down"]);
  });

  it("unanswered attempts within two minutes of the first leave it up, however many", async () => {
    const s = await setupSquareTenant();
    await posDouble.setMode("square", { kind: "status", status: 503 });
    for (let i = 0; i < 4; i++) {
      const order = await queuedOrder(s);
      await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    }
    expect(await integration(s.t.id)).toMatchObject({ down_since: null, unanswered_streak: 4 });
    expect(await alertKinds(s.t.id)).toEqual([]);
  });

  it("an answer in between keeps it up: the streak is of attempts in a row", async () => {
    const s = await setupSquareTenant();
    await posDouble.inject("square", [
      { kind: "status", status: 503 },
      { kind: "status", status: 503 },
    ]);
    for (let i = 0; i < 3; i++) {
      const order = await queuedOrder(s);
      await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
      if (i === 0) await backdateStreak(s.t.id);
    }
    await posDouble.inject("square", [
      { kind: "status", status: 503 },
      { kind: "status", status: 503 },
    ]);
    for (let i = 0; i < 2; i++) {
      const order = await queuedOrder(s);
      await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    }
    // The answer ended the old streak; the new one began just now.
    expect(await integration(s.t.id)).toMatchObject({ down_since: null, unanswered_streak: 2 });
    expect(await alertKinds(s.t.id)).toEqual([]);
  });

  it("orders on their way wait for the POS while it is down instead of using up their attempts", async () => {
    const s = await downTenant();
    const [first] = s.stuck;
    // The tenant's sixth attempt would be its last (maxAttempts 6): while down, it waits instead.
    const result = await deliver("pos-submissions", [
      { tenantId: s.t.id, orderId: String(first), attempts: 6 },
    ]);
    expect(result.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 300 }]);
    expect((await orderRow(String(first)))?.pos_status).toBe("retrying");
    expect(await alertKinds(s.t.id)).toEqual(["pos_down"]);
  });

  it("new paid orders become manual tickets on the terminals, never sent to the POS", async () => {
    const s = await downTenant();
    const terminalKey = await createKey(s.t, "terminal");
    const terminal = await connectTerminal(s.t.slug, { token: terminalKey });
    const order = await paidOrder(s.t.slug, s.t.ownerKey, s.itemId);
    expect(order.posStatus).toBe("manual");
    const ticket = await terminal.waitFor(
      (m) => m.type === "new_order" && (m.data as { id: string }).id === order.id,
    );
    expect(ticket.data).toMatchObject({ posStatus: "manual", posEnteredAt: null });
    // Even a stray submission message for it is skipped: the POS never sees the order.
    const creates = (await posDouble.received("square")).filter(
      (r) => r.path === "/v2/orders",
    ).length;
    await posDouble.setMode("square", null);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(
      (await posDouble.received("square")).filter((r) => r.path === "/v2/orders"),
    ).toHaveLength(creates);
    expect(await attempts(order.id)).toEqual([]);
    expect((await orderRow(order.id))?.pos_status).toBe("manual");
  });

  it("a terminal records, once, that a manual ticket was typed into the POS", async () => {
    const s = await downTenant();
    const terminalKey = await createKey(s.t, "terminal");
    const order = await paidOrder(s.t.slug, s.t.ownerKey, s.itemId);
    const path = `/v1/admin/${s.t.slug}/orders/${order.id}/entered-in-pos`;
    const other = await createTenant();
    await expectError(await call(path, { token: other.ownerKey, body: {} }), 403, "forbidden");
    const done = await callJson<{ order: { posEnteredAt: string | null; posStatus: string } }>(
      path,
      { token: terminalKey, body: {} },
      200,
    );
    expect(done.order.posStatus).toBe("manual");
    // Recorded now, by this call.
    expect(Date.now() - Date.parse(done.order.posEnteredAt ?? "")).toBeLessThan(60_000);
    const stored = await env.DB.prepare("SELECT pos_entered_by FROM orders WHERE id = ?")
      .bind(order.id)
      .first<{ pos_entered_by: string }>();
    expect(stored?.pos_entered_by).toMatch(/^key_/);
    const again = await expectError(
      await call(path, { token: terminalKey, body: {} }),
      409,
      "conflict",
    );
    expect(again.details).toMatchObject({ posEnteredAt: done.order.posEnteredAt });
    // An order that went to the POS automatically is not one to enter by hand.
    const queued = await expectError(
      await call(`/v1/admin/${s.t.slug}/orders/${s.stuck[0]}/entered-in-pos`, {
        token: terminalKey,
        body: {},
      }),
      409,
      "conflict",
    );
    expect(queued.details).toMatchObject({ posStatus: "retrying" });
  });

  it("the socket's entered_in_pos does what its HTTP twin does, with the same role and once", async () => {
    const s = await downTenant();
    const terminalKey = await createKey(s.t, "terminal");
    const terminal = await connectTerminal(s.t.slug, { token: terminalKey });
    const order = await paidOrder(s.t.slug, s.t.ownerKey, s.itemId);
    terminal.send({ type: "entered_in_pos", orderId: order.id, requestId: "r1" });
    const ok = await terminal.waitFor(
      (m) => m.type === "entered_in_pos_result" && m.requestId === "r1",
    );
    expect(ok).toMatchObject({ ok: true, orderId: order.id });
    const update = await terminal.waitFor(
      (m) =>
        m.type === "order_updated" &&
        (m.data as { order: { id: string; posEnteredAt: string | null } }).order.id === order.id &&
        (m.data as { order: { posEnteredAt: string | null } }).order.posEnteredAt !== null,
    );
    expect(update.data).toMatchObject({ change: "pos", order: { posStatus: "manual" } });
    terminal.send({ type: "entered_in_pos", orderId: order.id, requestId: "r2" });
    const twice = await terminal.waitFor(
      (m) => m.type === "entered_in_pos_result" && m.requestId === "r2",
    );
    expect(twice).toMatchObject({ ok: false, error: { code: "conflict" } });
  });

  it("cancelling a manual ticket already typed into the POS asks staff to void it there", async () => {
    const s = await downTenant();
    const terminalKey = await createKey(s.t, "terminal");
    const entered = await paidOrder(s.t.slug, s.t.ownerKey, s.itemId);
    const notEntered = await paidOrder(s.t.slug, s.t.ownerKey, s.itemId);
    await callJson(
      `/v1/admin/${s.t.slug}/orders/${entered.id}/entered-in-pos`,
      { token: terminalKey, body: {} },
      200,
    );
    for (const order of [entered, notEntered]) {
      await callJson(
        `/v1/admin/${s.t.slug}/orders/${order.id}/cancel`,
        { token: s.t.ownerKey, body: {} },
        202,
      );
    }
    const voids = await env.DB.prepare(
      "SELECT order_id FROM alerts WHERE tenant_id = ? AND kind = 'pos_void_needed'",
    )
      .bind(s.t.id)
      .all<{ order_id: string }>();
    expect(voids.results.map((r) => r.order_id)).toEqual([entered.id]);
  });

  it("probes back off while the POS stays silent, and its first answer brings automatic submission back", async () => {
    const s = await downTenant();
    const downAt = Date.parse((await integration(s.t.id))?.down_since ?? "");
    // The connection check fails too (the location cannot be read): the next probe is further out.
    await posDouble.control("state", { vendor: "square", key: "locations", value: {} });
    await runScheduled(env, new Date(downAt + MINUTE + 1_000));
    const silent = await integration(s.t.id);
    expect(silent?.probe_failures).toBe(1);
    expect(Date.parse(silent?.probe_at ?? "") - (downAt + MINUTE + 1_000)).toBe(2 * MINUTE);
    // Not due yet: no probe.
    const reads = async () =>
      (await posDouble.received("square")).filter((r) => r.path.startsWith("/v2/locations/"))
        .length;
    const before = await reads();
    await runScheduled(env, new Date(downAt + 2 * MINUTE));
    expect(await reads()).toBe(before);

    await posDouble.control("state", { vendor: "square", key: "locations", value: null });
    await posDouble.setMode("square", null);
    await runScheduled(env, new Date(downAt + 4 * MINUTE));
    expect(await integration(s.t.id)).toMatchObject({
      down_since: null,
      probe_at: null,
      unanswered_streak: 0,
    });
    expect(await alertKinds(s.t.id)).toEqual(["pos_down", "pos_recovered"]);
    const next = await paidOrder(s.t.slug, s.t.ownerKey, s.itemId);
    expect(next.posStatus).toBe("queued");
  });

  it("a submission that gets an answer while the POS is down brings it back too", async () => {
    const s = await downTenant();
    await posDouble.setMode("square", null);
    const [first] = s.stuck;
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: String(first), attempts: 2 }]);
    expect((await orderRow(String(first)))?.pos_status).toBe("synced");
    expect((await integration(s.t.id))?.down_since).toBeNull();
    expect(await alertKinds(s.t.id)).toEqual(["pos_down", "pos_recovered"]);
  });
});
