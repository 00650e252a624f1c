import { PaymentError, type RefundResult } from "../adapters/payments/types";
import { buildAlert, closeOrderAlerts, guardedAlertInsert } from "../db/alerts";
import { getDb } from "../db/client";
import {
  guardedNotificationInsert,
  type NotificationRow,
  newNotification,
} from "../db/notifications";
import { findOrder, type OrderWithItems } from "../db/orders";
import { guardedRefundInsert, listRefunds, manualRefundRow, recordRefund } from "../db/refunds";
import type { Tenant } from "../db/tenants";
import type { StatusSource } from "../domain/order-status";
import { decideRetry } from "../domain/retry-policy";
import { ApiError } from "../http/errors";
import { logLine } from "../log";
import type { MessageOutcome, RefundMessage } from "../queues/messages";
import { type Effects, effectsOf, NO_EFFECTS } from "./effects";
import { paymentChange, withFreshOrder } from "./order-change";
import { paymentGateway } from "./payment-gateway";

/**
 * Refunds, the saga's compensation: started in the batch that decides them, made on the
 * payments queue at most once (looked up in D1 and at Stripe first), settled or handed to
 * staff; staff retry them or record one made by hand.
 */

/**
 * Starts the refund of a paid order: `paymentStatus: refund_pending` (with
 * its `order_updated`) in one batch, then the refund goes on the `payments`
 * queue. `started` when this call started it, `under_way` when it already
 * was (the message is sent again), null when there is nothing to refund
 * (not paid by card, or, for a cancel, completed meanwhile).
 */
export async function startRefund(
  env: Env,
  tenant: Tenant,
  orderId: string,
  now: Date,
  options: { cancelNow?: boolean; source?: StatusSource } = {},
): Promise<{ outcome: "started" | "under_way" | null; effects: Effects }> {
  let underWay = false;
  const result = await withFreshOrder(
    getDb(env),
    tenant,
    orderId,
    async (order) => {
      underWay = order.paymentStatus === "refund_pending";
      if (order.paymentStatus !== "paid" || !order.paymentIntentId) return "unchanged";
      // A cancel racing the order's completion: completed is final.
      if (options.cancelNow && order.status === "completed") return "unchanged";
      const patch = options.cancelNow
        ? { paymentStatus: "refund_pending" as const, status: "cancelled" as const }
        : { paymentStatus: "refund_pending" as const };
      return { ...paymentChange(tenant, order, patch), source: options.source ?? "system" };
    },
    now,
  );
  if (!result.changed && !underWay) return { outcome: null, effects: NO_EFFECTS };
  return {
    outcome: result.changed ? "started" : "under_way",
    // Sent again when already under way: a lost message must not strand the refund.
    effects: effectsOf(tenant, {
      events: result.events,
      messages: [refundMessage(tenant.id, orderId)],
    }),
  };
}

/**
 * Staff retry a refund that was handed to them (`refund_failed`): the order
 * goes back to `refund_pending` and the refund onto the payments queue, where
 * `processRefund` looks it up (D1, then Stripe) before making one, so the
 * customer is refunded at most once. Returns the order as changed and its
 * events; 409 in any other payment state.
 */
export async function retryRefund(
  env: Env,
  tenant: Tenant,
  orderId: string,
  now: Date,
): Promise<{ order: OrderWithItems; effects: Effects }> {
  const result = await withFreshOrder(
    getDb(env),
    tenant,
    orderId,
    async (order) => {
      if (order.paymentStatus !== "refund_failed" || !order.paymentIntentId) {
        throw new ApiError(
          "conflict",
          `only a refund_failed order's refund can be retried; this one is ${order.paymentStatus}`,
        );
      }
      return {
        ...paymentChange(tenant, order, { paymentStatus: "refund_pending" }),
        source: "staff",
      };
    },
    now,
  );
  return {
    order: result.order,
    effects: effectsOf(tenant, {
      events: result.events,
      messages: [refundMessage(tenant.id, orderId)],
    }),
  };
}

/**
 * Staff refunded the customer outside the platform (cash, the card terminal):
 * a `refund_failed` order is recorded `refunded` with their note and key, and
 * nothing is asked of Stripe. 409 in any other payment state.
 */
export async function settleRefundByHand(
  env: Env,
  tenant: Tenant,
  orderId: string,
  by: { keyId: string; label: string },
  note: string,
  now: Date,
): Promise<{ order: OrderWithItems; effects: Effects }> {
  const db = getDb(env);
  const order = await findOrder(db, tenant.id, orderId);
  if (!order) throw new ApiError("not_found", "unknown order");
  if (order.paymentStatus !== "refund_failed") {
    throw new ApiError(
      "conflict",
      `only a refund_failed order can be settled by hand; this one is ${order.paymentStatus}`,
    );
  }
  const settled = await refundSucceeded(env, tenant, orderId, now, { note, by });
  if (!settled) throw new ApiError("conflict", "the order changed meanwhile; read it again");
  return settled;
}

/** The refund's message for the `payments` queue, sent after its batch committed. */
export function refundMessage(tenantId: string, orderId: string): RefundMessage {
  return { type: "refund", tenantId, orderId };
}

/**
 * Refunds one order at Stripe, exactly once: an order already refunded is
 * skipped; a refund Stripe already has for the order (found by its
 * metadata, since Stripe forgets idempotency keys after a day) is reused;
 * otherwise the refund is made with the key `refund:<order id>`. A
 * succeeded refund cancels the order and tells the customer and terminals.
 */
export async function processRefund(
  env: Env,
  tenant: Tenant,
  message: RefundMessage,
  delivery: { attempt: number; random: number },
  now: Date,
): Promise<{ outcome: MessageOutcome; effects: Effects }> {
  const db = getDb(env);
  const gateway = paymentGateway(env);
  const order = await findOrder(db, tenant.id, message.orderId);
  const done = (effects: Effects = NO_EFFECTS) => ({ outcome: { kind: "done" as const }, effects });
  if (!gateway || !order?.paymentIntentId) return done();
  if (order.paymentStatus !== "refund_pending") return done();
  /** Retry a passing failure with backoff; anything else leaves the refund to staff. */
  const afterFailure = async (
    err: unknown,
  ): Promise<{ outcome: MessageOutcome; effects: Effects }> => {
    if (err instanceof PaymentError && err.kind === "retryable") {
      const decision = decideRetry({
        attempt: delivery.attempt,
        kind: "retryable",
        random: delivery.random,
      });
      if (decision.action === "retry") {
        return {
          outcome: { kind: "retry", delaySeconds: decision.delaySeconds },
          effects: NO_EFFECTS,
        };
      }
    }
    return done(
      await settleOrFailRefund(
        env,
        tenant,
        order.id,
        err instanceof Error ? err.message : String(err),
        now,
      ),
    );
  };
  if (order.paymentCaptureMethod === "manual" && !order.paymentCapturedAt) {
    // Only authorised: releasing the hold returns the money, no refund needed.
    try {
      await gateway.cancelPaymentIntent(order.paymentIntentId, {
        idempotencyKey: `cancel:${order.id}`,
      });
    } catch (err) {
      return afterFailure(err);
    }
    return done((await refundSucceeded(env, tenant, order.id, now))?.effects);
  }
  // D1 first: a refund recorded as succeeded (its order's change lost) settles without Stripe.
  const known = await listRefunds(db, tenant.id, order.id);
  if (known.some((r) => r.status === "succeeded")) {
    return done((await refundSucceeded(env, tenant, order.id, now))?.effects);
  }
  // Stripe replays an idempotency key's first answer for a day: after a refund that failed
  // (staff retry it), the next one needs a key of its own, or it would get that failure back.
  const failed = known.filter((r) => r.status === "failed" || r.status === "canceled").length;
  let refund: RefundResult;
  try {
    refund =
      (await gateway.findRefundForOrder(order.paymentIntentId, order.id)) ??
      (await gateway.refund({
        paymentIntentId: order.paymentIntentId,
        orderId: order.id,
        idempotencyKey: failed === 0 ? `refund:${order.id}` : `refund:${order.id}:${failed}`,
      }));
  } catch (err) {
    return afterFailure(err);
  }
  await recordRefund(db, refundRow(order, refund), now);
  if (refund.status === "failed" || refund.status === "canceled") {
    return done(
      await refundFailed(env, tenant, order.id, `Stripe reports the refund ${refund.status}`, now),
    );
  }
  if (refund.status !== "succeeded") {
    // Pending at the card network (days, for some): `refund.updated` settles it, and the cron
    // pass looks again meanwhile. Retrying here would only run the message into the DLQ.
    return done();
  }
  return done((await refundSucceeded(env, tenant, order.id, now))?.effects);
}

/** The D1 record of a refund the processor reported for an order. */
export function refundRow(
  order: Pick<OrderWithItems, "id" | "tenantId" | "paymentIntentId">,
  refund: RefundResult,
) {
  return {
    id: refund.id,
    tenantId: order.tenantId,
    orderId: order.id,
    paymentIntentId: order.paymentIntentId ?? "",
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status,
  };
}

/**
 * `refunded` and `cancelled`, with the customer told; null (nothing changed)
 * unless a refund was pending (or given to staff). `manual` records a refund
 * staff made outside the platform, in the same batch.
 */
export async function refundSucceeded(
  env: Env,
  tenant: Tenant,
  orderId: string,
  now: Date,
  manual?: { note: string; by: { keyId: string; label: string } },
): Promise<{ order: OrderWithItems; effects: Effects } | null> {
  const db = getDb(env);
  let notification: NotificationRow | undefined;
  const result = await withFreshOrder(
    db,
    tenant,
    orderId,
    async (order) => {
      // From refund_failed too: a refund given up on (timed out, say) that Stripe made after all.
      if (order.paymentStatus !== "refund_pending" && order.paymentStatus !== "refund_failed") {
        return "unchanged";
      }
      // A refund after completion (staff's call) keeps the order completed.
      const completed = order.status === "completed";
      const patch = completed
        ? { paymentStatus: "refunded" as const }
        : { paymentStatus: "refunded" as const, status: "cancelled" as const };
      const row = newNotification(
        {
          tenantId: tenant.id,
          audience: "customer",
          kind: "order_refunded",
          orderId,
          message: completed
            ? `Order #${order.number} has been refunded in full.`
            : `Order #${order.number} could not be fulfilled and has been refunded in full.`,
        },
        now,
      );
      notification = row;
      const change = paymentChange(tenant, order, patch, (won) => [
        guardedNotificationInsert(db, row, won),
        ...(manual
          ? [guardedRefundInsert(db, manualRefundRow(order, manual.by, manual.note, now), won)]
          : []),
        // A refund given up on and then made after all: staff have nothing left to do.
        closeOrderAlerts(db, { tenantId: tenant.id, orderId, kind: "refund_failed" }, now, won),
      ]);
      return manual ? { ...change, source: "staff" } : change;
    },
    now,
  );
  if (!result.changed || !notification) return null;
  return {
    order: result.order,
    effects: effectsOf(tenant, { events: result.events, notifications: [notification] }),
  };
}

/**
 * Before an order is given to staff as `refund_failed`, asks Stripe whether
 * the refund exists after all (a timed-out call may have made it): a
 * succeeded one settles the order, a pending one is left to `refund.updated`
 * and the cron pass. Only otherwise is the refund failed. Used by the
 * payments queue and its dead-letter queue.
 */
export async function settleOrFailRefund(
  env: Env,
  tenant: Tenant,
  orderId: string,
  reason: string,
  now: Date,
): Promise<Effects> {
  const order = await findOrder(getDb(env), tenant.id, orderId);
  if (order?.paymentStatus !== "refund_pending" || !order.paymentIntentId) return NO_EFFECTS;
  const gateway = paymentGateway(env);
  const manual = order.paymentCaptureMethod === "manual" && !order.paymentCapturedAt;
  let existing: RefundResult | null = null;
  if (gateway && !manual) {
    try {
      existing = await gateway.findRefundForOrder(order.paymentIntentId, order.id);
    } catch (err) {
      // Stripe cannot say either: the refund may exist. It stays pending for the cron pass,
      // rather than asking staff to refund by hand what may already be refunded.
      console.error(
        logLine({
          level: "warn",
          msg: "could not look for the refund; left pending",
          orderId,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
      return NO_EFFECTS;
    }
  }
  if (existing) await recordRefund(getDb(env), refundRow(order, existing), now);
  if (existing?.status === "succeeded") {
    return (await refundSucceeded(env, tenant, orderId, now))?.effects ?? NO_EFFECTS;
  }
  if (existing?.status === "pending" || existing?.status === "requires_action") return NO_EFFECTS;
  return refundFailed(env, tenant, orderId, reason, now);
}

/**
 * `refund_failed`, an alert for staff, and the order listed for manual review;
 * no effects when no refund was pending (or reported done).
 */
export async function refundFailed(
  env: Env,
  tenant: Tenant,
  orderId: string,
  reason: string,
  now: Date,
): Promise<Effects> {
  const db = getDb(env);
  let notification: NotificationRow | undefined;
  const result = await withFreshOrder(
    db,
    tenant,
    orderId,
    async (order) => {
      // From refunded too: Stripe can fail a refund after reporting it succeeded.
      if (order.paymentStatus !== "refund_pending" && order.paymentStatus !== "refunded") {
        return "unchanged";
      }
      const alert = buildAlert(
        db,
        {
          tenantId: tenant.id,
          kind: "refund_failed",
          level: "critical",
          orderId,
          message: `Order #${order.number}: the refund failed (${reason.slice(0, 200)}); refund the customer by hand.`,
        },
        now,
      );
      const row = newNotification(
        {
          tenantId: tenant.id,
          audience: "staff",
          kind: "refund_failed",
          orderId,
          message: alert.row.message,
        },
        now,
      );
      notification = row;
      return paymentChange(
        tenant,
        order,
        { paymentStatus: "refund_failed" },
        (won) => [guardedAlertInsert(db, alert.row, won), guardedNotificationInsert(db, row, won)],
        [alert.event],
      );
    },
    now,
  );
  if (!result.changed || !notification) return NO_EFFECTS;
  return effectsOf(tenant, { events: result.events, notifications: [notification] });
}
