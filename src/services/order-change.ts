import type { Db } from "../db/client";
import { applyOrderChange, findOrder, type OrderChange, type OrderWithItems } from "../db/orders";
import type { OutboxRecord } from "../db/outbox";
import type { Tenant } from "../db/tenants";
import { orderView } from "../domain/order-view";
import { ApiError } from "../http/errors";

/**
 * The one way every flow changes an existing order: read it, decide, apply
 * the change under the order's revision (its history row and outbox events
 * in the same batch), and decide again on a lost race. Flows return the
 * result; their caller delivers its events.
 */

/** The `order_updated` event for a change of one of the order's three dimensions. */
export function orderUpdatedEvent(
  tenant: Tenant,
  order: OrderWithItems,
  change: "status" | "payment" | "pos",
) {
  return (next: OrderWithItems) => ({
    type: "order_updated" as const,
    payload: { order: orderView(next, tenant.slug), previousStatus: order.status, change },
  });
}

export interface OrderChangeResult {
  order: OrderWithItems;
  changed: boolean;
  /** Outbox rows this call committed, to deliver after the response. */
  events: OutboxRecord[];
}

/**
 * Reads the order, lets `decide` choose a change, and applies it under the
 * order's revision; a lost race reads again and decides again. The one way
 * every service changes an existing order. `known`, an order the caller has
 * just read, saves the first read.
 */
export async function withFreshOrder(
  db: Db,
  tenant: Tenant,
  orderId: string,
  decide: (order: OrderWithItems) => Promise<OrderChange | "unchanged">,
  now: Date,
  known?: OrderWithItems,
): Promise<OrderChangeResult> {
  let order = known;
  for (let attempt = 0; attempt < 3; attempt++) {
    order ??= await findOrder(db, tenant.id, orderId);
    if (!order) throw new ApiError("not_found", "unknown order");
    const change = await decide(order);
    if (change === "unchanged") return { order, changed: false, events: [] };
    const applied = await applyOrderChange(db, order, change, now);
    if (applied) return { order: applied.order, changed: true, events: applied.events };
    order = undefined;
  }
  throw new ApiError("conflict", "the order changed concurrently; read it again and retry");
}

/**
 * A system change of one of the order's dimensions, with its `order_updated`
 * (`change: payment` or `pos`). A POS change that only moves the claim is no
 * news for terminals, so it has no event.
 */
export function dimensionChange(
  dimension: "payment" | "pos",
  tenant: Tenant,
  order: OrderWithItems,
  patch: OrderChange["patch"],
  extra?: OrderChange["extra"],
  extraEvents?: OutboxRecord[],
): OrderChange {
  const news =
    dimension === "payment" ||
    (patch.posStatus !== undefined && patch.posStatus !== order.posStatus);
  return {
    patch,
    source: "system",
    event: news ? orderUpdatedEvent(tenant, order, dimension) : null,
    ...(extra ? { extra } : {}),
    ...(extraEvents ? { extraEvents } : {}),
  };
}

/** A change of the order's payment, with its `order_updated` (change: payment). */
export function paymentChange(
  tenant: Tenant,
  order: OrderWithItems,
  patch: OrderChange["patch"],
  extra?: OrderChange["extra"],
  extraEvents?: OutboxRecord[],
): OrderChange {
  return dimensionChange("payment", tenant, order, patch, extra, extraEvents);
}
