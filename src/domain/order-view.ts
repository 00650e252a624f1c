import type { OrderStatus, OrderType, PaymentStatus, PosStatus } from "./order-status";

/**
 * The order as every client sees it (the contract's `Order`): storefronts,
 * staff, terminals and the outbox events all show this one view. Pure: it
 * maps stored fields to the contract's names and money to `{ amount, currency }`.
 */

export interface Money {
  amount: number;
  currency: string;
}

/** What the view reads of a stored order (a D1 row with its lines). */
export interface StoredOrder {
  id: string;
  number: number;
  status: OrderStatus;
  paymentStatus: PaymentStatus;
  posStatus: PosStatus;
  orderType: OrderType;
  customerName: string;
  customerEmail: string | null;
  customerPhone: string | null;
  currency: string;
  subtotal: number;
  discount: number;
  tax: number;
  tip: number;
  total: number;
  discountCode: string | null;
  specialInstructions: string | null;
  deliveryAddress: DeliveryAddressView | null;
  scheduledFor: string | null;
  estimatedReadyAt: string | null;
  externalId: string | null;
  posEnteredAt: string | null;
  createdAt: string;
  updatedAt: string;
  items: {
    menuItemId: string;
    name: string;
    quantity: number;
    unitPrice: number;
    modifiers: { id: string; name: string; price: number; quantity?: number }[];
    lineTotal: number;
    specialInstructions: string | null;
  }[];
}

export interface DeliveryAddressView {
  line1: string;
  line2?: string | undefined;
  city: string;
  postalCode: string;
  region?: string | undefined;
  country: string;
  instructions?: string | undefined;
}

export interface OrderView {
  id: string;
  number: number;
  tenant: string;
  status: OrderStatus;
  paymentStatus: PaymentStatus;
  posStatus: PosStatus;
  orderType: OrderType;
  customer: { name: string; email: string | null; phone: string | null };
  items: {
    menuItemId: string;
    name: string;
    quantity: number;
    unitPrice: Money;
    modifiers: { id: string; name: string; price: Money; quantity: number }[];
    lineTotal: Money;
    specialInstructions: string | null;
  }[];
  subtotal: Money;
  discount: Money;
  tax: Money;
  tip: Money;
  total: Money;
  discountCode: string | null;
  specialInstructions: string | null;
  deliveryAddress: DeliveryAddressView | null;
  scheduledFor: string | null;
  estimatedReadyAt: string | null;
  externalId: string | null;
  /** A manual-entry order (`posStatus: manual`): when staff typed it into the POS; null before. */
  posEnteredAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The contract's Order for a stored order; the tenant is named by its slug. */
export function orderView(order: StoredOrder, tenantSlug: string): OrderView {
  const money = (amount: number): Money => ({ amount, currency: order.currency });
  return {
    id: order.id,
    number: order.number,
    tenant: tenantSlug,
    status: order.status,
    paymentStatus: order.paymentStatus,
    posStatus: order.posStatus,
    orderType: order.orderType,
    customer: {
      name: order.customerName,
      email: order.customerEmail,
      phone: order.customerPhone,
    },
    items: order.items.map((item) => ({
      menuItemId: item.menuItemId,
      name: item.name,
      quantity: item.quantity,
      unitPrice: money(item.unitPrice),
      modifiers: item.modifiers.map((m) => ({
        id: m.id,
        name: m.name,
        price: money(m.price),
        quantity: m.quantity ?? 1,
      })),
      lineTotal: money(item.lineTotal),
      specialInstructions: item.specialInstructions,
    })),
    subtotal: money(order.subtotal),
    discount: money(order.discount),
    tax: money(order.tax),
    tip: money(order.tip),
    total: money(order.total),
    discountCode: order.discountCode,
    specialInstructions: order.specialInstructions,
    deliveryAddress: order.deliveryAddress ?? null,
    scheduledFor: order.scheduledFor,
    estimatedReadyAt: order.estimatedReadyAt,
    externalId: order.externalId,
    posEnteredAt: order.posEnteredAt,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}
