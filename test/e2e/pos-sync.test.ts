import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  connectTerminal,
  countByPosStatus,
  createSquareTenant,
  type Frame,
  faultPlan,
  inPool,
  isFault,
  markPaid,
  type PosStack,
  placeOrder,
  SQUARE_ITEM_ID,
  squareCreateCalls,
  startPosStack,
  syncHistory,
  type TerminalSocket,
  waitForFinalPosStatus,
} from "./pos-harness";

// Orders confirmed by payment reach the restaurant's POS through the real queue consumer:
// a real `wrangler dev` (local D1, queues, Durable Objects) whose Square adapter talks to the
// vendor double running in this process, with faults injected into the double.
//
// Timing: the consumer's first retry comes 3–5 s after a retryable failure and the second
// 5–10 s after that, so a run with faults settles in well under a minute; every wait is bounded.

const ORDERS = 200;
const FAULT_RATE = 0.3;
const FAULT_SEED = 20_261_117;
const FAILING_ORDERS = 5;
/** Requests in flight while placing and confirming orders. */
const CONCURRENCY = 8;
const SETTLE_TIMEOUT_MS = 90_000;
/** Longest wait for the refused orders to fail, and then for their alerts on the socket. */
const FAIL_TIMEOUT_MS = 30_000;
const ALERT_TIMEOUT_MS = 15_000;

let stack: PosStack | undefined;

function running(): PosStack {
  if (!stack) throw new Error("the stack is not running");
  return stack;
}

/** Extra context for a failed assertion: a reload of the Worker loses queued messages. */
function reloadNote(): string {
  const reloads = running().reloads();
  return reloads > 0
    ? ` (wrangler reloaded the Worker ${reloads} time(s) during the run: a file under src/ changed, and local queue messages do not survive a reload)`
    : "";
}

beforeAll(async () => {
  stack = await startPosStack({ posTimeoutMs: 3000 });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(() => {
  running().double.reset();
});

describe("POS submission through the queue consumer", () => {
  it(`syncs ${ORDERS} orders exactly once each while ${FAULT_RATE * 100}% of CreateOrder calls fail retryably`, {
    timeout: 150_000,
  }, async () => {
    const s = running();
    const tenant = await createSquareTenant(s, "faults");
    const ids = await inPool(ORDERS, CONCURRENCY, () => placeOrder(s, tenant));
    expect(new Set(ids).size).toBe(ORDERS);

    // One plan entry per CreateOrder call for the first ORDERS calls (retries included):
    // exactly 30% of them are 500/503/429 (Retry-After: 1) or accepted-then-502.
    const plan = faultPlan(ORDERS, FAULT_RATE, FAULT_SEED);
    const injected = plan.filter(isFault).length;
    expect(injected).toBe(Math.round(ORDERS * FAULT_RATE));
    s.double.inject("square", plan);

    const confirmed = await inPool(ORDERS, CONCURRENCY, (i) =>
      markPaid(s, tenant, ids[i] as string),
    );
    for (const order of confirmed) {
      expect(order.paymentStatus).toBe("paid");
      expect(order.posStatus).toBe("queued");
    }

    const { orders, settled, waitedMs } = await waitForFinalPosStatus(s, tenant, ids, {
      timeoutMs: SETTLE_TIMEOUT_MS,
    });
    const counts = countByPosStatus(orders.values());
    expect(
      settled,
      `not every order reached a final POS status within ${waitedMs} ms: ${JSON.stringify(counts)}${reloadNote()}`,
    ).toBe(true);
    expect(counts, reloadNote()).toEqual({ synced: ORDERS });

    // The double: exactly one Square order per Orderlane order, found by reference_id, and
    // it is the one each Orderlane order points at.
    const squareOrders = [...s.double.orders("square").values()] as {
      id: string;
      reference_id: string;
      line_items: { catalog_object_id?: string }[];
    }[];
    expect(squareOrders).toHaveLength(ORDERS);
    const byReference = new Map(squareOrders.map((o) => [o.reference_id, o]));
    expect(byReference.size).toBe(ORDERS);
    for (const id of ids) {
      const squareOrder = byReference.get(id);
      expect(squareOrder, `no Square order for ${id}`).toBeDefined();
      expect(orders.get(id)?.externalId).toBe(squareOrder?.id);
      expect(squareOrder?.line_items[0]?.catalog_object_id).toBe(SQUARE_ITEM_ID);
    }

    // Every injected fault was met (the plan was used up) and retried.
    const creates = squareCreateCalls(s.double);
    expect(creates.length).toBeGreaterThanOrEqual(ORDERS + injected);
    expect(creates.every((c) => c.referenceId === c.orderId)).toBe(true);

    // The sync history records every try: one success per order, after its retries.
    const history = await syncHistory(s, tenant);
    const byStatus = { success: 0, retryable_error: 0, permanent_error: 0 };
    for (const attempt of history) byStatus[attempt.status] += 1;
    expect(byStatus.success).toBe(ORDERS);
    expect(byStatus.permanent_error).toBe(0);
    expect(byStatus.retryable_error).toBeGreaterThanOrEqual(injected);
    // One attempt row per CreateOrder call the double received (no token refreshes here).
    expect(history.length).toBe(creates.length);
    const codes = new Set(
      history.filter((a) => a.status === "retryable_error").map((a) => a.errorCode),
    );
    expect([...codes].sort()).toEqual(expect.arrayContaining(["rate_limited", "server_error"]));

    const attemptsByOrder = new Map<string, typeof history>();
    for (const attempt of [...history].reverse()) {
      const list = attemptsByOrder.get(attempt.orderId) ?? [];
      list.push(attempt);
      attemptsByOrder.set(attempt.orderId, list);
    }
    let retried = 0;
    for (const id of ids) {
      const attempts = attemptsByOrder.get(id) ?? [];
      // Oldest first: retryable errors numbered 1, 2, …, then the success.
      expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
      expect(attempts.at(-1)?.status).toBe("success");
      expect(attempts.slice(0, -1).every((a) => a.status === "retryable_error")).toBe(true);
      if (attempts.length > 1) retried += 1;
    }
    expect(retried).toBeGreaterThan(0);
    expect(retried).toBeLessThanOrEqual(injected);
  });

  it(`fails ${FAILING_ORDERS} orders the POS refuses (400) and alerts a connected terminal for each`, {
    timeout: 75_000,
  }, async () => {
    const s = running();
    const tenant = await createSquareTenant(s, "refused");
    let terminal: TerminalSocket | undefined;
    try {
      terminal = await connectTerminal(s, tenant);
      s.double.setMode("square", { kind: "status", status: 400 });
      const ids = await inPool(FAILING_ORDERS, CONCURRENCY, () => placeOrder(s, tenant));
      for (const id of ids) expect((await markPaid(s, tenant, id)).posStatus).toBe("queued");

      const { orders, settled, waitedMs } = await waitForFinalPosStatus(s, tenant, ids, {
        timeoutMs: FAIL_TIMEOUT_MS,
        pollMs: 500,
      });
      const counts = countByPosStatus(orders.values());
      expect(
        settled,
        `not settled within ${waitedMs} ms: ${JSON.stringify(counts)}${reloadNote()}`,
      ).toBe(true);
      expect(counts).toEqual({ failed: FAILING_ORDERS });

      // A 400 is permanent: one CreateOrder call each, nothing created, no retry.
      const creates = squareCreateCalls(s.double);
      expect(creates.map((c) => c.orderId).sort()).toEqual([...ids].sort());
      expect(s.double.orders("square").size).toBe(0);
      const history = await syncHistory(s, tenant);
      expect(history).toHaveLength(FAILING_ORDERS);
      for (const attempt of history) {
        expect(attempt).toMatchObject({ attempt: 1, status: "permanent_error" });
      }

      const isAlertFor = (id: string) => (frame: Frame) => {
        const data = frame.data as { kind?: string; orderId?: string } | undefined;
        return frame.type === "alert" && data?.kind === "pos_sync_failed" && data.orderId === id;
      };
      const socket = terminal;
      // One deadline for all the frames: they were sent when the orders failed.
      const deadline = Date.now() + ALERT_TIMEOUT_MS;
      const left = () => Math.max(1, deadline - Date.now());
      for (const id of ids) {
        const alert = await socket.waitFor(isAlertFor(id), left());
        expect(alert.seq).toEqual(expect.any(Number));
        expect(alert.data).toMatchObject({
          kind: "pos_sync_failed",
          level: "critical",
          orderId: id,
          alertId: expect.any(String),
        });
      }
      // Terminals also hear of each order's POS state change.
      for (const id of ids) {
        await socket.waitFor((frame) => {
          const data = frame.data as { order?: { id?: string; posStatus?: string } } | undefined;
          return (
            frame.type === "order_updated" &&
            data?.order?.id === id &&
            data.order.posStatus === "failed"
          );
        }, left());
      }
    } finally {
      s.double.setMode("square", null);
      terminal?.close();
    }
  });
});
