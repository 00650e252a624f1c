import type { SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { PaymentWebhookEvent, WebhookPaymentIntent } from "../adapters/payments/types";
import { raiseAlert } from "../db/alerts";
import { ALWAYS, type Db, getDb, isConstraintError } from "../db/client";
import { findPaymentEventContext } from "../db/order-context";
import { applyOrderChange, findOrderByPaymentIntent, type OrderWithItems } from "../db/orders";
import type { PosIntegrationRow } from "../db/pos-integrations";
import { recordRefund } from "../db/refunds";
import { findTenantById, type Tenant } from "../db/tenants";
import {
  guardedWebhookEventInsert,
  webhookEventInsert,
  webhookEventSeen,
} from "../db/webhook-events";
import { releaseUnpaidIntent } from "./capture";
import { confirmOrderAndQueue } from "./confirmation";
import { type Effects, effectsOf, NO_EFFECTS } from "./effects";
import { paymentChange } from "./order-change";
import { refundFailed, refundMessage, refundRow, refundSucceeded } from "./refunds";

/** Whether an event changed an order, and what to deliver. */
export interface StripeEventResult {
  changed: boolean;
  effects: Effects;
}

const UNCHANGED: StripeEventResult = { changed: false, effects: NO_EFFECTS };

/**
 * Stripe's webhook events, verified by the route: payments confirm orders (and queue them
 * for the POS), failures cancel them, refund events reconcile refunds.
 */

/**
 * Applies one verified Stripe event. An event id seen before changes
 * nothing; every other event is recorded in the same batch as the change it
 * causes (or alone, when it causes none), so a replay is always a no-op.
 * Returns whether something changed and what to deliver.
 */
export async function handleStripeEvent(
  env: Env,
  event: PaymentWebhookEvent,
  now: Date,
): Promise<StripeEventResult> {
  const db = getDb(env);
  const refundEvent =
    event.type === "refund.updated" ||
    event.type === "refund.created" ||
    event.type === "charge.refunded";
  const intent = refundEvent ? null : event.paymentIntent;
  // A payment event names its tenant and order: one read finds the event, both, and the POS.
  const context =
    intent?.tenantId && intent.orderId
      ? await findPaymentEventContext(
          db,
          { provider: "stripe", eventId: event.id },
          intent.tenantId,
          intent.orderId,
        )
      : {
          seen: await webhookEventSeen(db, "stripe", event.id),
          tenant: undefined,
          order: undefined,
          integration: undefined,
        };
  if (context.seen) return UNCHANGED;
  if (refundEvent) return reconcileRefund(env, event, now);
  const { tenant, integration } = context;
  const order = tenant ? context.order : undefined;
  const record = { provider: "stripe", eventId: event.id, tenantId: tenant?.id ?? null };
  const recordIf = (won: SQL) => [guardedWebhookEventInsert(db, record, now, won)];
  const recordOnly = async (): Promise<StripeEventResult> => {
    await webhookEventInsert(db, record, now).catch((err: unknown) => {
      if (!isConstraintError(err, "webhook_events")) throw err;
    });
    return UNCHANGED;
  };
  if (intent && tenant && order && order.paymentIntentId === null) {
    if (event.type === "payment_intent.amount_capturable_updated") {
      // Paid at the counter while the card was authorised: release the hold, nothing was taken.
      await releaseUnpaidIntent(env, { id: order.id, paymentIntentId: intent.id });
      return recordOnly();
    }
    if (event.type === "payment_intent.succeeded") {
      return raisePaymentDuplicate(db, tenant, order, intent.id, now, recordIf);
    }
  }
  // Only intents Orderlane made for an order it has, and that order's own intent.
  if (!intent || !tenant || !order || order.paymentIntentId !== intent.id) return recordOnly();

  switch (event.type) {
    case "payment_intent.amount_capturable_updated":
      // Authorised, to be captured when the POS accepts: confirm it now.
      if (order.paymentCaptureMethod !== "manual") return recordOnly();
      return confirmPaid(env, db, tenant, order, integration, intent, now, recordIf, recordOnly);
    case "payment_intent.succeeded":
      return confirmPaid(env, db, tenant, order, integration, intent, now, recordIf, recordOnly);
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
      // Stripe would let the customer retry a declined card on the same intent; the
      // order is cancelled, so the intent is too (a payment that still races this is refunded).
      if (event.type === "payment_intent.payment_failed") await releaseUnpaidIntent(env, order);
      return { changed: true, effects: effectsOf(tenant, { events: applied.events }) };
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
  integration: PosIntegrationRow | undefined,
  intent: WebhookPaymentIntent,
  now: Date,
  recordIf: (won: SQL) => BatchItem<"sqlite">[],
  recordOnly: () => Promise<StripeEventResult>,
): Promise<StripeEventResult> {
  if (intent.amount !== order.total || intent.currency !== order.currency) {
    const alert = await raiseAlert(
      db,
      {
        tenantId: tenant.id,
        kind: "payment_mismatch",
        level: "critical",
        orderId: order.id,
        message: `Order #${order.number}: Stripe reports ${intent.amount} ${intent.currency} paid, the order is ${order.total} ${order.currency}; it was not confirmed.`,
      },
      now,
      recordIf(ALWAYS),
    );
    return { changed: false, effects: effectsOf(tenant, { events: alert }) };
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
    return {
      changed: true,
      effects: effectsOf(tenant, {
        events: applied.events,
        messages: [refundMessage(tenant.id, order.id)],
      }),
    };
  }
  // Already paid, refunding or refunded: nothing to confirm (an error would make Stripe retry for days).
  if (
    order.status !== "pending_payment" ||
    (order.paymentStatus !== "unpaid" && order.paymentStatus !== "failed")
  ) {
    return recordOnly();
  }
  const result = await confirmOrderAndQueue(env, db, tenant, order.id, "stripe", now, recordIf, {
    order,
    integration,
  });
  if (!result.changed) {
    // Marked paid at the counter between our read and the confirmation.
    if (result.order.paymentIntentId === null && intent.status === "succeeded") {
      return raisePaymentDuplicate(db, tenant, result.order, intent.id, now, recordIf);
    }
    return recordOnly();
  }
  return { changed: true, effects: result.effects };
}

/** A card payment that went through for an order paid at the counter: money taken twice. */
async function raisePaymentDuplicate(
  db: Db,
  tenant: Tenant,
  order: OrderWithItems,
  intentId: string,
  now: Date,
  recordIf: (won: SQL) => BatchItem<"sqlite">[],
): Promise<StripeEventResult> {
  const alert = await raiseAlert(
    db,
    {
      tenantId: tenant.id,
      kind: "payment_duplicate",
      level: "critical",
      orderId: order.id,
      message: `Order #${order.number} was paid at the counter and its card payment ${intentId} went through as well: refund one of them.`,
    },
    now,
    recordIf(ALWAYS),
  );
  return { changed: false, effects: effectsOf(tenant, { events: alert }) };
}

/**
 * `refund.updated` (and `refund.created`): settles a refund that Stripe
 * finished after our call returned `pending`, or reports one that failed.
 */
async function reconcileRefund(
  env: Env,
  event: PaymentWebhookEvent,
  now: Date,
): Promise<StripeEventResult> {
  const db = getDb(env);
  const intentId = event.refund?.paymentIntentId ?? event.charge?.paymentIntentId ?? null;
  const order = intentId ? await findOrderByPaymentIntent(db, intentId) : undefined;
  const tenant = order ? await findTenantById(db, order.tenantId) : undefined;
  let effects = NO_EFFECTS;
  // Only the platform's own refund of the whole amount settles the order: a partial refund made
  // in the Stripe dashboard does not (`charge.refunded` means refunded in full).
  const ours =
    !event.refund || (event.refund.orderId === order?.id && event.refund.amount === order?.total);
  if (order && tenant && ours) {
    if (event.refund) await recordRefund(db, refundRow(order, event.refund), now);
    const status = event.refund?.status ?? (event.charge?.refunded ? "succeeded" : null);
    if (status === "succeeded") {
      effects = (await refundSucceeded(env, tenant, order.id, now))?.effects ?? NO_EFFECTS;
    }
    if (status === "failed" || status === "canceled") {
      effects = await refundFailed(
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
  return { changed: effects.tenant !== null, effects };
}
