import { raiseAlert } from "../db/alerts";
import { getDb } from "../db/client";
import { findOrder, type OrderWithItems } from "../db/orders";
import type { Tenant } from "../db/tenants";
import { logLine } from "../log";
import { type Effects, effectsOf, NO_EFFECTS } from "./effects";
import { withFreshOrder } from "./order-change";
import { paymentGateway } from "./payment-gateway";

/**
 * Card holds (manual capture): captured when the POS takes the order, released when it
 * cannot or the order was not stored.
 */

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
 * `known`, the order as the caller has just written it, saves the read.
 */
export async function captureIfAuthorised(
  env: Env,
  tenant: Tenant,
  orderId: string,
  now: Date,
  known?: OrderWithItems,
): Promise<Effects> {
  const db = getDb(env);
  const gateway = paymentGateway(env);
  const order = known ?? (await findOrder(db, tenant.id, orderId));
  if (
    !gateway ||
    !order?.paymentIntentId ||
    order.paymentCaptureMethod !== "manual" ||
    order.paymentCapturedAt ||
    order.paymentStatus !== "paid"
  ) {
    return NO_EFFECTS;
  }
  try {
    await gateway.capturePaymentIntent(order.paymentIntentId, {
      idempotencyKey: `capture:${order.id}`,
    });
  } catch (err) {
    const alert = await raiseAlert(
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
    return effectsOf(tenant, { events: alert });
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
  return NO_EFFECTS;
}
