import type { Db } from "../db/client";
import { findOrderAndIntegration } from "../db/order-context";
import type { OrderChange, OrderWithItems } from "../db/orders";
import type { PosIntegrationRow } from "../db/pos-integrations";
import type { Tenant } from "../db/tenants";
import type { StatusSource } from "../domain/order-status";
import { orderView } from "../domain/order-view";
import { ApiError } from "../http/errors";
import { captureIfAuthorised, releaseUnpaidIntent } from "./capture";
import { combine, type Effects, effectsOf, NO_EFFECTS } from "./effects";
import { type OrderChangeResult, withFreshOrder } from "./order-change";
import { posPathFor } from "./pos-outage";
import { posSubmitMessage } from "./pos-sync";

/**
 * Confirming a payment, by Stripe's webhook or by staff (`mark-paid`), and
 * queueing the order for the POS in the same batch.
 */

/**
 * Confirms a paid order and, when the tenant's POS takes orders
 * automatically, queues it for submission (or, while that POS is down, hands it to staff to
 * enter by hand: `posStatus: manual`, no message): `posStatus` is `queued` in the
 * same batch as the confirmation, and the message follows the commit (the
 * cron pass re-queues it should the send fail). The result's `effects` hold
 * the confirmation's events and that message. `known` holds what the
 * caller has just read (the order, and the POS integration, absent or not).
 */
export async function confirmOrderAndQueue(
  env: Env,
  db: Db,
  tenant: Tenant,
  orderId: string,
  source: StatusSource,
  now: Date,
  extra?: OrderChange["extra"],
  known?: { order: OrderWithItems; integration: PosIntegrationRow | undefined },
): Promise<OrderChangeResult & { effects: Effects }> {
  const context = known ?? (await findOrderAndIntegration(db, tenant.id, orderId));
  const integration = context.integration;
  const before = context.order;
  const result = await confirmOrderPayment(
    db,
    tenant,
    orderId,
    source,
    posPathFor(integration),
    now,
    extra,
    before,
  );
  if (!result.changed) return { ...result, effects: NO_EFFECTS };
  // Paid at the counter: the card can no longer be charged for it.
  if (source === "staff" && before?.paymentIntentId) await releaseUnpaidIntent(env, before);
  const queued = result.order.posStatus === "queued";
  const confirmed = effectsOf(tenant, {
    events: result.events,
    messages: queued ? [posSubmitMessage(tenant.id, orderId)] : [],
  });
  // Authorised to be captured on POS acceptance, but no POS will be asked (it was
  // disconnected since the order was placed, or it is down and staff enter the order by hand):
  // the restaurant takes it, so capture now.
  const captured =
    result.order.posStatus === "not_required" || result.order.posStatus === "manual"
      ? await captureIfAuthorised(env, tenant, orderId, now, result.order)
      : NO_EFFECTS;
  return { ...result, effects: combine(confirmed, captured) };
}

/**
 * Records an order as paid and confirms it, announcing it to terminals as
 * `new_order`: what the payment webhook does for card payments, and what
 * staff do for an order paid at the counter. Only an unpaid, pending order
 * can be confirmed; one already paid is returned unchanged.
 */
export async function confirmOrderPayment(
  db: Db,
  tenant: Tenant,
  orderId: string,
  source: StatusSource,
  posStatus: "queued" | "manual" | "not_required",
  now: Date,
  extra?: OrderChange["extra"],
  known?: OrderWithItems,
): Promise<OrderChangeResult> {
  return withFreshOrder(
    db,
    tenant,
    orderId,
    async (order) => {
      if (order.paymentStatus === "paid" && order.status !== "pending_payment") return "unchanged";
      // "failed" too: a declined card can be retried on the same PaymentIntent.
      if (
        order.status !== "pending_payment" ||
        (order.paymentStatus !== "unpaid" && order.paymentStatus !== "failed")
      ) {
        throw new ApiError(
          "conflict",
          `order is ${order.status} and ${order.paymentStatus}; it cannot be confirmed`,
          {
            status: order.status,
            paymentStatus: order.paymentStatus,
          },
        );
      }
      return {
        patch: {
          status: "confirmed",
          paymentStatus: "paid",
          posStatus,
          // Paid at the counter: the card payment is no longer this order's (its intent is cancelled).
          ...(source === "staff" ? { paymentIntentId: null } : {}),
        },
        ...(extra ? { extra } : {}),
        source,
        event: (next) => ({ type: "new_order", payload: orderView(next, tenant.slug) }),
      };
    },
    now,
    known,
  );
}
