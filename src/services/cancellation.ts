import { raiseAlert } from "../db/alerts";
import { getDb } from "../db/client";
import { findOrder, type OrderWithItems, setPosPush } from "../db/orders";
import type { Tenant } from "../db/tenants";
import { ApiError } from "../http/errors";
import { releaseUnpaidIntent } from "./capture";
import { combine, type Effects, effectsOf, NO_EFFECTS } from "./effects";
import { changeOrderStatus } from "./orders";
import { posHasOrder, posUpdateMessage } from "./pos-updates";
import { startRefund } from "./refunds";

/**
 * Cancels an order, from the staff console, the status route or a terminal:
 * an unpaid one is simply cancelled (and its PaymentIntent with it); a paid
 * one is cancelled and refunded (the refund follows on the payments queue).
 * A completed order cannot be cancelled (409); a cancelled one stays as it is.
 * Returns the order as it is now, whether this call changed it, and what the
 * caller delivers (the route, or the hub for a terminal's cancel).
 */
export async function cancelOrder(
  env: Env,
  tenant: Tenant,
  orderId: string,
  source: "staff" | "terminal",
  now: Date,
): Promise<{ order: OrderWithItems; changed: boolean; effects: Effects }> {
  const db = getDb(env);
  const order = await findOrder(db, tenant.id, orderId);
  if (!order) throw new ApiError("not_found", "unknown order");
  if (order.status === "completed") {
    throw new ApiError("conflict", "a completed order cannot be cancelled");
  }
  let changed = false;
  let effects = NO_EFFECTS;
  if (order.paymentStatus === "paid" && order.paymentIntentId) {
    const refund = await startRefund(env, tenant, order.id, now, { cancelNow: true, source });
    changed = refund.outcome === "started";
    effects = refund.effects;
  } else if (order.status !== "cancelled") {
    // Unpaid, or paid at the counter (the money is in the till: staff give it back there).
    ({ changed, effects } = await changeOrderStatus(
      db,
      tenant,
      order.id,
      "cancelled",
      source,
      now,
    ));
    await releaseUnpaidIntent(env, order);
  }
  if (changed && posHasOrder(order)) {
    // The kitchen's POS has it: cancelled there too (services/pos-updates.ts), or staff told.
    await setPosPush(db, tenant.id, order.id, "cancel");
    effects = combine(
      effects,
      effectsOf(tenant, { messages: [posUpdateMessage(tenant.id, order.id)] }),
    );
  } else if (
    changed &&
    (order.posStatus === "synced" || (order.posStatus === "manual" && order.posEnteredAt))
  ) {
    // In the POS under an id we never learnt (or typed in by hand while it was down): only
    // staff can find and void it.
    const alert = await raiseAlert(
      db,
      {
        tenantId: tenant.id,
        kind: "pos_void_needed",
        level: "critical",
        orderId: order.id,
        message: `Order #${order.number} was cancelled in Orderlane but is in the POS: void it there.`,
      },
      now,
    );
    effects = combine(effects, effectsOf(tenant, { events: alert }));
  }
  return { order: (await findOrder(db, tenant.id, order.id)) ?? order, changed, effects };
}
