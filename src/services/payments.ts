import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { createStripeGateway } from "../adapters/payments/stripe";
import {
  PaymentError,
  type PaymentGateway,
  type PaymentWebhookEvent,
  type RefundResult,
  type WebhookPaymentIntent,
} from "../adapters/payments/types";
import { readConfig } from "../config";
import { buildAlert, closeOrderAlerts } from "../db/alerts";
import { type Db, getDb, insertIf, isConstraintError } from "../db/client";
import { type NotificationRow, newNotification } from "../db/notifications";
import {
  applyOrderChange,
  findOrder,
  findOrderByPaymentIntent,
  listCancelledUnrefunded,
  listExpiringAuthorisations,
  listStaleRefunds,
  type OrderChange,
  type OrderWithItems,
} from "../db/orders";
import type { OutboxRecord } from "../db/outbox";
import { listRefunds, manualRefundRow, recordRefund } from "../db/refunds";
import { alerts, notifications, refunds, webhookEvents } from "../db/schema";
import { findTenantById, type Tenant } from "../db/tenants";
import { webhookEventInsert, webhookEventSeen } from "../db/webhook-events";
import type { StatusSource } from "../domain/order-status";
import { decideRetry } from "../domain/retry-policy";
import { ApiError } from "../http/errors";
import { logLine } from "../log";
import type { MessageOutcome, RefundMessage } from "../queues/messages";
import { sendNotifications } from "./notifications";
import { changeOrderStatus, orderUpdatedEvent, withFreshOrder } from "./orders";
import { deliverEvents } from "./outbox";
import { confirmOrderAndQueue } from "./pos-sync";

/** The payment processor for this deployment, or null when no Stripe key is configured. */
export function paymentGateway(env: Env): PaymentGateway | null {
  const stripe = readConfig(env).stripe;
  return stripe
    ? createStripeGateway({ secretKey: stripe.secretKey, apiBase: stripe.apiBase })
    : null;
}

/**
 * Applies one verified Stripe event. An event id seen before changes
 * nothing; every other event is recorded in the same batch as the change it
 * causes (or alone, when it causes none), so a replay is always a no-op.
 * Returns whether something changed.
 */
export async function handleStripeEvent(
  env: Env,
  event: PaymentWebhookEvent,
  now: Date,
): Promise<boolean> {
  const db = getDb(env);
  if (await webhookEventSeen(db, "stripe", event.id)) return false;
  if (
    event.type === "refund.updated" ||
    event.type === "refund.created" ||
    event.type === "charge.refunded"
  ) {
    return reconcileRefund(env, event, now);
  }
  const intent = event.paymentIntent;
  const tenant = intent?.tenantId ? await findTenantById(db, intent.tenantId) : undefined;
  const order =
    tenant && intent?.orderId ? await findOrder(db, tenant.id, intent.orderId) : undefined;
  const record = { provider: "stripe", eventId: event.id, tenantId: tenant?.id ?? null };
  const recordIf = (won: SQL) => [
    insertIf(db, webhookEvents, { ...record, receivedAt: now.toISOString() }, won),
  ];
  const recordOnly = async () => {
    await webhookEventInsert(db, record, now).catch((err: unknown) => {
      if (!isConstraintError(err, "webhook_events")) throw err;
    });
    return false;
  };
  if (intent && tenant && order && order.paymentIntentId === null) {
    if (event.type === "payment_intent.amount_capturable_updated") {
      // Paid at the counter while the card was authorised: release the hold, nothing was taken.
      await releaseUnpaidIntent(env, { id: order.id, paymentIntentId: intent.id });
      return recordOnly();
    }
    if (event.type === "payment_intent.succeeded") {
      return raisePaymentDuplicate(env, db, tenant, order, intent.id, now, recordIf);
    }
  }
  // Only intents Orderlane made for an order it has, and that order's own intent.
  if (!intent || !tenant || !order || order.paymentIntentId !== intent.id) return recordOnly();

  switch (event.type) {
    case "payment_intent.amount_capturable_updated":
      // Authorised, to be captured when the POS accepts: confirm it now.
      if (order.paymentCaptureMethod !== "manual") return recordOnly();
      return confirmPaid(env, db, tenant, order, intent, now, recordIf, recordOnly);
    case "payment_intent.succeeded":
      return confirmPaid(env, db, tenant, order, intent, now, recordIf, recordOnly);
    case "payment_intent.payment_failed":
    case "payment_intent.canceled": {
      if (order.status !== "pending_payment" || order.paymentStatus === "paid") return recordOnly();
      const applied = await applyOrderChange(
        db,
        order,
        {
          ...paymentChange(
            tenant,
            order,
            { status: "cancelled", paymentStatus: "failed" },
            recordIf,
          ),
          source: "stripe",
        },
        now,
      );
      // A concurrent change won; Stripe sends the event again if we do not answer 2xx.
      if (!applied)
        throw new Error(`order ${order.id} changed while its payment failure was recorded`);
      await deliverEvents(env, tenant, applied.events);
      // Stripe would let the customer retry a declined card on the same intent; the
      // order is cancelled, so the intent is too (a payment that still races this is refunded).
      if (event.type === "payment_intent.payment_failed") await releaseUnpaidIntent(env, order);
      return true;
    }
    default:
      return recordOnly();
  }
}

/** Confirms a paid (or authorised) order unless the amount is not the order's. */
async function confirmPaid(
  env: Env,
  db: Db,
  tenant: Tenant,
  order: OrderWithItems,
  intent: WebhookPaymentIntent,
  now: Date,
  recordIf: (won: SQL) => BatchItem<"sqlite">[],
  recordOnly: () => Promise<boolean>,
): Promise<boolean> {
  if (intent.amount !== order.total || intent.currency !== order.currency) {
    const alert = buildAlert(
      db,
      {
        tenantId: tenant.id,
        kind: "payment_mismatch",
        level: "critical",
        orderId: order.id,
        message: `Order #${order.number}: Stripe reports ${intent.amount} ${intent.currency} paid, the order is ${order.total} ${order.currency}; it was not confirmed.`,
      },
      now,
    );
    await db.batch([...alert.statements, ...recordIf(sql`1`)]);
    await deliverEvents(env, tenant, [alert.event]);
    return false;
  }
  if (
    order.status === "cancelled" &&
    (order.paymentStatus === "unpaid" || order.paymentStatus === "failed")
  ) {
    // Paid after the order was given up (cancelled unpaid): give the money back.
    const applied = await applyOrderChange(
      db,
      order,
      {
        ...paymentChange(tenant, order, { paymentStatus: "refund_pending" }),
        source: "stripe",
        extra: recordIf,
      },
      now,
    );
    if (!applied) throw new Error(`order ${order.id} changed while its late payment was recorded`);
    await enqueueRefund(env, tenant.id, order.id);
    await deliverEvents(env, tenant, applied.events);
    return true;
  }
  // Already paid, refunding or refunded: nothing to confirm (an error would make Stripe retry for days).
  if (
    order.status !== "pending_payment" ||
    (order.paymentStatus !== "unpaid" && order.paymentStatus !== "failed")
  ) {
    return recordOnly();
  }
  const result = await confirmOrderAndQueue(
    env,
    db,
    tenant,
    order.id,
    "stripe",
    now,
    recordIf,
    order,
  );
  if (!result.changed) {
    // Marked paid at the counter between our read and the confirmation.
    if (result.order.paymentIntentId === null && intent.status === "succeeded") {
      return raisePaymentDuplicate(env, db, tenant, result.order, intent.id, now, recordIf);
    }
    return recordOnly();
  }
  await deliverEvents(env, tenant, result.events);
  return true;
}

/** A card payment that went through for an order paid at the counter: money taken twice. */
async function raisePaymentDuplicate(
  env: Env,
  db: Db,
  tenant: Tenant,
  order: OrderWithItems,
  intentId: string,
  now: Date,
  recordIf: (won: SQL) => BatchItem<"sqlite">[],
): Promise<boolean> {
  const alert = buildAlert(
    db,
    {
      tenantId: tenant.id,
      kind: "payment_duplicate",
      level: "critical",
      orderId: order.id,
      message: `Order #${order.number} was paid at the counter and its card payment ${intentId} went through as well: refund one of them.`,
    },
    now,
  );
  await db.batch([...alert.statements, ...recordIf(sql`1`)]);
  await deliverEvents(env, tenant, [alert.event]);
  return false;
}

/**
 * `refund.updated` (and `refund.created`): settles a refund that Stripe
 * finished after our call returned `pending`, or reports one that failed.
 */
async function reconcileRefund(env: Env, event: PaymentWebhookEvent, now: Date): Promise<boolean> {
  const db = getDb(env);
  const intentId = event.refund?.paymentIntentId ?? event.charge?.paymentIntentId ?? null;
  const order = intentId ? await findOrderByPaymentIntent(db, intentId) : undefined;
  const tenant = order ? await findTenantById(db, order.tenantId) : undefined;
  let changed = false;
  // Only the platform's own refund of the whole amount settles the order: a partial refund made
  // in the Stripe dashboard does not (`charge.refunded` means refunded in full).
  const ours =
    !event.refund || (event.refund.orderId === order?.id && event.refund.amount === order?.total);
  if (order && tenant && ours) {
    if (event.refund) await recordRefund(db, refundRow(order, event.refund), now);
    const status = event.refund?.status ?? (event.charge?.refunded ? "succeeded" : null);
    if (status === "succeeded") changed = await refundSucceeded(env, tenant, order.id, now);
    if (status === "failed" || status === "canceled") {
      changed = await refundFailed(
        env,
        tenant,
        order.id,
        `Stripe reports the refund ${status}`,
        now,
      );
    }
  }
  await webhookEventInsert(
    db,
    { provider: "stripe", eventId: event.id, tenantId: tenant?.id ?? null },
    now,
  ).catch((err: unknown) => {
    if (!isConstraintError(err, "webhook_events")) throw err;
  });
  return changed;
}

/**
 * Starts the refund of a paid order: `paymentStatus: refund_pending` (with
 * its `order_updated`) in one batch, then the refund goes on the `payments`
 * queue. Returns `started` when this call started it, `under_way` when it
 * already was (the message is sent again), null when there is nothing to
 * refund (not paid by card, or, for a cancel, completed meanwhile).
 */
export async function startRefund(
  env: Env,
  tenant: Tenant,
  orderId: string,
  now: Date,
  options: { cancelNow?: boolean; source?: StatusSource } = {},
): Promise<"started" | "under_way" | null> {
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
  if (!result.changed && !underWay) return null;
  // Sent again when already under way: a lost message must not strand the refund.
  await enqueueRefund(env, tenant.id, orderId);
  await deliverEvents(env, tenant, result.events);
  return result.changed ? "started" : "under_way";
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
): Promise<{ order: OrderWithItems; events: OutboxRecord[] }> {
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
  await enqueueRefund(env, tenant.id, orderId);
  return { order: result.order, events: result.events };
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
): Promise<OrderWithItems> {
  const db = getDb(env);
  const order = await findOrder(db, tenant.id, orderId);
  if (!order) throw new ApiError("not_found", "unknown order");
  if (order.paymentStatus !== "refund_failed") {
    throw new ApiError(
      "conflict",
      `only a refund_failed order can be settled by hand; this one is ${order.paymentStatus}`,
    );
  }
  if (!(await refundSucceeded(env, tenant, orderId, now, { note, by }))) {
    throw new ApiError("conflict", "the order changed meanwhile; read it again");
  }
  const settled = await findOrder(db, tenant.id, orderId);
  if (!settled) throw new ApiError("not_found", "unknown order");
  return settled;
}

/** Puts the refund on the queue after its batch; a failed send is healed by the cron pass. */
async function enqueueRefund(env: Env, tenantId: string, orderId: string): Promise<void> {
  const message: RefundMessage = { type: "refund", tenantId, orderId };
  await env.PAYMENTS.send(message, { contentType: "json" }).catch((err: unknown) => {
    console.error(
      logLine({
        level: "warn",
        msg: "refund enqueue failed; the cron pass will queue it again",
        orderId,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
  });
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
  message: RefundMessage,
  delivery: { attempt: number; random: number },
  now: Date,
): Promise<MessageOutcome> {
  const db = getDb(env);
  const gateway = paymentGateway(env);
  const tenant = await findTenantById(db, message.tenantId);
  const order = tenant ? await findOrder(db, tenant.id, message.orderId) : undefined;
  if (!gateway || !tenant || !order?.paymentIntentId) return { kind: "done" };
  if (order.paymentStatus !== "refund_pending") return { kind: "done" };
  /** Retry a passing failure with backoff; anything else leaves the refund to staff. */
  const afterFailure = async (err: unknown): Promise<MessageOutcome> => {
    if (err instanceof PaymentError && err.kind === "retryable") {
      const decision = decideRetry({
        attempt: delivery.attempt,
        kind: "retryable",
        random: delivery.random,
      });
      if (decision.action === "retry")
        return { kind: "retry", delaySeconds: decision.delaySeconds };
    }
    await settleOrFailRefund(
      env,
      tenant,
      order.id,
      err instanceof Error ? err.message : String(err),
      now,
    );
    return { kind: "done" };
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
    await refundSucceeded(env, tenant, order.id, now);
    return { kind: "done" };
  }
  // D1 first: a refund recorded as succeeded (its order's change lost) settles without Stripe.
  const known = await listRefunds(db, tenant.id, order.id);
  if (known.some((r) => r.status === "succeeded")) {
    await refundSucceeded(env, tenant, order.id, now);
    return { kind: "done" };
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
    await refundFailed(env, tenant, order.id, `Stripe reports the refund ${refund.status}`, now);
    return { kind: "done" };
  }
  if (refund.status !== "succeeded") {
    // Pending at the card network (days, for some): `refund.updated` settles it, and the cron
    // pass looks again meanwhile. Retrying here would only run the message into the DLQ.
    return { kind: "done" };
  }
  await refundSucceeded(env, tenant, order.id, now);
  return { kind: "done" };
}

/** The D1 record of a refund the processor reported for an order. */
function refundRow(
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
 * `refunded` and `cancelled`, with the customer told; a no-op unless a refund
 * was pending (or given to staff). `manual` records a refund staff made
 * outside the platform, in the same batch.
 */
export async function refundSucceeded(
  env: Env,
  tenant: Tenant,
  orderId: string,
  now: Date,
  manual?: { note: string; by: { keyId: string; label: string } },
): Promise<boolean> {
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
        insertIf(db, notifications, row, won),
        ...(manual
          ? [insertIf(db, refunds, manualRefundRow(order, manual.by, manual.note, now), won)]
          : []),
        // A refund given up on and then made after all: staff have nothing left to do.
        closeOrderAlerts(db, { tenantId: tenant.id, orderId, kind: "refund_failed" }, now, won),
      ]);
      return manual ? { ...change, source: "staff" } : change;
    },
    now,
  );
  if (!result.changed || !notification) return false;
  await deliverEvents(env, tenant, result.events);
  await sendNotifications(env, db, [notification], now);
  return true;
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
): Promise<boolean> {
  const order = await findOrder(getDb(env), tenant.id, orderId);
  if (order?.paymentStatus !== "refund_pending" || !order.paymentIntentId) return false;
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
      return false;
    }
  }
  if (existing) await recordRefund(getDb(env), refundRow(order, existing), now);
  if (existing?.status === "succeeded") return refundSucceeded(env, tenant, orderId, now);
  if (existing?.status === "pending" || existing?.status === "requires_action") return false;
  return refundFailed(env, tenant, orderId, reason, now);
}

/** `refund_failed`, an alert for staff, and the order listed for manual review. */
export async function refundFailed(
  env: Env,
  tenant: Tenant,
  orderId: string,
  reason: string,
  now: Date,
): Promise<boolean> {
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
        (won) => [insertIf(db, alerts, alert.row, won), insertIf(db, notifications, row, won)],
        [alert.event],
      );
    },
    now,
  );
  if (!result.changed || !notification) return false;
  await deliverEvents(env, tenant, result.events);
  await sendNotifications(env, db, [notification], now);
  return true;
}

function paymentChange(
  tenant: Tenant,
  order: OrderWithItems,
  patch: OrderChange["patch"],
  extra?: OrderChange["extra"],
  extraEvents?: OutboxRecord[],
): OrderChange {
  return {
    patch,
    source: "system",
    event: orderUpdatedEvent(tenant, order, "payment"),
    ...(extra ? { extra } : {}),
    ...(extraEvents ? { extraEvents } : {}),
  };
}

/**
 * Cancels an order, from the staff console, the status route or a terminal:
 * an unpaid one is simply cancelled (and its PaymentIntent with it); a paid
 * one is cancelled and refunded (the refund follows on the payments queue).
 * A completed order cannot be cancelled (409); a cancelled one stays as it is.
 * Returns the order as it is now and whether this call changed it.
 */
export async function cancelOrder(
  env: Env,
  tenant: Tenant,
  orderId: string,
  source: "staff" | "terminal",
  now: Date,
): Promise<{ order: OrderWithItems; changed: boolean; events: OutboxRecord[] }> {
  const db = getDb(env);
  const order = await findOrder(db, tenant.id, orderId);
  if (!order) throw new ApiError("not_found", "unknown order");
  if (order.status === "completed") {
    throw new ApiError("conflict", "a completed order cannot be cancelled");
  }
  let changed = false;
  let events: OutboxRecord[] = [];
  if (order.paymentStatus === "paid" && order.paymentIntentId) {
    changed =
      (await startRefund(env, tenant, order.id, now, { cancelNow: true, source })) === "started";
  } else if (order.status !== "cancelled") {
    // Unpaid, or paid at the counter (the money is in the till: staff give it back there).
    const result = await changeOrderStatus(db, tenant, order.id, "cancelled", source, now);
    ({ changed, events } = result);
    await releaseUnpaidIntent(env, order);
  }
  if (changed && order.posStatus === "synced") {
    // The kitchen's POS still has it: no vendor API voids an order for us, so staff must.
    const alert = buildAlert(
      db,
      {
        tenantId: tenant.id,
        kind: "pos_void_needed",
        level: "critical",
        orderId: order.id,
        message: `Order #${order.number} was cancelled in Orderlane but is in the POS${order.externalId ? ` as ${order.externalId}` : ""}: void it there.`,
      },
      now,
    );
    await db.batch([...alert.statements]);
    events = [...events, alert.event];
  }
  return { order: (await findOrder(db, tenant.id, order.id)) ?? order, changed, events };
}

/**
 * Cancels the PaymentIntent of an order given up before it was paid, so it
 * can no longer be paid. Best effort: a payment that still races this is
 * refunded when its webhook arrives.
 */
export async function releaseUnpaidIntent(
  env: Env,
  order: Pick<OrderWithItems, "id" | "paymentIntentId">,
): Promise<void> {
  if (!order.paymentIntentId) return;
  await paymentGateway(env)
    ?.cancelPaymentIntent(order.paymentIntentId, { idempotencyKey: `cancel:${order.id}` })
    .catch((err: unknown) => {
      console.warn(
        logLine({
          level: "warn",
          msg: "could not cancel the payment intent of a given-up order",
          orderId: order.id,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
    });
}

/**
 * Captures an authorised payment once the POS accepted the order
 * (`captureMode: on_pos_accept`). A capture that fails is left to staff
 * with an alert: the order is in the kitchen and the money only held.
 */
export async function captureIfAuthorised(
  env: Env,
  tenant: Tenant,
  orderId: string,
  now: Date,
): Promise<void> {
  const db = getDb(env);
  const gateway = paymentGateway(env);
  const order = await findOrder(db, tenant.id, orderId);
  if (
    !gateway ||
    !order?.paymentIntentId ||
    order.paymentCaptureMethod !== "manual" ||
    order.paymentCapturedAt ||
    order.paymentStatus !== "paid"
  ) {
    return;
  }
  try {
    await gateway.capturePaymentIntent(order.paymentIntentId, {
      idempotencyKey: `capture:${order.id}`,
    });
  } catch (err) {
    const alert = buildAlert(
      db,
      {
        tenantId: tenant.id,
        kind: "payment_capture_failed",
        level: "critical",
        orderId,
        message: `Order #${order.number} is in the POS but its payment could not be captured: ${err instanceof Error ? err.message : String(err)}`,
      },
      now,
    );
    await db.batch([...alert.statements]);
    await deliverEvents(env, tenant, [alert.event]);
    return;
  }
  await withFreshOrder(
    db,
    tenant,
    orderId,
    async (current) =>
      current.paymentCapturedAt
        ? "unchanged"
        : { patch: { paymentCapturedAt: now.toISOString() }, source: "system", event: null },
    now,
  );
}

/** Stripe keeps an online card authorisation for 7 days; release it well before. */
const AUTHORISATION_LIMIT_MS = 6 * 24 * 60 * 60 * 1000;

/**
 * The cron pass: authorisations still uncaptured near their expiry (the POS
 * never answered) are released and staff alerted.
 */
export async function releaseExpiringAuthorisations(env: Env, now: Date): Promise<number> {
  const db = getDb(env);
  const due = await listExpiringAuthorisations(
    db,
    new Date(now.getTime() - AUTHORISATION_LIMIT_MS).toISOString(),
  );
  for (const order of due) {
    const tenant = await findTenantById(db, order.tenantId);
    if (!tenant) continue;
    const alert = buildAlert(
      db,
      {
        tenantId: tenant.id,
        kind: "authorization_expiring",
        level: "warning",
        orderId: order.id,
        message: `Order #${order.number}: the POS never accepted it and its card authorisation is about to expire; it has been released.`,
      },
      now,
    );
    await db.batch([...alert.statements]);
    await deliverEvents(env, tenant, [alert.event]);
    await startRefund(env, tenant, order.id, now, { cancelNow: true });
  }
  return due.length;
}

/** A refund unsettled this long is looked at again (Stripe may have finished it, or lost our message). */
const STALE_REFUND_MS = 10 * 60_000;

/**
 * The cron pass for refunds: a `refund_pending` order whose message was lost
 * (the enqueue failed after its batch) or whose refund is still pending at
 * Stripe goes on the `payments` queue again. Refunding is idempotent, so a
 * second message for a live one changes nothing.
 */
export async function requeueStaleRefunds(env: Env, now: Date): Promise<number> {
  const db = getDb(env);
  const before = new Date(now.getTime() - STALE_REFUND_MS).toISOString();
  const stale = await listStaleRefunds(db, before);
  for (const order of stale) await enqueueRefund(env, order.tenantId, order.id);
  // Cancelled and still paid by card: the refund's start was lost after the cancel committed.
  const unrefunded = await listCancelledUnrefunded(db, before);
  for (const row of unrefunded) {
    const tenant = await findTenantById(db, row.tenantId);
    if (tenant) await startRefund(env, tenant, row.id, now);
  }
  return stale.length + unrefunded.length;
}
