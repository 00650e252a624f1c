import type { PosOrder } from "../adapters/pos/types";
import type { StoredOrder } from "./order-view";

/** The POS ids of a menu item and its modifiers (by modifier id), as the menu maps them. */
export interface PosItemMapping {
  posItemId: string | null;
  modifiers: ReadonlyMap<string, string | null>;
}

/**
 * The order in the vendor-neutral shape every POS adapter takes: lines with
 * the POS ids the menu maps them to (null where unmapped: the adapter decides
 * whether that is permanent), the base price without modifiers, and the
 * customer only when the tenant shares it with its POS. Pure: the caller
 * loads the mapping.
 */
export function toPosOrder(
  order: StoredOrder & { createdAt: string },
  mapping: ReadonlyMap<string, PosItemMapping>,
  syncCustomerInfo: boolean,
): PosOrder {
  return {
    orderId: order.id,
    number: order.number,
    orderType: order.orderType,
    customer: syncCustomerInfo
      ? { name: order.customerName, email: order.customerEmail, phone: order.customerPhone }
      : null,
    lines: order.items.map((item) => {
      const mapped = mapping.get(item.menuItemId);
      const modifierTotal = item.modifiers.reduce((sum, m) => sum + m.price * (m.quantity ?? 1), 0);
      return {
        menuItemId: item.menuItemId,
        name: item.name,
        quantity: item.quantity,
        unitPrice: item.unitPrice,
        basePrice: item.unitPrice - modifierTotal,
        posItemId: mapped?.posItemId ?? null,
        // A modifier taken twice is sent twice: every vendor takes a repeated modifier, not all a quantity.
        modifiers: item.modifiers.flatMap((m) =>
          Array.from({ length: m.quantity ?? 1 }, () => ({
            name: m.name,
            price: m.price,
            posModifierId: mapped?.modifiers.get(m.id) ?? null,
          })),
        ),
        specialInstructions: item.specialInstructions,
      };
    }),
    currency: order.currency,
    subtotal: order.subtotal,
    discount: order.discount,
    tax: order.tax,
    tip: order.tip,
    total: order.total,
    specialInstructions: order.specialInstructions,
    scheduledFor: order.scheduledFor,
    deliveryAddress: order.deliveryAddress ?? null,
    createdAt: order.createdAt,
  };
}
