import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import {
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  until,
} from "../helpers";
import {
  attempts,
  deliver,
  orderRow,
  type PosSetup,
  posDouble,
  queuedOrder,
  setupSquareTenant,
} from "../pos-helpers";
import { connectTerminal } from "../ws-helpers";

beforeEach(async () => {
  await posDouble.reset();
});

/** A tenant with one menu item (no Clover id: it goes by name and price) and Clover connected. */
async function setupCloverTenant(): Promise<PosSetup> {
  const t = await createTenant();
  const item = await createMenuItem(t, { name: "Burger", price: 1200 });
  await callJson(
    `/v1/admin/${t.slug}/pos/connect`,
    {
      token: t.ownerKey,
      body: {
        provider: "clover",
        locationId: `M${crypto.randomUUID().replace(/-/g, "").slice(0, 12).toUpperCase()}`,
        credentials: { accessToken: "clover-access" },
        settings: { autoSync: false },
      },
    },
    200,
  );
  return { t, itemId: item.id };
}

describe("POS submission consumer", () => {
  it("sends a Clover order with the order type and tender connecting created, paid once", async () => {
    const s = await setupCloverTenant();
    const order = await queuedOrder(s);
    const result = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.retryMessages).toEqual([]);

    const [cloverOrder, ...others] = (await posDouble.orders("clover")) as {
      id: string;
      title: string;
      orderType: { id: string } | null;
      paymentState: string;
    }[];
    expect(others).toEqual([]);
    expect(cloverOrder).toMatchObject({
      title: order.id,
      paymentState: "PAID",
      orderType: { id: expect.stringMatching(/^[0-9A-Z]{13}$/) },
    });
    expect(await orderRow(order.id)).toMatchObject({
      pos_status: "synced",
      external_id: cloverOrder?.id,
    });
    const received = await posDouble.received("clover");
    const posted = (path: string) =>
      received.filter((r) => r.method === "POST" && r.path.endsWith(path));
    // Connecting created three order types and the tender; the order names the pickup type.
    expect(posted("/order_types")).toHaveLength(3);
    expect(JSON.parse(posted("/atomic_order/orders")[0]?.body ?? "{}").orderCart.orderType).toEqual(
      cloverOrder?.orderType,
    );
    const payments = posted(`/orders/${cloverOrder?.id}/payments`);
    expect(payments).toHaveLength(1);
    expect(JSON.parse(payments[0]?.body ?? "{}")).toMatchObject({
      externalPaymentId: order.id,
      tender: { id: expect.stringMatching(/^[0-9A-Z]{13}$/) },
    });
  });

  it("submits a queued order once: synced, external id, attempt row, order_updated", async () => {
    const s = await setupSquareTenant();
    const terminal = await connectTerminal(s.t.slug, { token: await createKey(s.t, "terminal") });
    const order = await queuedOrder(s);
    const result = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);

    const squareOrders = await posDouble.orders("square");
    expect(squareOrders).toHaveLength(1);
    const row = await orderRow(order.id);
    expect(row).toMatchObject({ pos_status: "synced", pos_claim: null });
    expect(row?.external_id).toBe((squareOrders[0] as { id: string }).id);
    expect(await attempts(order.id)).toEqual([
      { attempt: 1, status: "success", error_code: null, pos_order_id: row?.external_id },
    ]);
    const update = await terminal.waitFor(
      (m) => m.type === "order_updated" && (m.data as { change: string }).change === "pos",
    );
    expect(update.data).toMatchObject({
      order: { id: order.id, posStatus: "synced", externalId: row?.external_id },
    });
    terminal.close();
  });

  it("a repeated or concurrent delivery of one order makes one POS order", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    const both = await deliver("pos-submissions", [
      { tenantId: s.t.id, orderId: order.id },
      { tenantId: s.t.id, orderId: order.id },
    ]);
    // Handled concurrently: one claims the order and submits it; the other finds
    // it claimed and looks again later, when it is synced.
    expect(both.explicitAcks).toHaveLength(1);
    expect(both.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 15 }]);
    const again = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(again.explicitAcks).toHaveLength(1);
    expect(await posDouble.orders("square")).toHaveLength(1);
    expect((await attempts(order.id)).map((a) => a.status)).toEqual(["success"]);
  });

  it("retries a 5xx with backoff, then succeeds", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    await posDouble.inject("square", [{ kind: "status", status: 503 }]);
    const first = await deliver("pos-submissions", [
      { tenantId: s.t.id, orderId: order.id, attempts: 1 },
    ]);
    expect(first.retryMessages).toHaveLength(1);
    const delay = first.retryMessages[0]?.delaySeconds ?? 0;
    expect(delay).toBeGreaterThanOrEqual(1);
    expect(delay).toBeLessThanOrEqual(10);
    expect((await orderRow(order.id))?.pos_status).toBe("retrying");

    const second = await deliver("pos-submissions", [
      { tenantId: s.t.id, orderId: order.id, attempts: 2 },
    ]);
    expect(second.explicitAcks).toHaveLength(1);
    expect((await orderRow(order.id))?.pos_status).toBe("synced");
    expect((await attempts(order.id)).map((a) => [a.attempt, a.status, a.error_code])).toEqual([
      [1, "retryable_error", "server_error"],
      [2, "success", null],
    ]);
  });

  it("honours Retry-After on a 429", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    await posDouble.inject("square", [{ kind: "status", status: 429, retryAfter: 42 }]);
    const result = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 42 }]);
    expect((await attempts(order.id))[0]).toMatchObject({
      status: "retryable_error",
      error_code: "rate_limited",
    });
  });

  it("a slow POS is a retryable timeout", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    await posDouble.inject("square", [{ kind: "delay", ms: 2500 }]);
    const result = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.retryMessages).toHaveLength(1);
    expect((await attempts(order.id))[0]).toMatchObject({
      status: "retryable_error",
      error_code: "timeout",
    });
  });

  it("an order the POS accepted but whose answer was lost is not created twice", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    await posDouble.inject("square", [{ kind: "accept_then_fail", status: 502 }]);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id, attempts: 1 }]);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id, attempts: 2 }]);
    expect(await posDouble.orders("square")).toHaveLength(1);
    expect((await orderRow(order.id))?.pos_status).toBe("synced");
  });

  it("refreshes the session once on a 401, then succeeds", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    await posDouble.inject("square", [{ kind: "unauthorized_once" }]);
    const result = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await orderRow(order.id))?.pos_status).toBe("synced");
    const calls = await posDouble.received("square");
    const orderAndAuth = calls.filter((c) => !c.path.startsWith("/v2/payments"));
    expect(orderAndAuth.map((c) => `${c.method} ${c.path.split("?")[0]}`)).toEqual([
      // pos/connect's check of the location, when the tenant connected.
      "GET /v2/locations/L_TEST_LOCATION",
      "POST /v2/orders",
      "POST /oauth2/token",
      "POST /v2/orders",
    ]);
    // The refreshed token is what the second create used, and it is stored sealed.
    const stored = await env.DB.prepare(
      "SELECT session_ciphertext FROM pos_integrations WHERE tenant_id = ?",
    )
      .bind(s.t.id)
      .first<{ session_ciphertext: string }>();
    expect(stored?.session_ciphertext).toMatch(/^v1\./);
    const usedToken = orderAndAuth[3]?.headers.authorization?.slice("Bearer ".length) ?? "";
    expect(usedToken).not.toBe("sq-access");
    expect(stored?.session_ciphertext).not.toContain(usedToken);
  });

  it("a permanent error fails the order at once: alert, notification, terminals told", async () => {
    const s = await setupSquareTenant();
    const terminal = await connectTerminal(s.t.slug, { token: await createKey(s.t, "terminal") });
    const order = await queuedOrder(s);
    await posDouble.inject("square", [
      {
        kind: "status",
        status: 400,
        body: {
          errors: [{ category: "INVALID_REQUEST_ERROR", code: "BAD_REQUEST", detail: "nope" }],
        },
      },
    ]);
    const result = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect((await orderRow(order.id))?.pos_status).toBe("failed");
    expect((await attempts(order.id))[0]).toMatchObject({ status: "permanent_error" });
    const alert = await terminal.waitFor((m) => m.type === "alert");
    expect(alert.data).toMatchObject({
      kind: "pos_sync_failed",
      level: "critical",
      orderId: order.id,
    });
    const open = await callJson<{ items: { kind: string; orderId: string }[] }>(
      `/v1/admin/${s.t.slug}/alerts?open=true`,
      { token: s.t.ownerKey },
      200,
    );
    expect(open.items).toEqual([
      expect.objectContaining({ kind: "pos_sync_failed", orderId: order.id }),
    ]);
    const note = await env.DB.prepare("SELECT audience, kind FROM notifications WHERE order_id = ?")
      .bind(order.id)
      .all();
    expect(note.results).toEqual([{ audience: "staff", kind: "pos_sync_failed" }]);
    terminal.close();
  });

  it("gives up after the tenant's maxAttempts", async () => {
    const s = await setupSquareTenant({ maxAttempts: 2 });
    const order = await queuedOrder(s);
    await posDouble.setMode("square", { kind: "status", status: 500 });
    const first = await deliver("pos-submissions", [
      { tenantId: s.t.id, orderId: order.id, attempts: 1 },
    ]);
    expect(first.retryMessages).toHaveLength(1);
    const second = await deliver("pos-submissions", [
      { tenantId: s.t.id, orderId: order.id, attempts: 2 },
    ]);
    expect(second.explicitAcks).toHaveLength(1);
    expect((await orderRow(order.id))?.pos_status).toBe("failed");
  });

  it("auto_refund records the refund decision", async () => {
    const s = await setupSquareTenant({ failurePolicy: "auto_refund" });
    const order = await queuedOrder(s);
    await posDouble.inject("square", [{ kind: "status", status: 422 }]);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    const notes = await env.DB.prepare(
      "SELECT kind FROM notifications WHERE order_id = ? ORDER BY kind",
    )
      .bind(order.id)
      .all();
    expect(notes.results).toEqual([{ kind: "auto_refund_requested" }, { kind: "pos_sync_failed" }]);
  });

  it("the dead-letter queue marks the order failed and alerts", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    const result = await deliver("pos-submissions-dlq", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await orderRow(order.id))?.pos_status).toBe("failed");
    const alerts = await env.DB.prepare("SELECT kind FROM alerts WHERE order_id = ?")
      .bind(order.id)
      .all();
    expect(alerts.results).toEqual([{ kind: "pos_sync_failed" }]);
    // A second dead letter for the same order changes nothing.
    await deliver("pos-submissions-dlq", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM alerts WHERE order_id = ?")
        .bind(order.id)
        .first(),
    ).toEqual({ n: 1 });
  });

  it("cancelling an order the POS already has tells staff to void it there", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    const synced = await orderRow(order.id);
    expect(synced?.pos_status).toBe("synced");
    const terminal = await connectTerminal(s.t.slug, { token: await createKey(s.t, "terminal") });
    await callJson(
      `/v1/admin/${s.t.slug}/orders/${order.id}/cancel`,
      { token: s.t.ownerKey, body: {} },
      202,
    );
    const alert = await terminal.waitFor((m) => m.type === "alert");
    expect(alert.data).toMatchObject({
      kind: "pos_void_needed",
      level: "critical",
      orderId: order.id,
    });
    expect((alert.data as { message: string }).message).toContain(synced?.external_id ?? "?");
    terminal.close();
  });

  it("a dead letter waits while a submission still holds the order's claim", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    const until = new Date(Date.now() + 60_000).toISOString();
    await env.DB.prepare(
      "UPDATE orders SET pos_status = 'retrying', pos_claim = 'in-flight', pos_claimed_until = ? WHERE id = ?",
    )
      .bind(until, order.id)
      .run();
    const result = await deliver("pos-submissions-dlq", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.retryMessages).toEqual([{ msgId: expect.any(String), delaySeconds: 60 }]);
    expect((await orderRow(order.id))?.pos_status).toBe("retrying");
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM alerts WHERE order_id = ?")
        .bind(order.id)
        .first(),
    ).toEqual({ n: 0 });
  });

  it("after 3 failed orders in a row the integration is degraded and alerts once", async () => {
    const s = await setupSquareTenant();
    await posDouble.setMode("square", { kind: "status", status: 400 });
    for (let i = 0; i < 4; i++) {
      const order = await queuedOrder(s);
      await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    }
    const integration = await callJson<{
      integration: { health: { state: string; consecutiveFailures: number } };
    }>(`/v1/admin/${s.t.slug}/pos/integration`, { token: s.t.ownerKey }, 200);
    expect(integration.integration.health).toMatchObject({
      state: "degraded",
      consecutiveFailures: 4,
    });
    const degraded = await env.DB.prepare(
      "SELECT count(*) AS n FROM alerts WHERE tenant_id = ? AND kind = 'integration_degraded'",
    )
      .bind(s.t.id)
      .first();
    expect(degraded).toEqual({ n: 1 });
    await posDouble.setMode("square", null);
    const ok = await queuedOrder(s);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: ok.id }]);
    const healed = await callJson<{ integration: { health: { state: string } } }>(
      `/v1/admin/${s.t.slug}/pos/integration`,
      { token: s.t.ownerKey },
      200,
    );
    expect(healed.integration.health.state).toBe("healthy");
  });

  it("manual retry: only from failed, then synced with a fresh budget", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    await posDouble.inject("square", [{ kind: "status", status: 400 }]);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    const staff = await createKey(s.t, "staff");
    const retried = await callJson<{ order: { posStatus: string } }>(
      `/v1/admin/${s.t.slug}/orders/${order.id}/pos-retry`,
      { token: staff, body: {} },
      202,
    );
    expect(retried.order.posStatus).toBe("queued");
    await expectError(
      await call(`/v1/admin/${s.t.slug}/orders/${order.id}/pos-retry`, { token: staff, body: {} }),
      409,
      "conflict",
    );
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id, attempts: 1 }]);
    expect((await orderRow(order.id))?.pos_status).toBe("synced");
    await expectError(
      await call(`/v1/admin/${s.t.slug}/orders/${order.id}/pos-retry`, { token: staff, body: {} }),
      409,
      "conflict",
    );
    const detail = await callJson<{ syncAttempts: { status: string }[] }>(
      `/v1/admin/${s.t.slug}/orders/${order.id}`,
      { token: staff },
      200,
    );
    expect(detail.syncAttempts.map((a) => a.status)).toEqual(["success", "permanent_error"]);
  });

  it("after disconnect nothing is sent: the order no longer needs the POS", async () => {
    const s = await setupSquareTenant();
    const order = await queuedOrder(s);
    await callJson(`/v1/admin/${s.t.slug}/pos/disconnect`, { token: s.t.ownerKey, body: {} }, 200);
    const result = await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await posDouble.orders("square")).toHaveLength(0);
    expect((await orderRow(order.id))?.pos_status).toBe("not_required");
  });

  it("with customer sync off, no name, phone or email leaves for the POS", async () => {
    const s = await setupSquareTenant({ syncCustomerInfo: false });
    const order = await queuedOrder(s);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    const [create] = (await posDouble.received("square")).filter((r) =>
      r.path.startsWith("/v2/orders"),
    );
    // The order itself went, with its line…
    expect(create?.body).toContain("SQ_CATALOG_BURGER");
    // …and nothing that names the customer.
    for (const secret of ["Ada", "Lovelace", "5550100", "ada@example.com"])
      expect(create?.body).not.toContain(secret);
  });
});

describe("alerts stay loud until acknowledged", () => {
  it("an open pos_sync_failed alert is raised again after 5 minutes; ack stops it", async () => {
    const s = await setupSquareTenant();
    const terminalKey = await createKey(s.t, "terminal");
    const order = await queuedOrder(s);
    await posDouble.inject("square", [{ kind: "status", status: 400 }]);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
    const terminal = await connectTerminal(s.t.slug, { token: terminalKey });
    const runCron = async () => {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ scheduledTime: Date.now() }), env, ctx);
      await waitOnExecutionContext(ctx);
    };
    await runCron();
    expect(terminal.events().filter((e) => e.type === "alert")).toHaveLength(0);
    await env.DB.prepare("UPDATE alerts SET last_raised_at = ? WHERE order_id = ?")
      .bind(new Date(Date.now() - 6 * 60_000).toISOString(), order.id)
      .run();
    await runCron();
    const again = await terminal.waitFor((m) => m.type === "alert");
    expect(again.data).toMatchObject({ kind: "pos_sync_failed", orderId: order.id, raiseCount: 2 });
    const alertId = (again.data as { alertId: string }).alertId;

    terminal.send({ type: "ack_alert", alertId });
    const acked = await terminal.waitFor((m) => m.type === "ack_alert_result");
    expect(acked).toMatchObject({ alertId, ok: true });
    await env.DB.prepare("UPDATE alerts SET last_raised_at = ? WHERE order_id = ?")
      .bind(new Date(Date.now() - 6 * 60_000).toISOString(), order.id)
      .run();
    await runCron();
    terminal.send({ type: "ping" });
    await terminal.waitFor((m) => m.type === "pong");
    // Raised once again, then the acknowledgement that takes it down; not raised after.
    const alerts = terminal.events().filter((e) => e.type === "alert");
    expect(alerts.map((e) => (e.data as { acknowledgedAt: string | null }).acknowledgedAt)).toEqual(
      [null, expect.any(String)],
    );
    await expectError(
      await call(`/v1/admin/${s.t.slug}/alerts/${alertId}/ack`, { token: s.t.ownerKey, body: {} }),
      409,
      "conflict",
    );
    terminal.close();
  });
});

describe("sync history and stats", () => {
  it("lists attempts newest first with a status filter, and sums them up", async () => {
    const s = await setupSquareTenant();
    await posDouble.inject("square", [{ kind: "status", status: 500 }]);
    const a = await queuedOrder(s);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: a.id, attempts: 1 }]);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: a.id, attempts: 2 }]);
    const b = await queuedOrder(s);
    await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: b.id }]);
    const history = await callJson<{
      items: { orderId: string; status: string }[];
      nextCursor: string | null;
    }>(`/v1/admin/${s.t.slug}/pos/sync-history?limit=2`, { token: s.t.ownerKey }, 200);
    expect(history.items.map((i) => [i.orderId, i.status])).toEqual([
      [b.id, "success"],
      [a.id, "success"],
    ]);
    const rest = await callJson<{ items: { status: string }[]; nextCursor: string | null }>(
      `/v1/admin/${s.t.slug}/pos/sync-history?limit=2&cursor=${history.nextCursor}`,
      { token: s.t.ownerKey },
      200,
    );
    expect(rest.items.map((i) => i.status)).toEqual(["retryable_error"]);
    expect(rest.nextCursor).toBeNull();
    const failedOnly = await callJson<{ items: unknown[] }>(
      `/v1/admin/${s.t.slug}/pos/sync-history?status=retryable_error`,
      { token: s.t.ownerKey },
      200,
    );
    expect(failedOnly.items).toHaveLength(1);
    const stats = await callJson<Record<string, number | null>>(
      `/v1/admin/${s.t.slug}/pos/stats`,
      { token: s.t.ownerKey },
      200,
    );
    expect(stats).toMatchObject({
      totalSyncs: 3,
      successfulSyncs: 2,
      failedSyncs: 1,
      pendingRetries: 0,
      // A percentage with one decimal, as the seeds define it: 2 of 3 attempts.
      successRate: 66.7,
      ordersSynced: 2,
      ordersFailed: 0,
      ordersRetrying: 0,
    });
    expect(typeof stats.p50SyncMs).toBe("number");
    expect(stats.p95SyncMs).toBeGreaterThanOrEqual(stats.p50SyncMs ?? 0);
  });
});

describe("the queue delivers on its own", () => {
  it("mark-paid with autoSync queues the order and the consumer syncs it", async () => {
    const s = await setupSquareTenant({ autoSync: true });
    const created = await callJson<{ order: { id: string } }>(
      `/v1/stores/${s.t.slug}/orders`,
      {
        body: {
          orderType: "pickup",
          items: [{ menuItemId: s.itemId, quantity: 1 }],
          customer: { name: "Q" },
        },
        headers: { "idempotency-key": `auto-${Date.now()}` },
      },
      201,
    );
    const paid = await callJson<{ order: { posStatus: string } }>(
      `/v1/admin/${s.t.slug}/orders/${created.order.id}/mark-paid`,
      { token: s.t.ownerKey, body: {} },
      200,
    );
    expect(paid.order.posStatus).toBe("queued");
    await until(
      () => orderRow(created.order.id),
      (row) => row?.pos_status === "synced",
      10_000,
    );
    expect(await posDouble.orders("square")).toHaveLength(1);
  }, 15_000);
});
