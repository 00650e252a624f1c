import { getPosAdapter } from "../adapters/pos";
import { PosError, type PosFulfillmentStatus, type PosProvider } from "../adapters/pos/types";
import { readConfig } from "../config";
import { buildAlert } from "../db/alerts";
import { type Db, getDb } from "../db/client";
import { findOrderContext } from "../db/order-context";
import { clearPosPush, listPendingPosPushes, type OrderWithItems } from "../db/orders";
import type { PosIntegrationRow } from "../db/pos-integrations";
import type { PosPush } from "../db/schema";
import type { Tenant } from "../db/tenants";
import type { OrderStatus } from "../domain/order-status";
import { DEFAULT_RETRY_POLICY, decideRetry } from "../domain/retry-policy";
import { logLine } from "../log";
import type { PosUpdateMessage } from "../queues/messages";
import { type Effects, effectsOf, NO_EFFECTS } from "./effects";
import { callWithOneRefresh, connectionFor } from "./pos-sync";

// Telling the POS of a change made here: a cancel (Square and Clover cancel the order; where
// the vendor cannot, staff get `pos_void_needed`), or a fulfillment status staff or a terminal
// moved the order to (Square's fulfillment states). What has to be told is the order's
// `pos_push`, set in the change's own batch; a `pos_update` message on `pos-submissions` carries
// it to the POS, the push is cleared once the POS has it, and the cron pass sends the message
// again while it stays set. The vendor calls are idempotent (a cancelled order stays
// cancelled; a fulfillment never moves back), so a second delivery changes nothing there.

/** The fulfillment statuses a POS hears of; a cancel is cancellation.ts's (it may refund). */
const PUSHED: Partial<Record<OrderStatus, PosPush>> = {
  preparing: "preparing",
  ready: "ready",
  completed: "completed",
};

/** Whether the POS has the order, so a change made here must be told to it. */
export function posHasOrder(order: Pick<OrderWithItems, "posStatus" | "externalId">): boolean {
  return order.posStatus === "synced" && order.externalId !== null;
}

/** The push for a fulfillment status staff or a terminal moved the order to; null when none. */
export function fulfillmentPushFor(
  order: Pick<OrderWithItems, "posStatus" | "externalId">,
  to: OrderStatus,
): PosPush | null {
  return posHasOrder(order) ? (PUSHED[to] ?? null) : null;
}

export function posUpdateMessage(tenantId: string, orderId: string): PosUpdateMessage {
  return { type: "pos_update", tenantId, orderId };
}

/** How many tries a push gets before it gives up (well below the queue's max_retries). */
const PUSH_ATTEMPTS = 8;

/**
 * Tells the POS what the order's `pos_push` says, once. A cancel the vendor cannot make, or
 * that keeps failing, becomes a `pos_void_needed` alert; a status the vendor does not track is
 * simply done. Returns what the consumer does with the message and what it delivers.
 */
export async function pushUpdateToPos(
  env: Env,
  message: PosUpdateMessage,
  delivery: { attempt: number; random: number; now?: () => Date },
): Promise<{
  outcome: { kind: "done" } | { kind: "retry"; delaySeconds: number };
  effects: Effects;
}> {
  const clock = delivery.now ?? (() => new Date());
  const db = getDb(env);
  const { tenant, order, integration } = await findOrderContext(
    db,
    message.tenantId,
    message.orderId,
  );
  const done = (effects: Effects = NO_EFFECTS) => ({ outcome: { kind: "done" as const }, effects });
  const push = order?.posPush;
  if (!tenant || !order || !push) return done();
  if (integration?.status !== "connected" || !order.externalId) {
    // No POS to tell any more: a cancel is for staff, a status needs nothing.
    return done(await settle(db, tenant, order, push, clock(), "the POS is no longer connected"));
  }
  try {
    const told = await tell(env, db, tenant, integration, order.externalId, push, clock);
    return done(
      await settle(
        db,
        tenant,
        order,
        push,
        clock(),
        told ? null : "its API cannot cancel an order",
      ),
    );
  } catch (err) {
    const error =
      err instanceof PosError ? err : new PosError("retryable", "internal_error", String(err));
    const decision = decideRetry({
      attempt: delivery.attempt,
      kind: error.kind === "retryable" ? "retryable" : "permanent",
      retryAfterSeconds: error.details.retryAfterSeconds,
      random: delivery.random,
      policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: PUSH_ATTEMPTS },
    });
    console.error(
      logLine({
        level: decision.action === "retry" ? "warn" : "error",
        msg: "POS update failed",
        orderId: order.id,
        push,
        code: error.code,
        error: error.message,
      }),
    );
    if (decision.action === "retry") {
      return {
        outcome: { kind: "retry", delaySeconds: decision.delaySeconds },
        effects: NO_EFFECTS,
      };
    }
    return done(await settle(db, tenant, order, push, clock(), error.message));
  }
}

async function tell(
  env: Env,
  db: Db,
  tenant: Tenant,
  integration: PosIntegrationRow,
  posOrderId: string,
  push: PosPush,
  clock: () => Date,
): Promise<boolean> {
  const adapter = getPosAdapter(integration.provider as PosProvider);
  const connection = await connectionFor(env, integration);
  const options = { timeoutMs: readConfig(env).posTimeoutMs, now: clock };
  return callWithOneRefresh(env, db, tenant.id, adapter, connection, options, (current) =>
    push === "cancel"
      ? adapter.cancelOrder(current, posOrderId, options)
      : adapter.updateFulfillment(current, posOrderId, push as PosFulfillmentStatus, options),
  );
}

/**
 * Clears the push; when a cancel did not reach the POS (`failure`), staff are told to void it
 * there, in the same batch.
 */
async function settle(
  db: Db,
  tenant: Tenant,
  order: OrderWithItems,
  push: PosPush,
  now: Date,
  failure: string | null,
): Promise<Effects> {
  const clear = clearPosPush(db, tenant.id, order.id, push);
  if (push !== "cancel" || failure === null) {
    await clear;
    return NO_EFFECTS;
  }
  const alert = buildAlert(
    db,
    {
      tenantId: tenant.id,
      kind: "pos_void_needed",
      level: "critical",
      orderId: order.id,
      message: `Order #${order.number} was cancelled in Orderlane but is still in the POS as ${order.externalId}: void it there (${failure}).`,
    },
    now,
  );
  await db.batch([clear, ...alert.statements]);
  return effectsOf(tenant, { events: [alert.event] });
}

/** A push unsent this long is sent again by the cron pass. */
const STALE_PUSH_MS = 5 * 60_000;

/** The cron pass: `pos_update` messages again for pushes still set (a lost message). */
export async function requeuePendingPushes(db: Db, now: Date): Promise<PosUpdateMessage[]> {
  const stale = await listPendingPosPushes(
    db,
    new Date(now.getTime() - STALE_PUSH_MS).toISOString(),
  );
  return stale.map((row) => posUpdateMessage(row.tenantId, row.id));
}
