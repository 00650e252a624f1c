import type { SQL } from "drizzle-orm";
import { createStripeGateway } from "../adapters/payments/stripe";
import type { PaymentGateway, PaymentWebhookEvent } from "../adapters/payments/types";
import { readConfig } from "../config";
import { buildAlert } from "../db/alerts";
import { getDb, insertIf, isConstraintError } from "../db/client";
import { applyOrderChange, findOrder } from "../db/orders";
import { webhookEvents } from "../db/schema";
import { findTenantById } from "../db/tenants";
import { webhookEventInsert, webhookEventSeen } from "../db/webhook-events";
import { orderDto } from "../routes/schemas";
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
  // Only intents Orderlane made for an order it has, and that order's own intent.
  if (!intent || !tenant || !order || order.paymentIntentId !== intent.id) return recordOnly();

  switch (event.type) {
    case "payment_intent.succeeded": {
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
        await db.batch([...alert.statements, webhookEventInsert(db, record, now)]);
        await deliverEvents(env, tenant, [alert.event]);
        return false;
      }
      const result = await confirmOrderAndQueue(env, db, tenant, order.id, "stripe", now, recordIf);
      if (!result.changed) return recordOnly();
      await deliverEvents(env, tenant, result.events);
      return true;
    }
    case "payment_intent.payment_failed":
    case "payment_intent.canceled": {
      if (order.status !== "pending_payment" || order.paymentStatus !== "unpaid")
        return recordOnly();
      const applied = await applyOrderChange(
        db,
        order,
        {
          patch: { status: "cancelled", paymentStatus: "failed" },
          source: "stripe",
          event: (next) => ({
            type: "order_updated",
            payload: {
              order: orderDto(next, tenant.slug),
              previousStatus: order.status,
              change: "payment",
            },
          }),
          extra: recordIf,
        },
        now,
      );
      // A concurrent change won; Stripe sends the event again if we do not answer 2xx.
      if (!applied)
        throw new Error(`order ${order.id} changed while its payment failure was recorded`);
      await deliverEvents(env, tenant, applied.events);
      return true;
    }
    default:
      return recordOnly();
  }
}
