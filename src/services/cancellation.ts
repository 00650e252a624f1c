import { raiseAlert } from "../db/alerts";
import { getDb } from "../db/client";
import { findOrder, type OrderWithItems } from "../db/orders";
import type { OutboxRecord } from "../db/outbox";
import type { Tenant } from "../db/tenants";
import { ApiError } from "../http/errors";
import { releaseUnpaidIntent } from "./capture";
import { changeOrderStatus } from "./orders";
import { startRefund } from "./refunds";

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
    const alert = await raiseAlert(
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
    events = [...events, ...alert];
  }
  return { order: (await findOrder(db, tenant.id, order.id)) ?? order, changed, events };
}
