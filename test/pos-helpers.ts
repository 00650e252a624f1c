import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../src/index";
import { callJson, createMenuItem, createTenant, type TestTenant } from "./helpers";

/** Talks to the POS vendor double's control API. */
export const posDouble = {
  async control(path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${env.POS_DOUBLE_URL}/_control/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return text ? (JSON.parse(text) as unknown) : null;
  },
  inject(vendor: string, faults: unknown[]) {
    return this.control("faults", { vendor, faults });
  },
  setMode(vendor: string, mode: unknown) {
    return this.control("mode", { vendor, mode });
  },
  reset() {
    return this.control("reset", {});
  },
  async orders(vendor: string): Promise<Record<string, unknown>[]> {
    return (await this.control(`orders?vendor=${vendor}`)) as Record<string, unknown>[];
  },
  async received(
    vendor: string,
  ): Promise<{ method: string; path: string; body: string; headers: Record<string, string> }[]> {
    return (await this.control(`received?vendor=${vendor}`)) as {
      method: string;
      path: string;
      body: string;
      headers: Record<string, string>;
    }[];
  },
};

export interface PosSetup {
  t: TestTenant;
  itemId: string;
}

/** A tenant with a menu item mapped to the POS and a connected Square integration. */
export async function setupSquareTenant(settings: Record<string, unknown> = {}): Promise<PosSetup> {
  const t = await createTenant();
  const item = await callJson<{ item: { id: string } }>(
    `/v1/admin/${t.slug}/menu/items`,
    {
      token: t.ownerKey,
      body: {
        name: "Burger",
        price: { amount: 1200, currency: "USD" },
        posItemId: "SQ_CATALOG_BURGER",
        modifiers: [
          {
            name: "Cheese",
            price: { amount: 100, currency: "USD" },
            posModifierId: "SQ_MOD_CHEESE",
          },
        ],
      },
    },
    201,
  );
  await callJson(
    `/v1/admin/${t.slug}/pos/connect`,
    {
      token: t.ownerKey,
      body: {
        provider: "square",
        locationId: "L_TEST_LOCATION",
        credentials: {
          accessToken: "sq-access",
          refreshToken: "sq-refresh",
          clientId: "sq-app",
          clientSecret: "sq-secret",
        },
        webhookSecret: "square-signature-key",
        settings: { autoSync: false, ...settings },
      },
    },
    200,
  );
  return { t, itemId: item.item.id };
}

let keySeq = 0;

/** Places and pays an order, then marks it `queued` for the POS without sending a message. */
export async function queuedOrder(s: PosSetup): Promise<{ id: string; number: number }> {
  const created = await callJson<{ order: { id: string; number: number } }>(
    `/v1/stores/${s.t.slug}/orders`,
    {
      body: {
        orderType: "pickup",
        items: [{ menuItemId: s.itemId, quantity: 2 }],
        customer: { name: "Ada Lovelace", phone: "+15550100", email: "ada@example.com" },
      },
      headers: { "idempotency-key": `pos-${Date.now()}-${++keySeq}` },
    },
    201,
  );
  await callJson(
    `/v1/admin/${s.t.slug}/orders/${created.order.id}/mark-paid`,
    { token: s.t.ownerKey, body: {} },
    200,
  );
  await env.DB.prepare("UPDATE orders SET pos_status = 'queued' WHERE id = ?")
    .bind(created.order.id)
    .run();
  return created.order;
}

/** A paid Square order the POS has (synced through the queue consumer), with its Square id. */
export async function syncedSquareOrder() {
  const s = await setupSquareTenant();
  const order = await queuedOrder(s);
  await deliver("pos-submissions", [{ tenantId: s.t.id, orderId: order.id }]);
  const row = await orderRow(order.id);
  expect(row?.pos_status).toBe("synced");
  return { s, order, posOrderId: String(row?.external_id) };
}

let messageSeq = 0;

/** Delivers messages to the Worker's queue handler as the queue would, and returns what it did. */
export async function deliver(
  queue: "pos-submissions" | "pos-submissions-dlq",
  messages: {
    tenantId: string;
    orderId: string;
    attempts?: number;
    type?: "pos_submit" | "pos_update";
  }[],
) {
  const batch = createMessageBatch(
    queue,
    messages.map((m) => ({
      id: `msg-${++messageSeq}`,
      timestamp: new Date(),
      attempts: m.attempts ?? 1,
      body: { type: m.type ?? "pos_submit", tenantId: m.tenantId, orderId: m.orderId },
    })),
  );
  // The test harness does not report retry delays, so the calls are watched directly.
  const retryDelays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      retryDelays.set(message.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    retryMessages: result.retryMessages.map((m) => ({
      msgId: m.msgId,
      delaySeconds: retryDelays.get(m.msgId),
    })),
  };
}

let refundSeq = 0;

/**
 * Delivers one refund message to the Worker's payments (or payments-dlq) handler, as the queue
 * would. A test that started a refund through a route delivers it this way rather than waiting
 * for the background consumer to get the route's own message; refunding is idempotent, so that
 * message, whenever it comes, changes nothing more.
 */
export async function deliverRefund(
  queue: "payments" | "payments-dlq",
  message: { tenantId: string; orderId: string; attempts?: number },
) {
  const batch = createMessageBatch(queue, [
    {
      id: `pay-${++refundSeq}`,
      timestamp: new Date(),
      attempts: message.attempts ?? 1,
      body: { type: "refund", tenantId: message.tenantId, orderId: message.orderId },
    },
  ]);
  const delays: (number | undefined)[] = [];
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    m.retry = (options?: QueueRetryOptions) => {
      delays.push(options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  return { acked: result.explicitAcks.length, retried: result.retryMessages.length, delays };
}

/** An order's states as stored, read straight from D1 (past every cache and view). */
export async function orderRow(id: string) {
  return env.DB.prepare(
    "SELECT status, payment_status, pos_status, external_id, pos_claim, payment_captured_at FROM orders WHERE id = ?",
  )
    .bind(id)
    .first<{
      status: string;
      payment_status: string;
      pos_status: string;
      external_id: string | null;
      pos_claim: string | null;
      payment_captured_at: string | null;
    }>();
}

export async function attempts(orderId: string) {
  const rows = await env.DB.prepare(
    "SELECT attempt, status, error_code, pos_order_id FROM pos_sync_attempts WHERE order_id = ? ORDER BY id",
  )
    .bind(orderId)
    .all<{
      attempt: number;
      status: string;
      error_code: string | null;
      pos_order_id: string | null;
    }>();
  return rows.results;
}

export { createMenuItem };
