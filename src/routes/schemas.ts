import { z } from "@hono/zod-openapi";
import type { MenuItemWithModifiers } from "../db/menu";
import type { RefundRow } from "../db/refunds";
import type { SyncAttemptRow } from "../db/sync-attempts";
import { availableAgainAt, isAvailableAt } from "../domain/availability";
import {
  ORDER_STATUSES,
  ORDER_TYPES,
  PAYMENT_STATUSES,
  POS_STATUSES,
  STATUS_SOURCES,
} from "../domain/order-status";
import { ErrorBodySchema } from "../http/errors";
import { MoneySchema } from "../http/router";

/** Shapes shared by more than one audience's routes. */

/** An ISO 8601 UTC time the server wrote, as `Date#toISOString` gives it. */
export const serverTime = (what: string) =>
  z.string().describe(`${what}, ISO 8601 UTC (\`2026-05-01T18:30:00.000Z\`).`);

export const TenantSchema = z
  .object({
    id: z.string().describe("The tenant's id: `ten_` and 26 characters; opaque."),
    slug: z.string().describe("The tenant's slug, which every tenant path uses."),
    name: z.string().describe("The restaurant's name, as customers see it."),
    currency: z
      .string()
      .describe("ISO 4217 code of every amount the tenant prices and accepts (`USD`)."),
    timezone: z.string().describe("IANA time zone of the restaurant (`America/New_York`)."),
    taxRateBps: z
      .number()
      .int()
      .describe(
        "Sales tax in basis points of the subtotal after discount: 875 is 8.75 %; 0–10 000.",
      ),
    maxAmount: z
      .number()
      .int()
      .describe(
        "The largest amount, in minor units, accepted for any price, modifier, tip, discount or order total: 1 to 100 000 000 (the platform's ceiling, 1 000 000.00).",
      ),
    createdAt: serverTime("When the tenant was created"),
  })
  .openapi("Tenant", { description: "A restaurant on the platform." });

export const ModifierSchema = z
  .object({
    id: z.string().describe("The modifier's id: `mod_` and 26 characters."),
    name: z.string().describe("What the customer sees (`Extra cheese`)."),
    price: MoneySchema.openapi({
      description: "Added to the item's unit price for each unit ordered with it; may be 0.",
    }),
    groupId: z
      .string()
      .nullable()
      .describe(
        "The `id` of its group in `modifierGroups`; null for a free extra outside any group.",
      ),
    maxQuantity: z
      .number()
      .int()
      .describe(
        "How many of it one line may take: its id may appear that many times in `modifierIds`.",
      ),
    available: z.boolean().describe("Whether it can be chosen now (false while 86'd)."),
    availableAgainAt: z
      .string()
      .nullable()
      .describe("When an 86 with an end ends by itself; null otherwise."),
    posModifierId: z
      .string()
      .nullable()
      .describe(
        "The modifier's id in the tenant's POS (Toast: `<option group GUID>/<modifier GUID>`), or null when not mapped.",
      ),
  })
  .openapi("Modifier", { description: "An option a customer may add to a menu item." });

export const ModifierGroupSchema = z
  .object({
    id: z.string().describe("The group's id: `mgp_` and 26 characters."),
    name: z.string().describe("What the customer sees (`Size`, `Extras`)."),
    minSelections: z
      .number()
      .int()
      .describe(
        "A line must take at least this many of the group's modifiers (quantities counted).",
      ),
    maxSelections: z
      .number()
      .int()
      .nullable()
      .describe("And at most this many; null for no upper bound."),
    posGroupId: z.string().nullable().describe("The group's id in the POS; null when not mapped."),
  })
  .openapi("ModifierGroup", {
    description:
      "A rule over some of an item's modifiers: `Size` exactly one, `Extras` up to three.",
  });

export const MenuCategorySchema = z
  .object({
    id: z.string().describe("The category's id: `cat_` and 26 characters."),
    name: z.string().describe("The heading the menu shows."),
    sortOrder: z.number().int().describe("Lower first."),
  })
  .openapi("MenuCategory", { description: "A heading of the menu." });

export const MenuItemSchema = z
  .object({
    id: z.string().describe("The item's id: `itm_` and 26 characters; `menuItemId` in a draft."),
    name: z.string().describe("What the customer sees."),
    description: z.string().describe("A longer text for the menu; may be empty. Kept by a sync."),
    photoUrl: z.string().nullable().describe("A picture of the dish; kept by a sync."),
    categoryId: z.string().nullable().describe("Its category's `id`, or null."),
    sortOrder: z.number().int().describe("Lower first within the menu; kept by a sync."),
    price: MoneySchema.openapi({ description: "The price of one, before modifiers." }),
    available: z
      .boolean()
      .describe(
        "Whether it can be ordered now (not 86'd by staff, in stock in the POS); the storefront menu lists available items only, and a draft naming an unavailable one is refused with 409 `item_unavailable`.",
      ),
    availableAgainAt: z
      .string()
      .nullable()
      .describe("When an 86 with an end ends by itself; null otherwise."),
    posAvailable: z.boolean().describe("The POS's own word on stock (a sync or a stock webhook)."),
    posItemId: z
      .string()
      .nullable()
      .describe(
        "The item's id in the tenant's POS (Toast: `<menu group GUID>/<item GUID>`), or null when not mapped.",
      ),
    syncedAt: z
      .string()
      .nullable()
      .describe("When a menu sync last found it in the POS; null for an item made here."),
    modifiers: z
      .array(ModifierSchema)
      .describe(
        "Every option of the item, grouped ones and free extras, in order. A line may take each up to its `maxQuantity`.",
      ),
    modifierGroups: z
      .array(ModifierGroupSchema)
      .describe(
        "The rules over its modifiers; a draft breaking one is refused with 400 naming the group.",
      ),
  })
  .openapi("MenuItem", { description: "A dish or drink on the tenant's menu." });

/** A menu item as storefronts see it: without the POS mapping, which is the restaurant's business. */
export const PublicMenuItemSchema = MenuItemSchema.omit({
  posItemId: true,
  posAvailable: true,
  syncedAt: true,
  availableAgainAt: true,
  modifiers: true,
  modifierGroups: true,
})
  .extend({
    modifiers: z
      .array(ModifierSchema.omit({ posModifierId: true, availableAgainAt: true }))
      .describe(
        "The options that can be chosen now, in order; a line may take each up to its `maxQuantity`.",
      ),
    modifierGroups: z
      .array(ModifierGroupSchema.omit({ posGroupId: true }))
      .describe(
        "The rules a line must keep: between `minSelections` and `maxSelections` of each group.",
      ),
  })
  .openapi("PublicMenuItem", {
    description: "A dish or drink on the menu, as a storefront shows it (no POS ids).",
  });

export const OrderLineSchema = z.object({
  menuItemId: z.string().describe("The menu item ordered (`itm_…`)."),
  name: z.string().describe("The item's name when the order was priced."),
  quantity: z.number().int().describe("How many, 1–99."),
  unitPrice: MoneySchema.openapi({
    description: "The item's price plus its selected modifiers' prices, for one.",
  }),
  modifiers: z
    .array(
      z.object({
        id: z.string().describe("The modifier's id (`mod_…`)."),
        name: z.string().describe("The modifier's name when the order was priced."),
        price: MoneySchema.openapi({ description: "The modifier's price, for one unit." }),
        quantity: z
          .number()
          .int()
          .describe("How many of it on each unit of the line (its id given that many times)."),
      }),
    )
    .describe("The modifiers selected for this line, with the prices charged."),
  lineTotal: MoneySchema.openapi({ description: "`unitPrice` × `quantity`." }),
  specialInstructions: z
    .string()
    .nullable()
    .describe("The customer's note for this line (`no onions`), or null."),
});

export const DeliveryAddressSchema = z
  .object({
    line1: z.string().trim().min(1).max(200).describe("Street and number; 1–200 characters."),
    line2: z
      .string()
      .trim()
      .max(200)
      .optional()
      .describe("Apartment, floor or building; at most 200 characters."),
    city: z.string().trim().min(1).max(100).describe("City or town; 1–100 characters."),
    postalCode: z.string().trim().min(1).max(20).describe("Postal or ZIP code; 1–20 characters."),
    region: z
      .string()
      .trim()
      .max(100)
      .optional()
      .describe("State, province or region; at most 100 characters."),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code")
      .describe("ISO 3166-1 alpha-2 country code, upper case (`US`)."),
    instructions: z
      .string()
      .trim()
      .max(500)
      .optional()
      .describe("A note for the courier (`ring twice`); at most 500 characters."),
  })
  .strict()
  .openapi("DeliveryAddress", {
    description: "Where a delivery order goes. Unknown fields are refused.",
  });

export const CustomerSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(120)
      .describe("The name the order is called out under; 1–120 characters."),
    email: z
      .email()
      .max(254)
      .optional()
      .describe("For the receipt and notifications; at most 254 characters."),
    phone: z
      .string()
      .regex(/^\+?[0-9 ().-]{6,20}$/, "must be a phone number")
      .optional()
      .describe(
        "6–20 digits, spaces and `( ) . -`, optionally after a `+` (`+1 555 010 0100`); some POS (Toast) need one.",
      ),
  })
  .strict()
  .describe("Who the order is for. Unknown fields are refused.");

/** How an order's and a preview's amounts are computed (src/domain/pricing.ts), said once. */
export const PRICED_TOTALS = {
  subtotal: MoneySchema.openapi({ description: "Σ `lineTotal`." }),
  discount: MoneySchema.openapi({
    description:
      "Taken off by `discountCode`: a percent of the subtotal (rounded half up) or a fixed amount, never more than the subtotal; 0 without a code.",
  }),
  tax: MoneySchema.openapi({
    description:
      "The tenant's `taxRateBps` of (subtotal − discount), rounded half up to a minor unit.",
  }),
};

export const OrderSchema = z
  .object({
    id: z.string().describe("The order's id: `ord_` and 26 characters, sorting by creation."),
    number: z
      .number()
      .int()
      .describe("The tenant's order number, counting from 1 without gaps: what staff call out."),
    tenant: z.string().describe("The tenant's slug."),
    status: z
      .enum(ORDER_STATUSES)
      .describe(
        "Where the order is: `pending_payment` → `confirmed` (paid) → `preparing` → `ready` → (`out_for_delivery` →) `completed`; steps may be skipped, and `cancelled` can follow any state but `completed`.",
      ),
    paymentStatus: z
      .enum(PAYMENT_STATUSES)
      .describe(
        "Where the money is: `unpaid`, then `paid`; `failed` when the payment was declined (the order is cancelled); a paid order that is cancelled goes `refund_pending` → `refunded`, or `refund_failed` for staff to settle.",
      ),
    posStatus: z
      .enum(POS_STATUSES)
      .describe(
        "Whether the restaurant's POS has it: `not_required` (no POS, or not paid yet), `manual` (paid while the POS was down: staff enter it in the POS by hand, then `POST …/entered-in-pos`), `queued`, `retrying` after a failed attempt, `synced`, or `failed` when the POS refused it for good.",
      ),
    orderType: z.enum(ORDER_TYPES).describe("How the customer gets the order."),
    customer: z
      .object({
        name: z.string().describe("The name the order is called out under."),
        email: z.string().nullable().describe("The customer's email, or null."),
        phone: z.string().nullable().describe("The customer's phone number as given, or null."),
      })
      .describe("Who the order is for."),
    items: z.array(OrderLineSchema).describe("The lines, in the order the draft listed them."),
    ...PRICED_TOTALS,
    tip: MoneySchema.openapi({ description: "The customer's tip; neither taxed nor discounted." }),
    total: MoneySchema.openapi({
      description: "subtotal − discount + tax + tip: what the customer pays.",
    }),
    discountCode: z.string().nullable().describe("The discount code applied, upper case, or null."),
    specialInstructions: z
      .string()
      .nullable()
      .describe("The customer's note for the order, or null."),
    // `z.union` rather than `.nullable()`: zod-to-openapi writes a nullable $ref as
    // `allOf: [$ref, { type: [object, null] }]`, which null cannot satisfy
    // (https://github.com/asteasolutions/zod-to-openapi/pull/387).
    deliveryAddress: z
      .union([DeliveryAddressSchema, z.null()])
      .describe("Where a delivery order goes; null for pickup and dine-in."),
    scheduledFor: z
      .string()
      .nullable()
      .describe(
        "When the customer wants it, ISO 8601 exactly as the draft gave it (with its UTC offset); null for as soon as possible.",
      ),
    estimatedReadyAt: z
      .string()
      .nullable()
      .describe(
        "When the tenant's POS expects the order ready, ISO 8601 UTC, where the POS said so when it took the order; else null.",
      ),
    externalId: z
      .string()
      .nullable()
      .describe("The order's id in the tenant's POS once the POS has it, else null."),
    posEnteredAt: z
      .string()
      .nullable()
      .describe(
        "A manual-entry order (`posStatus` `manual`): when staff marked it entered in the POS by hand, ISO 8601 UTC; null before, and for every other order.",
      ),
    createdAt: serverTime("When the order was placed"),
    updatedAt: serverTime("When the order last changed"),
  })
  .openapi("Order", {
    description:
      "An order, priced by the server from the menu as stored; amounts in the tenant's currency.",
  });

export const HistoryEntrySchema = z.object({
  from: z
    .enum(ORDER_STATUSES)
    .nullable()
    .describe("The status before the change; null for the order's creation."),
  to: z.enum(ORDER_STATUSES).describe("The status after the change."),
  source: z
    .enum(STATUS_SOURCES)
    .describe(
      "Who made the change: the storefront, Stripe, the POS, a terminal, staff or the system.",
    ),
  at: serverTime("When it changed"),
});

/** A refund the processor made for the order, as it last reported it. */
export const RefundSchema = z
  .object({
    id: z
      .string()
      .describe(
        "The processor's refund id (Stripe `re_…`), to find it in its dashboard; `manual_<order id>` for a refund staff made outside the platform.",
      ),
    amount: MoneySchema.openapi({ description: "How much was refunded." }),
    status: z
      .enum(["pending", "requires_action", "succeeded", "failed", "canceled"])
      .describe("The refund's state in the processor's words."),
    note: z
      .string()
      .nullable()
      .describe("For a refund made outside the platform (`refund-settled`): what staff wrote."),
    recordedBy: z
      .object({
        keyId: z.string().describe("The API key that recorded it (`key_…`)."),
        label: z.string().describe("That key's label."),
      })
      .nullable()
      .describe("Who recorded a refund made outside the platform; null for the processor's."),
    createdAt: serverTime("When the refund was recorded"),
    updatedAt: serverTime("When the processor last reported on it"),
  })
  .openapi("Refund", { description: "A refund the payment processor made for the order." });

export const SyncAttemptSchema = z
  .object({
    id: z.string().describe("The attempt's id: `att_` and 26 characters, sorting by time."),
    orderId: z.string().describe("The order sent (`ord_…`)."),
    provider: z.string().describe("The POS provider it was sent to."),
    attempt: z.number().int().describe("Which try this was for the order, from 1."),
    status: z
      .enum(["success", "retryable_error", "permanent_error"])
      .describe(
        "`success`; `retryable_error` (network, timeout, 5xx, 429: tried again later); `permanent_error` (refused: not tried again).",
      ),
    errorCode: z
      .string()
      .nullable()
      .describe("Our classification of the failure (`timeout`, `rejected`, …); null on success."),
    errorMessage: z.string().nullable().describe("What the POS said, cut short; null on success."),
    durationMs: z.number().int().describe("How long the attempt took, in milliseconds."),
    posOrderId: z
      .string()
      .nullable()
      .describe("The order's id in the POS when the attempt succeeded, else null."),
    startedAt: serverTime("When the attempt started"),
  })
  .openapi("SyncAttempt", { description: "One try at sending an order to the POS." });

/** Named schemas more than one route module uses; see `registerComponents`. */
export const SHARED_COMPONENTS = {
  Money: MoneySchema,
  Error: ErrorBodySchema,
  Tenant: TenantSchema,
  Modifier: ModifierSchema,
  MenuItem: MenuItemSchema,
  ModifierGroup: ModifierGroupSchema,
  MenuCategory: MenuCategorySchema,
  DeliveryAddress: DeliveryAddressSchema,
  Order: OrderSchema,
  Refund: RefundSchema,
};

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

type Money = z.infer<typeof MoneySchema>;
const money = (amount: number, currency: string): Money => ({ amount, currency });

/** The contract's MenuItem as at `now`, prices in the tenant's currency. */
export function menuItemDto(
  item: MenuItemWithModifiers,
  currency: string,
  now: Date,
): z.infer<typeof MenuItemSchema> {
  return {
    id: item.id,
    name: item.name,
    description: item.description,
    photoUrl: item.photoUrl,
    categoryId: item.categoryId,
    sortOrder: item.sortOrder,
    price: money(item.price, currency),
    available: isAvailableAt(item, now),
    availableAgainAt: availableAgainAt(item, now),
    posAvailable: item.posAvailable,
    posItemId: item.posItemId,
    syncedAt: item.syncedAt,
    modifiers: item.modifiers.map((m) => ({
      id: m.id,
      name: m.name,
      price: money(m.price, currency),
      groupId: m.groupId,
      maxQuantity: m.maxQuantity,
      available: isAvailableAt(m, now),
      availableAgainAt: availableAgainAt(m, now),
      posModifierId: m.posModifierId,
    })),
    modifierGroups: item.modifierGroups.map((g) => ({
      id: g.id,
      name: g.name,
      minSelections: g.minSelections,
      maxSelections: g.maxSelections,
      posGroupId: g.posGroupId,
    })),
  };
}

export function menuCategoryDto(row: {
  id: string;
  name: string;
  sortOrder: number;
}): z.infer<typeof MenuCategorySchema> {
  return { id: row.id, name: row.name, sortOrder: row.sortOrder };
}

/** The storefront's MenuItem at `now`: without POS ids, and only the modifiers on sale. */
export function publicMenuItemDto(
  item: MenuItemWithModifiers,
  currency: string,
  now: Date,
): z.infer<typeof PublicMenuItemSchema> {
  const {
    posItemId: _item,
    posAvailable: _stock,
    syncedAt: _synced,
    availableAgainAt: _again,
    modifiers,
    modifierGroups,
    ...rest
  } = menuItemDto(item, currency, now);
  return {
    ...rest,
    modifiers: modifiers
      .filter((m) => m.available)
      .map(({ posModifierId: _mod, availableAgainAt: _at, ...m }) => m),
    modifierGroups: modifierGroups.map(({ posGroupId: _group, ...g }) => g),
  };
}

export function syncAttemptDto(row: SyncAttemptRow): z.infer<typeof SyncAttemptSchema> {
  return {
    id: row.id,
    orderId: row.orderId,
    provider: row.provider,
    attempt: row.attempt,
    status: row.status,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    durationMs: row.durationMs,
    posOrderId: row.posOrderId,
    startedAt: row.startedAt,
  };
}
