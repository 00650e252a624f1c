import { z } from "@hono/zod-openapi";
import type { MenuItemWithModifiers } from "../db/menu";
import type { OrderWithItems } from "../db/orders";
import type { RefundRow } from "../db/refunds";
import {
  ORDER_STATUSES,
  ORDER_TYPES,
  PAYMENT_STATUSES,
  POS_STATUSES,
  STATUS_SOURCES,
} from "../domain/order-status";
import { MoneySchema } from "../http/router";

/** Shapes shared by more than one audience's routes. */

export const TenantSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    currency: z.string(),
    timezone: z.string(),
    taxRateBps: z.number().int(),
    maxAmount: z.number().int(),
    createdAt: z.string(),
  })
  .openapi("Tenant");

export const ModifierSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    price: MoneySchema,
    posModifierId: z.string().nullable(),
  })
  .openapi("Modifier");

export const MenuItemSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    price: MoneySchema,
    available: z.boolean(),
    posItemId: z.string().nullable(),
    modifiers: z.array(ModifierSchema),
  })
  .openapi("MenuItem");

export const OrderLineSchema = z.object({
  menuItemId: z.string(),
  name: z.string(),
  quantity: z.number().int(),
  unitPrice: MoneySchema,
  modifiers: z.array(z.object({ id: z.string(), name: z.string(), price: MoneySchema })),
  lineTotal: MoneySchema,
  specialInstructions: z.string().nullable(),
});

export const DeliveryAddressSchema = z
  .object({
    line1: z.string().trim().min(1).max(200),
    line2: z.string().trim().max(200).optional(),
    city: z.string().trim().min(1).max(100),
    postalCode: z.string().trim().min(1).max(20),
    region: z.string().trim().max(100).optional(),
    country: z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code"),
    instructions: z.string().trim().max(500).optional(),
  })
  .strict()
  .openapi("DeliveryAddress");

export const CustomerSchema = z
  .object({
    name: z.string().trim().min(1).max(120),
    email: z.email().max(254).optional(),
    phone: z
      .string()
      .regex(/^\+?[0-9 ().-]{6,20}$/, "must be a phone number")
      .optional(),
  })
  .strict();

export const OrderSchema = z
  .object({
    id: z.string(),
    number: z.number().int(),
    tenant: z.string(),
    status: z.enum(ORDER_STATUSES),
    paymentStatus: z.enum(PAYMENT_STATUSES),
    posStatus: z.enum(POS_STATUSES),
    orderType: z.enum(ORDER_TYPES),
    customer: z.object({
      name: z.string(),
      email: z.string().nullable(),
      phone: z.string().nullable(),
    }),
    items: z.array(OrderLineSchema),
    subtotal: MoneySchema,
    discount: MoneySchema,
    tax: MoneySchema,
    tip: MoneySchema,
    total: MoneySchema,
    discountCode: z.string().nullable(),
    specialInstructions: z.string().nullable(),
    deliveryAddress: DeliveryAddressSchema.nullable(),
    scheduledFor: z.string().nullable(),
    externalId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Order");

export const HistoryEntrySchema = z.object({
  from: z.enum(ORDER_STATUSES).nullable(),
  to: z.enum(ORDER_STATUSES),
  source: z.enum(STATUS_SOURCES),
  at: z.string(),
});

/** A refund the processor made for the order, as it last reported it. */
export const RefundSchema = z
  .object({
    id: z.string(),
    amount: MoneySchema,
    status: z.enum(["pending", "requires_action", "succeeded", "failed", "canceled"]),
    note: z.string().nullable().openapi({
      description: "For a refund made outside the platform (refund-settled): what staff wrote.",
    }),
    recordedBy: z
      .object({
        keyId: z.string().openapi({ description: "The API key that recorded it." }),
        label: z.string().openapi({ description: "That key's label." }),
      })
      .nullable()
      .openapi({ description: "Who recorded a refund made outside the platform; null otherwise." }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Refund");

export function refundDto(row: RefundRow) {
  return {
    id: row.id,
    amount: { amount: row.amount, currency: row.currency },
    status: row.status,
    note: row.note,
    recordedBy: row.recordedBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

type Money = z.infer<typeof MoneySchema>;
const money = (amount: number, currency: string): Money => ({ amount, currency });

/** The contract's MenuItem, prices in the tenant's currency. */
export function menuItemDto(
  item: MenuItemWithModifiers,
  currency: string,
): z.infer<typeof MenuItemSchema> {
  return {
    id: item.id,
    name: item.name,
    description: item.description,
    price: money(item.price, currency),
    available: item.available,
    posItemId: item.posItemId,
    modifiers: item.modifiers.map((m) => ({
      id: m.id,
      name: m.name,
      price: money(m.price, currency),
      posModifierId: m.posModifierId,
    })),
  };
}

/** The contract's Order; the tenant is named by its slug. */
export function orderDto(order: OrderWithItems, tenantSlug: string): z.infer<typeof OrderSchema> {
  const c = order.currency;
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
      unitPrice: money(item.unitPrice, c),
      modifiers: item.modifiers.map((m) => ({ id: m.id, name: m.name, price: money(m.price, c) })),
      lineTotal: money(item.lineTotal, c),
      specialInstructions: item.specialInstructions,
    })),
    subtotal: money(order.subtotal, c),
    discount: money(order.discount, c),
    tax: money(order.tax, c),
    tip: money(order.tip, c),
    total: money(order.total, c),
    discountCode: order.discountCode,
    specialInstructions: order.specialInstructions,
    deliveryAddress: order.deliveryAddress ?? null,
    scheduledFor: order.scheduledFor,
    externalId: order.externalId,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}
