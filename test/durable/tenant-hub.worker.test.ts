import {
  createExecutionContext,
  createScheduledController,
  evictDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { tenantHub } from "../../src/delivery";
import worker from "../../src/index";
import {
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  placeOrder,
  type TestTenant,
  until,
} from "../helpers";
import { connectTerminal, openSocket } from "../ws-helpers";

interface OrderBody {
  id: string;
  number: number;
  status: string;
}

async function placeOrderBody(t: TestTenant, itemId: string): Promise<OrderBody> {
  return (await placeOrder(t, itemId)).order;
}

async function placeAndConfirm(t: TestTenant, itemId: string): Promise<OrderBody> {
  const order = await placeOrderBody(t, itemId);
  await callJson(
    `/v1/admin/${t.slug}/orders/${order.id}/mark-paid`,
    { token: t.ownerKey, body: {} },
    200,
  );
  return order;
}

async function setup() {
  const t = await createTenant();
  const item = await createMenuItem(t, { name: "Soup", price: 500 });
  const terminalKey = await createKey(t, "terminal");
  return { t, itemId: item.id, terminalKey };
}

describe("terminal socket: connecting", () => {
  it("a terminal key connects and gets hello with the current seq", async () => {
    const { t, terminalKey } = await setup();
    const terminal = await connectTerminal(t.slug, { token: terminalKey });
    const hello = terminal.messages[0];
    expect(hello).toMatchObject({ type: "hello", seq: 0, tenant: t.slug, data: { seq: 0 } });
    terminal.close();
  });

  it("a ticket connects once; reusing it is 401", async () => {
    const { t, terminalKey } = await setup();
    const { ticket, expiresAt } = await callJson<{ ticket: string; expiresAt: string }>(
      `/v1/pos/${t.slug}/terminals/ticket`,
      { token: terminalKey, body: {} },
      201,
    );
    const ttl = Date.parse(expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    const terminal = await connectTerminal(t.slug, { ticket });
    const again = await openSocket(t.slug, { ticket });
    expect(again.res.status).toBe(401);
    expect(again.terminal).toBeNull();
    terminal.close();
  });

  it("an expired ticket is 401", async () => {
    const { t, terminalKey } = await setup();
    const { ticket } = await callJson<{ ticket: string }>(
      `/v1/pos/${t.slug}/terminals/ticket`,
      { token: terminalKey, body: {} },
      201,
    );
    await env.DB.prepare("UPDATE terminal_tickets SET expires_at = ?")
      .bind(new Date(Date.now() - 1000).toISOString())
      .run();
    expect((await openSocket(t.slug, { ticket })).res.status).toBe(401);
  });

  it("refuses another tenant's key or ticket, a revoked key, a bad key and no key with 401", async () => {
    const a = await setup();
    const b = await setup();
    const { ticket } = await callJson<{ ticket: string }>(
      `/v1/pos/${b.t.slug}/terminals/ticket`,
      { token: b.terminalKey, body: {} },
      201,
    );
    const revoked = await createKey(a.t, "terminal");
    const keys = await callJson<{ items: { id: string; prefix: string }[] }>(
      `/v1/admin/${a.t.slug}/keys`,
      { token: a.t.ownerKey },
      200,
    );
    const revokedId = keys.items.find((k) => revoked.startsWith(k.prefix))?.id;
    await call(`/v1/admin/${a.t.slug}/keys/${revokedId}`, {
      method: "DELETE",
      token: a.t.ownerKey,
    });
    for (const auth of [
      { token: b.terminalKey },
      { ticket },
      { token: revoked },
      { token: "olk_nope" },
      {},
    ]) {
      const { res, terminal } = await openSocket(a.t.slug, auth);
      expect(res.status, JSON.stringify(auth)).toBe(401);
      expect(terminal).toBeNull();
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
  });

  it("acks are kept per terminal and handed back in the next hello", async () => {
    const { t, itemId, terminalKey } = await setup();
    const first = await connectTerminal(t.slug, { token: terminalKey, query: "name=bar" });
    expect(first.messages[0]).toMatchObject({ data: { lastAck: 0 } });
    await placeAndConfirm(t, itemId);
    const events = await first.waitForEvents(2);
    first.send({ type: "ack", seq: events[1]?.seq });
    first.send({ type: "ping" });
    await first.waitFor((m) => m.type === "pong");
    first.close();
    const again = await connectTerminal(t.slug, { token: terminalKey, query: "name=bar" });
    expect(again.messages[0]).toMatchObject({
      type: "hello",
      seq: 2,
      data: { seq: 2, lastAck: 2 },
    });
    const other = await connectTerminal(t.slug, { token: terminalKey, query: "name=grill" });
    expect(other.messages[0]).toMatchObject({ data: { lastAck: 0 } });
    again.close();
    other.close();
  });

  it("a request without an upgrade is 426", async () => {
    const { t, terminalKey } = await setup();
    await expectError(
      await call(`/ws/pos/${t.slug}`, { token: terminalKey }),
      426,
      "upgrade_required",
    );
  });
});

describe("terminal socket: events", () => {
  it("two terminals receive the same events in seq order", async () => {
    const { t, itemId, terminalKey } = await setup();
    const one = await connectTerminal(t.slug, { token: terminalKey, query: "name=kitchen" });
    const two = await connectTerminal(t.slug, { token: terminalKey, query: "name=counter" });
    const order = await placeAndConfirm(t, itemId);
    await callJson(
      `/v1/admin/${t.slug}/orders/${order.id}/status`,
      { token: t.ownerKey, body: { status: "preparing" } },
      200,
    );
    const first = await one.waitForEvents(3);
    const second = await two.waitForEvents(3);
    expect(first).toEqual(second);
    expect(first.map((e) => [e.type, e.seq])).toEqual([
      ["order_updated", 1],
      ["new_order", 2],
      ["order_updated", 3],
    ]);
    expect(first[1]?.data).toMatchObject({
      id: order.id,
      status: "confirmed",
      paymentStatus: "paid",
    });
    expect(first[2]?.data).toMatchObject({
      order: { id: order.id, status: "preparing" },
      previousStatus: "confirmed",
      change: "status",
    });
    one.close();
    two.close();
  });

  it("a terminal that misses three events and resumes gets exactly those three", async () => {
    const { t, itemId, terminalKey } = await setup();
    const terminal = await connectTerminal(t.slug, { token: terminalKey });
    const order = await placeOrderBody(t, itemId);
    const [seen] = await terminal.waitForEvents(1);
    terminal.close();
    await callJson(
      `/v1/admin/${t.slug}/orders/${order.id}/mark-paid`,
      { token: t.ownerKey, body: {} },
      200,
    );
    await callJson(
      `/v1/admin/${t.slug}/orders/${order.id}/status`,
      { token: t.ownerKey, body: { status: "preparing" } },
      200,
    );
    await callJson(
      `/v1/admin/${t.slug}/orders/${order.id}/status`,
      { token: t.ownerKey, body: { status: "ready" } },
      200,
    );
    await waitForHubSeq(t, 4);
    const back = await connectTerminal(t.slug, { token: terminalKey });
    expect(back.messages[0]).toMatchObject({ type: "hello", seq: 4 });
    back.send({ type: "resume", after: seen?.seq });
    const missed = await back.waitForEvents(3);
    expect(missed.map((e) => [e.type, e.seq])).toEqual([
      ["new_order", 2],
      ["order_updated", 3],
      ["order_updated", 4],
    ]);
    // Nothing more than the three arrives.
    back.send({ type: "ping" });
    await back.waitFor((m) => m.type === "pong");
    expect(back.events()).toHaveLength(3);
    back.close();
  });

  it("events still arrive after the object was evicted (hibernation)", async () => {
    const { t, itemId, terminalKey } = await setup();
    const terminal = await connectTerminal(t.slug, { token: terminalKey });
    await evictDurableObject(tenantHub(env, t.id));
    await placeAndConfirm(t, itemId);
    const events = await terminal.waitForEvents(2);
    expect(events.map((e) => e.type)).toEqual(["order_updated", "new_order"]);
    terminal.close();
  });

  it("a re-published outbox row is not delivered twice", async () => {
    const { t, itemId, terminalKey } = await setup();
    const terminal = await connectTerminal(t.slug, { token: terminalKey });
    await placeOrderBody(t, itemId);
    await terminal.waitForEvents(1);
    const row = await env.DB.prepare(
      "SELECT id, tenant_id, type, payload, created_at FROM outbox_events WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first<{
        id: string;
        tenant_id: string;
        type: "order_updated";
        payload: string;
        created_at: string;
      }>();
    if (!row) throw new Error("no outbox row");
    const record = {
      id: row.id,
      tenantId: row.tenant_id,
      type: row.type,
      payload: JSON.parse(row.payload),
      createdAt: row.created_at,
    };
    const hub = tenantHub(env, t.id);
    await hub.publish([record], t.slug);
    await hub.publish([record, record], t.slug);
    terminal.send({ type: "ping" });
    await terminal.waitFor((m) => m.type === "pong");
    expect(terminal.events()).toHaveLength(1);
    expect(await hub.status()).toMatchObject({ seq: 1, events: 1 });
    terminal.close();
  });

  it("an undelivered outbox row is delivered by the cron pass and marked delivered", async () => {
    const { t, terminalKey } = await setup();
    const terminal = await connectTerminal(t.slug, { token: terminalKey });
    // The state a failed publish leaves: committed, never delivered.
    const createdAt = new Date(Date.now() - 60_000).toISOString();
    await env.DB.prepare(
      "INSERT INTO outbox_events (id, tenant_id, type, payload, created_at, attempts) VALUES ('evt_stuck', ?, 'alert', ?, ?, 1)",
    )
      .bind(
        t.id,
        JSON.stringify({ alertId: "a1", level: "warning", kind: "test", message: "stuck" }),
        createdAt,
      )
      .run();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const [event] = await terminal.waitForEvents(1);
    expect(event).toMatchObject({ type: "alert", seq: 1, data: { message: "stuck" } });
    const row = await env.DB.prepare(
      "SELECT delivered_at FROM outbox_events WHERE id = 'evt_stuck'",
    ).first<{ delivered_at: string | null }>();
    expect(row?.delivered_at).not.toBeNull();
    terminal.close();
  });
});

describe("terminal socket: commands", () => {
  it("set_status moves the order, answers set_status_result and reaches every terminal", async () => {
    const { t, itemId, terminalKey } = await setup();
    const order = await placeAndConfirm(t, itemId);
    const kitchen = await connectTerminal(t.slug, { token: terminalKey, query: "name=kitchen" });
    const counter = await connectTerminal(t.slug, { token: terminalKey, query: "name=counter" });
    kitchen.send({ type: "set_status", orderId: order.id, status: "ready", requestId: "r1" });
    const result = await kitchen.waitFor((m) => m.type === "set_status_result");
    expect(result).toEqual({ type: "set_status_result", requestId: "r1", ok: true });
    const seen = await counter.waitFor(
      (m) =>
        m.type === "order_updated" &&
        (m.data as { order: { status: string } }).order.status === "ready",
    );
    expect(seen.data).toMatchObject({ previousStatus: "confirmed", change: "status" });
    const detail = await callJson<{ history: { to: string; source: string }[] }>(
      `/v1/admin/${t.slug}/orders/${order.id}`,
      { token: t.ownerKey },
      200,
    );
    expect(detail.history.at(-1)).toMatchObject({ to: "ready", source: "terminal" });
    kitchen.close();
    counter.close();
  });

  it("an illegal set_status is answered ok: false with the reason, and changes nothing", async () => {
    const { t, itemId, terminalKey } = await setup();
    const order = await placeOrderBody(t, itemId);
    const terminal = await connectTerminal(t.slug, { token: terminalKey });
    terminal.send({ type: "set_status", orderId: order.id, status: "preparing", requestId: "r2" });
    const result = await terminal.waitFor((m) => m.type === "set_status_result");
    expect(result).toMatchObject({ requestId: "r2", ok: false, error: { code: "conflict" } });
    terminal.send({ type: "set_status", orderId: "ord_missing", status: "ready" });
    const missing = await terminal.waitFor(
      (m) => m.type === "set_status_result" && m.requestId === null,
    );
    expect(missing).toMatchObject({ ok: false, error: { code: "not_found" } });
    terminal.close();
  });

  it("malformed and unknown messages get an error and the socket stays open", async () => {
    const { t, terminalKey } = await setup();
    const terminal = await connectTerminal(t.slug, { token: terminalKey });
    terminal.send("not json");
    terminal.send({ type: "dance" });
    terminal.send({ type: "ack", seq: "x" });
    await terminal.waitFor(() => terminal.messages.filter((m) => m.type === "error").length === 3);
    expect(terminal.messages.filter((m) => m.type === "error").map((m) => m.code)).toEqual([
      "malformed_message",
      "unknown_message_type",
      "invalid_message",
    ]);
    terminal.send({ type: "ping" });
    await terminal.waitFor((m) => m.type === "pong");
    expect(terminal.closed).toBeNull();
    terminal.close();
  });

  it("refuses terminals beyond the tenant's limit with close code 4429", async () => {
    const { t, terminalKey } = await setup();
    const limit = Number(env.MAX_TERMINALS_PER_TENANT);
    expect(limit).toBe(3);
    const open = [];
    for (let i = 0; i < limit; i++)
      open.push(await connectTerminal(t.slug, { token: terminalKey }));
    const { terminal } = await openSocket(t.slug, { token: terminalKey });
    const closed = await terminal?.waitForClose(2000);
    expect(closed?.code).toBe(4429);
    expect(closed?.reason).toContain("limit 3");
    for (const s of open) s.close();
  });
});

async function waitForHubSeq(t: TestTenant, seq: number): Promise<void> {
  await until(
    () => tenantHub(env, t.id).status(),
    (status) => status.seq >= seq,
    5000,
    `the hub to reach seq ${seq}`,
  );
}
