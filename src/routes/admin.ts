import { createRoute, z } from "@hono/zod-openapi";
import {
  countActiveOwnerKeys,
  createApiKey,
  findApiKey,
  listApiKeys,
  revokeApiKey,
} from "../db/api-keys";
import { isConstraintError } from "../db/client";
import { createDiscount, listDiscounts } from "../db/discounts";
import {
  createMenuItem,
  deleteMenuItem,
  findMenuItem,
  listMenuItems,
  type ModifierInput,
  updateMenuItem,
} from "../db/menu";
import { findOrder, listOrderHistory, listOrders } from "../db/orders";
import { listRefunds } from "../db/refunds";
import { listSyncAttempts } from "../db/sync-attempts";
import { type Tenant, updateTenantSettings } from "../db/tenants";
import { deliverAfterResponse } from "../delivery";
import { ORDER_STATUSES, PAYMENT_STATUSES, POS_STATUSES } from "../domain/order-status";
import { orderView } from "../domain/order-view";
import { PLATFORM_MAX_AMOUNT } from "../domain/pricing";
import { requireRole } from "../http/auth";
import { normalizeOrigin } from "../http/cors";
import { ApiError } from "../http/errors";
import {
  createRouter,
  errorResponses,
  jsonBody,
  jsonContent,
  keySecurity,
  MoneySchema,
  PageQuery,
  pageSchema,
  registerComponents,
  requireWithinLimit,
  TenantParam,
} from "../http/router";
import { cancelOrder } from "../services/cancellation";
import { confirmOrderAndQueue } from "../services/confirmation";
import { effectsOf } from "../services/effects";
import { changeOrderStatus } from "../services/orders";
import { retryRefund, settleRefundByHand } from "../services/refunds";
import { SyncAttemptSchema, syncAttemptDto } from "./pos-sync";
import {
  HistoryEntrySchema,
  MenuItemSchema,
  menuItemDto,
  OrderSchema,
  RefundSchema,
  refundDto,
  serverTime,
} from "./schemas";

const idParams = (what: string) =>
  TenantParam.extend({
    id: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: "id", in: "path" }, description: what }),
  });
const ItemIdParams = idParams("The menu item's `id` (`itm_…`).");
const OrderIdParams = idParams("The order's `id` (`ord_…`).");
const KeyIdParams = idParams("The API key's `id` (`key_…`), from `GET …/keys`.");

/** Origins a tenant may list per setting. */
const MAX_ORIGINS = 20;

const posId = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(100)
    .nullable()
    .optional()
    .describe(`${what}; null or absent when not mapped. 1–100 characters.`);

const ModifierInputSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        "On PATCH, the `id` (`mod_…`) of one of this item's modifiers to keep it (and its id); absent for a new one. Refused on create.",
      ),
    name: z.string().trim().min(1).max(100).describe("What the customer sees; 1–100 characters."),
    price: MoneySchema.openapi({
      description: "Added to the item's price per unit; in the tenant's currency, may be 0.",
    }),
    posModifierId: posId(
      "The modifier's id in the POS (Toast: `<option group GUID>/<modifier GUID>`)",
    ),
  })
  .strict()
  .describe("A modifier of the item. Unknown fields are refused.");

const MenuItemFields = {
  name: z.string().trim().min(1).max(120).describe("What the customer sees; 1–120 characters."),
  description: z
    .string()
    .trim()
    .max(1000)
    .optional()
    .describe("A longer text for the menu; at most 1000 characters, empty when absent."),
  price: MoneySchema.openapi({
    description: "The price of one, before modifiers, in the tenant's currency.",
  }),
  available: z
    .boolean()
    .optional()
    .describe("Whether it can be ordered; true when absent on create."),
  posItemId: posId("The item's id in the POS (Toast: `<menu group GUID>/<item GUID>`)"),
  modifiers: z
    .array(ModifierInputSchema)
    .max(30)
    .optional()
    .describe(
      "At most 30. On PATCH the list replaces the item's modifiers: those not listed are removed.",
    ),
};

const CreateMenuItemSchema = z
  .object(MenuItemFields)
  .strict()
  .openapi("CreateMenuItem", { description: "A new menu item. Unknown fields are refused." });
const UpdateMenuItemSchema = z
  .object(MenuItemFields)
  .partial()
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "at least one field is required")
  .openapi("UpdateMenuItem", {
    description: "The fields to change, at least one; the others keep their values.",
  });

const CreateDiscountSchema = z
  .object({
    code: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{3,40}$/, "must be 3–40 letters, digits, - or _")
      .describe("3–40 letters, digits, `-` or `_`; stored upper case, matched in any case."),
    kind: z
      .enum(["percent", "fixed"])
      .describe("`percent` of the subtotal, or a `fixed` amount off."),
    value: z
      .number()
      .int()
      .positive()
      .max(PLATFORM_MAX_AMOUNT)
      .describe(
        "For `percent`, whole percent, 1–100 (10 is 10 %); for `fixed`, minor units of the tenant's currency, at most its `maxAmount`.",
      ),
    minSubtotal: z
      .number()
      .int()
      .nonnegative()
      .max(PLATFORM_MAX_AMOUNT)
      .optional()
      .describe(
        "The subtotal, in minor units, an order needs for the code to apply; 0 when absent.",
      ),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        "When the code stops working: ISO 8601 date and time with `Z` or an offset; never when absent.",
      ),
    maxUses: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("How many orders may use it in all; unlimited when absent."),
  })
  .strict()
  .refine((d) => d.kind !== "percent" || d.value <= 100, {
    path: ["value"],
    message: "a percent discount is 1–100",
  })
  .openapi("CreateDiscount", { description: "A new discount code. Unknown fields are refused." });

const DiscountSchema = z
  .object({
    id: z.string().describe("The discount's id: `dsc_` and 26 characters."),
    code: z.string().describe("The code, upper case."),
    kind: z
      .enum(["percent", "fixed"])
      .describe("`percent` of the subtotal, or a `fixed` amount off."),
    value: z
      .number()
      .int()
      .describe("For `percent`, whole percent (1–100); for `fixed`, minor units."),
    minSubtotal: MoneySchema.openapi({
      description: "The subtotal an order needs for the code to apply; 0 for none.",
    }),
    expiresAt: z
      .string()
      .nullable()
      .describe("When the code stops working, ISO 8601 as it was set; null for never."),
    maxUses: z.number().int().nullable().describe("How many orders may use it; null for no limit."),
    usedCount: z.number().int().describe("How many orders have used it."),
    createdAt: serverTime("When the code was created"),
  })
  .openapi("Discount", { description: "A discount code." });

const ApiKeySchema = z
  .object({
    id: z.string().describe("The key's id: `key_` and 26 characters (not the key itself)."),
    role: z
      .enum(["owner", "staff", "terminal"])
      .describe("What the key may do: owner ⊃ staff ⊃ terminal."),
    label: z.string().describe("The name it was given (`front counter`)."),
    prefix: z.string().describe("The key's first characters, to recognise it."),
    createdAt: serverTime("When the key was created"),
    revokedAt: z
      .string()
      .nullable()
      .describe("When it was revoked, ISO 8601 UTC; null while it works."),
  })
  .openapi("ApiKey", { description: "An API key of the tenant, without its secret." });

const OriginList = z
  .array(
    z
      .string()
      .max(200)
      .transform((text, ctx) => {
        const origin = normalizeOrigin(text);
        if (!origin) {
          ctx.addIssue({
            code: "custom",
            message:
              "must be an origin such as https://shop.example.com (scheme, host, port; no path)",
          });
          return z.NEVER;
        }
        return origin;
      }),
  )
  .max(MAX_ORIGINS)
  .transform((list) => [...new Set(list)]);

const SettingsSchema = z
  .object({
    allowedOrigins: z.array(z.string()).openapi({
      description:
        "Origins whose pages may call the storefront routes from a browser (CORS); empty means any origin.",
    }),
    consoleOrigins: z.array(z.string()).openapi({
      description:
        "Origins of consoles that may call the staff and POS routes from a browser; the Worker's own origin always may.",
    }),
  })
  .openapi("TenantSettings", { description: "The tenant's web settings." });

const UpdateSettingsSchema = z
  .object({
    allowedOrigins: OriginList.optional().openapi({
      description: `Replaces the storefront origins (at most ${MAX_ORIGINS}); [] allows any.`,
    }),
    consoleOrigins: OriginList.optional().openapi({
      description: `Replaces the console origins (at most ${MAX_ORIGINS}).`,
    }),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "at least one field is required")
  .openapi("UpdateTenantSettings");

const OrderCursor = z.string().regex(/^\d{1,12}$/, "is not a cursor from this list");

const NO_TENANT = { code: "not_found", when: "no tenant has this slug" } as const;
const NO_ORDER = {
  code: "not_found",
  when: "no tenant has this slug, or it has no such order",
} as const;

const OrderOut = OrderSchema.openapi({ description: "The order." });
const MenuItemOut = MenuItemSchema.openapi({ description: "The menu item." });

const admin = createRouter();
registerComponents(admin.openAPIRegistry, {
  TenantSettings: SettingsSchema,
  CreateMenuItem: CreateMenuItemSchema,
  UpdateMenuItem: UpdateMenuItemSchema,
  CreateDiscount: CreateDiscountSchema,
  Discount: DiscountSchema,
  ApiKey: ApiKeySchema,
});
admin.use("/v1/admin/:tenant/*", requireRole("staff"));
const ownerOnly = requireRole("owner");

// ---- menu ----

const listMenuRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/menu/items",
  tags: ["admin: menu"],
  summary: "Every menu item, available or not",
  description:
    "The whole menu as staff manage it, unavailable items included, with POS ids. Storefronts read `GET /v1/stores/{tenant}/menu` instead.",
  security: keySecurity("staff"),
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(MenuItemSchema).describe("Every item, oldest first.") }),
      "The menu.",
    ),
    ...errorResponses(NO_TENANT),
  },
});

const createMenuItemRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/menu/items",
  tags: ["admin: menu"],
  summary: "Add a menu item with its modifiers (owner)",
  description:
    "Adds an item; the server assigns its id and its modifiers' ids. Prices are in the tenant's currency, at most its `maxAmount`.",
  security: keySecurity("owner"),
  middleware: ownerOnly,
  request: { params: TenantParam, body: jsonBody(CreateMenuItemSchema) },
  responses: {
    201: jsonContent(z.object({ item: MenuItemOut }), "Created."),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the body does not match `CreateMenuItem`, a price is in another currency or over the tenant's `maxAmount`, or a modifier names an `id`",
      },
      "malformed_json",
      NO_TENANT,
    ),
  },
});

const updateMenuItemRoute = createRoute({
  method: "patch",
  path: "/v1/admin/{tenant}/menu/items/{id}",
  tags: ["admin: menu"],
  summary: "Change a menu item; a modifiers list replaces the item's modifiers (owner)",
  description:
    "Changes the fields given. A `modifiers` list replaces the item's modifiers: a listed one with the `id` of an existing modifier keeps that id, one without an id is new, and those not listed are removed. Past orders keep their copy of the item.",
  security: keySecurity("owner"),
  middleware: ownerOnly,
  request: { params: ItemIdParams, body: jsonBody(UpdateMenuItemSchema) },
  responses: {
    200: jsonContent(z.object({ item: MenuItemOut }), "The item after the change."),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the body does not match `UpdateMenuItem` (or is empty), a price is in another currency or over the tenant's `maxAmount`, or a modifier `id` is not one of this item's",
      },
      "malformed_json",
      { code: "not_found", when: "no tenant has this slug, or it has no such menu item" },
    ),
  },
});

const deleteMenuItemRoute = createRoute({
  method: "delete",
  path: "/v1/admin/{tenant}/menu/items/{id}",
  tags: ["admin: menu"],
  summary: "Remove a menu item; past orders keep their copy of it (owner)",
  description:
    "Removes the item and its modifiers from the menu. Orders placed with it keep their own copy of its name and prices.",
  security: keySecurity("owner"),
  middleware: ownerOnly,
  request: { params: ItemIdParams },
  responses: {
    204: { description: "Deleted." },
    ...errorResponses({
      code: "not_found",
      when: "no tenant has this slug, or it has no such menu item",
    }),
  },
});

// ---- discounts ----

const createDiscountRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/discounts",
  tags: ["admin: discounts"],
  summary: "Create a discount code (owner); percent value is whole percent, fixed is minor units",
  description:
    "Creates a code customers enter as `discountCode`. A `percent` code takes whole percent of the subtotal (rounded half up); a `fixed` one takes minor units, never more than the subtotal.",
  security: keySecurity("owner"),
  middleware: ownerOnly,
  request: { params: TenantParam, body: jsonBody(CreateDiscountSchema) },
  responses: {
    201: jsonContent(
      z.object({ discount: DiscountSchema.openapi({ description: "The new code." }) }),
      "Created.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the body does not match `CreateDiscount` (a percent over 100, for one), or a fixed value or minimum subtotal is over the tenant's `maxAmount`",
      },
      "malformed_json",
      NO_TENANT,
      { code: "conflict", when: "the tenant already has this code (in any case)" },
    ),
  },
});

const listDiscountsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/discounts",
  tags: ["admin: discounts"],
  summary: "The tenant's discount codes",
  description: "Every discount code, newest first, expired and used-up ones included.",
  security: keySecurity("staff"),
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(DiscountSchema).describe("The codes, newest first.") }),
      "Discount codes.",
    ),
    ...errorResponses(NO_TENANT),
  },
});

// ---- orders ----

const listOrdersRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/orders",
  tags: ["admin: orders"],
  summary: "Orders, newest first",
  description:
    "A page of the tenant's orders, newest first, optionally only those in one `status`, `posStatus` or `paymentStatus` (`paymentStatus=refund_failed` lists the refunds to settle by hand).",
  security: keySecurity("staff"),
  request: {
    params: TenantParam,
    query: PageQuery.extend({
      cursor: OrderCursor.optional().describe(
        "The `nextCursor` of the previous page (an order number); absent for the first page.",
      ),
      status: z.enum(ORDER_STATUSES).optional().describe("Only orders in this status."),
      posStatus: z.enum(POS_STATUSES).optional().describe("Only orders with this POS status."),
      paymentStatus: z
        .enum(PAYMENT_STATUSES)
        .optional()
        .describe("Only orders with this payment status."),
    }),
  },
  responses: {
    200: jsonContent(pageSchema(OrderSchema), "A page of orders."),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "`limit` is not 1–200, `cursor` is not from this list, or a filter is not one of its values",
      },
      NO_TENANT,
    ),
  },
});

const getOrderRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/orders/{id}",
  tags: ["admin: orders"],
  summary: "One order with its status history",
  description:
    "The order with everything staff need to follow it: every status change, every POS submission attempt and every refund.",
  security: keySecurity("staff"),
  request: { params: OrderIdParams },
  responses: {
    200: jsonContent(
      z.object({
        order: OrderOut,
        history: z
          .array(HistoryEntrySchema)
          .describe("Every status change, oldest first, from the order's creation."),
        syncAttempts: z
          .array(SyncAttemptSchema)
          .describe("Every attempt to send it to the POS, newest first."),
        refunds: z
          .array(RefundSchema)
          .describe("Every refund the processor reported for it, oldest first."),
      }),
      "The order.",
    ),
    ...errorResponses(NO_ORDER),
  },
});

const setStatusRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/status",
  tags: ["admin: orders"],
  summary: "Move an order through the state machine (409 on an illegal move)",
  description:
    "Moves a paid order forward (`confirmed` → `preparing` → `ready` → `out_for_delivery` → `completed`; steps may be skipped, `out_for_delivery` is for delivery orders only) or any open order to `cancelled`, which refunds a paid one as `POST …/cancel` does. An unpaid order is confirmed by its payment or by `POST …/mark-paid`, not here. Asking for the status it already has changes nothing (`changed: false`).",
  security: keySecurity("staff"),
  request: {
    params: OrderIdParams,
    body: jsonBody(
      z
        .object({ status: z.enum(ORDER_STATUSES).describe("The status to move the order to.") })
        .strict(),
    ),
  },
  responses: {
    200: jsonContent(
      z.object({
        order: OrderOut,
        changed: z.boolean().describe("false when the order already had this status."),
      }),
      "The order after the move.",
    ),
    ...errorResponses("validation_failed", "malformed_json", NO_ORDER, {
      code: "conflict",
      when: "the move is not allowed: backwards, out of `completed` or `cancelled`, forward from `pending_payment`, or `out_for_delivery` for an order that is not a delivery (`details`: `{ from, to }`); or the order changed concurrently (read it again)",
      message: "order cannot move back from ready to preparing",
      details: { from: "ready", to: "preparing" },
    }),
  },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/cancel",
  tags: ["admin: orders"],
  summary: "Cancel an order; a paid one is refunded (the refund completes asynchronously)",
  description:
    "Cancels the order. A card-paid order is refunded in full in the background (`paymentStatus` `refund_pending`, then `refunded`, or `refund_failed` with an alert); an order paid at the counter is cancelled without a refund. An order the POS already has raises a `pos_void_needed` alert for staff to void it there.",
  security: keySecurity("staff"),
  request: { params: OrderIdParams },
  responses: {
    202: jsonContent(
      z.object({ order: OrderOut }),
      "Cancelled; the refund, when one is due, is under way.",
    ),
    ...errorResponses(NO_ORDER, {
      code: "conflict",
      when: "the order is `completed`, or changed concurrently",
    }),
  },
});

const markPaidRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/mark-paid",
  tags: ["admin: orders"],
  summary:
    "Record an unpaid order as paid at the counter: it is confirmed and sent to terminals as new_order",
  description:
    "Records that the customer paid in store: the order is confirmed and paid, sent to the POS and to every terminal, and its PaymentIntent (if any) is cancelled so the card cannot be charged as well. Marking an order already paid changes nothing (`changed: false`).",
  security: keySecurity("staff"),
  request: { params: OrderIdParams },
  responses: {
    200: jsonContent(
      z.object({
        order: OrderOut,
        changed: z.boolean().describe("false when the order was already paid."),
      }),
      "The confirmed order.",
    ),
    ...errorResponses(NO_ORDER, {
      code: "conflict",
      when: "the order is past `pending_payment` without being paid (cancelled, for one) or its refund has begun; `details` is `{ status, paymentStatus }`. Or it changed concurrently",
    }),
  },
});

const refundRetryRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/refund-retry",
  tags: ["admin: orders"],
  summary: "Retry a refund that failed",
  description:
    "Only for an order whose `paymentStatus` is `refund_failed`. The refund is looked up first, in D1 and then at Stripe, and made only if none exists, so the customer is refunded at most once; it completes in the background (the order goes to `refund_pending`, then `refunded`, or back to `refund_failed` with an alert).",
  security: keySecurity("staff"),
  request: { params: OrderIdParams },
  responses: {
    202: jsonContent(z.object({ order: OrderOut }), "The refund is under way."),
    ...errorResponses(NO_ORDER, {
      code: "conflict",
      when: "the order's `paymentStatus` is not `refund_failed`, or it changed concurrently",
    }),
  },
});

const refundSettledRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/refund-settled",
  tags: ["admin: orders"],
  summary: "Record a refund made outside the platform",
  description:
    "For an order whose `paymentStatus` is `refund_failed`: the customer was refunded by other means (cash, the card terminal). The order becomes `refunded`, with the note and the key that recorded it among its refunds (`manual_<order id>`), and its `refund_failed` alert closes; nothing is asked of Stripe.",
  security: keySecurity("staff"),
  request: {
    params: OrderIdParams,
    body: jsonBody(
      z
        .object({
          note: z
            .string()
            .trim()
            .min(1)
            .max(500)
            .describe(
              "How the customer was refunded (cash, card terminal, reference): 1–500 characters.",
            ),
        })
        .strict()
        .openapi("RefundSettled", { description: "What staff record about the refund." }),
    ),
  },
  responses: {
    200: jsonContent(z.object({ order: OrderOut }), "The order, refunded."),
    ...errorResponses("validation_failed", "malformed_json", NO_ORDER, {
      code: "conflict",
      when: "the order's `paymentStatus` is not `refund_failed`, or it changed concurrently",
    }),
  },
});

// ---- settings ----

const getSettingsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/settings",
  tags: ["admin: settings"],
  summary: "The tenant's web settings",
  description: "The origins allowed to call the API from a browser (CORS).",
  security: keySecurity("staff"),
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({ settings: SettingsSchema.openapi({ description: "The settings now." }) }),
      "The settings.",
    ),
    ...errorResponses(NO_TENANT),
  },
});

const updateSettingsRoute = createRoute({
  method: "patch",
  path: "/v1/admin/{tenant}/settings",
  tags: ["admin: settings"],
  summary: "Change the tenant's web settings",
  description:
    "Each list given replaces the stored one; origins are normalised (`https://Shop.Example.com/` is stored as `https://shop.example.com`). A browser caches a preflight answer for up to 10 minutes, so a removed origin can keep working that long.",
  security: keySecurity("owner"),
  middleware: ownerOnly,
  request: { params: TenantParam, body: jsonBody(UpdateSettingsSchema) },
  responses: {
    200: jsonContent(
      z.object({
        settings: SettingsSchema.openapi({ description: "The settings after the change." }),
      }),
      "The settings as changed.",
    ),
    ...errorResponses("validation_failed", "malformed_json", NO_TENANT),
  },
});

// ---- keys ----

const createKeyRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/keys",
  tags: ["admin: keys"],
  summary: "Create an API key (owner); the key is shown once",
  description:
    "Creates a key with one role: `owner`, `staff` (orders, menu reading, alerts) or `terminal` (in-store screens, gift cards, loyalty). The key itself is only in this answer.",
  security: keySecurity("owner"),
  middleware: ownerOnly,
  request: {
    params: TenantParam,
    body: jsonBody(
      z
        .object({
          role: z
            .enum(["owner", "staff", "terminal"])
            .describe("What the key may do: owner ⊃ staff ⊃ terminal."),
          label: z
            .string()
            .trim()
            .min(1)
            .max(100)
            .describe("A name to recognise it by (`front counter`); 1–100 characters."),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonContent(
      z.object({
        key: z
          .string()
          .describe("The key (`olk_…`), for `Authorization: Bearer`; shown only here."),
        apiKey: ApiKeySchema.openapi({ description: "The key's record." }),
      }),
      "Created.",
    ),
    ...errorResponses("validation_failed", "malformed_json", NO_TENANT),
  },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/keys",
  tags: ["admin: keys"],
  summary: "API keys, without their secrets (owner)",
  description: "Every key of the tenant, revoked ones included, without the keys themselves.",
  security: keySecurity("owner"),
  middleware: ownerOnly,
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ items: z.array(ApiKeySchema).describe("The keys.") }), "Keys."),
    ...errorResponses(NO_TENANT),
  },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/v1/admin/{tenant}/keys/{id}",
  tags: ["admin: keys"],
  summary:
    "Revoke an API key (owner): dead at once, its unused tickets too, and its open sockets are closed with 4401 within seconds; the last owner key cannot be revoked",
  description:
    "Revokes the key at once, and the terminal tickets issued with it; sockets opened with it are closed with code 4401 within seconds. The tenant's last owner key cannot be revoked: create another first.",
  security: keySecurity("owner"),
  middleware: ownerOnly,
  request: { params: KeyIdParams },
  responses: {
    204: { description: "Revoked." },
    ...errorResponses(
      {
        code: "not_found",
        when: "no tenant has this slug, or it has no such key, or the key is revoked already",
      },
      { code: "conflict", when: "it is the tenant's last owner key" },
    ),
  },
});

export const adminRoutes = admin
  .openapi(listMenuRoute, async (c) => {
    const tenant = c.get("tenant");
    const items = await listMenuItems(c.get("db"), tenant.id, { availableOnly: false });
    return c.json({ items: items.map((item) => menuItemDto(item, tenant.currency)) }, 200);
  })
  .openapi(createMenuItemRoute, async (c) => {
    const tenant = c.get("tenant");
    const body = c.req.valid("json");
    if (body.modifiers?.some((m) => m.id)) {
      throw new ApiError(
        "validation_failed",
        "modifiers: ids are assigned by the server on create",
      );
    }
    const item = await createMenuItem(c.get("db"), tenant.id, menuInput(body, tenant), new Date());
    return c.json({ item: menuItemDto(item, tenant.currency) }, 201);
  })
  .openapi(updateMenuItemRoute, async (c) => {
    const tenant = c.get("tenant");
    const db = c.get("db");
    const existing = await findMenuItem(db, tenant.id, c.req.valid("param").id);
    if (!existing) throw new ApiError("not_found", "unknown menu item");
    const body = c.req.valid("json");
    const own = new Set(existing.modifiers.map((m) => m.id));
    const foreign = body.modifiers?.findIndex((m) => m.id !== undefined && !own.has(m.id)) ?? -1;
    if (foreign >= 0) {
      throw new ApiError(
        "validation_failed",
        `modifiers[${foreign}].id: not a modifier of this item`,
      );
    }
    const item = await updateMenuItem(db, existing, menuInput(body, tenant), new Date());
    return c.json({ item: menuItemDto(item, tenant.currency) }, 200);
  })
  .openapi(deleteMenuItemRoute, async (c) => {
    const deleted = await deleteMenuItem(c.get("db"), c.get("tenant").id, c.req.valid("param").id);
    if (!deleted) throw new ApiError("not_found", "unknown menu item");
    return c.body(null, 204);
  })
  .openapi(createDiscountRoute, async (c) => {
    const tenant = c.get("tenant");
    const body = c.req.valid("json");
    if (body.kind === "fixed") requireWithinLimit(tenant, body.value, "value");
    if (body.minSubtotal !== undefined) requireWithinLimit(tenant, body.minSubtotal, "minSubtotal");
    try {
      const row = await createDiscount(c.get("db"), tenant.id, body, new Date());
      return c.json({ discount: discountDto(row, tenant.currency) }, 201);
    } catch (err) {
      if (isConstraintError(err, "discount_codes")) {
        throw new ApiError("conflict", `discount code ${body.code.toUpperCase()} already exists`);
      }
      throw err;
    }
  })
  .openapi(listDiscountsRoute, async (c) => {
    const tenant = c.get("tenant");
    const rows = await listDiscounts(c.get("db"), tenant.id);
    return c.json({ items: rows.map((row) => discountDto(row, tenant.currency)) }, 200);
  })
  .openapi(listOrdersRoute, async (c) => {
    const tenant = c.get("tenant");
    const query = c.req.valid("query");
    const rows = await listOrders(c.get("db"), tenant.id, {
      status: query.status,
      posStatus: query.posStatus,
      paymentStatus: query.paymentStatus,
      beforeNumber: query.cursor ? Number(query.cursor) : undefined,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map((order) => orderView(order, tenant.slug)),
        nextCursor: rows.length > query.limit && last ? String(last.number) : null,
      },
      200,
    );
  })
  .openapi(getOrderRoute, async (c) => {
    const tenant = c.get("tenant");
    const db = c.get("db");
    const order = await findOrder(db, tenant.id, c.req.valid("param").id);
    if (!order) throw new ApiError("not_found", "unknown order");
    const [history, attempts, refunds] = await Promise.all([
      listOrderHistory(db, order.id),
      listSyncAttempts(db, tenant.id, { orderId: order.id, limit: 200 }),
      listRefunds(db, tenant.id, order.id),
    ]);
    return c.json(
      {
        order: orderView(order, tenant.slug),
        syncAttempts: attempts.map(syncAttemptDto),
        refunds: refunds.map(refundDto),
        history: history.map((h) => ({
          from: h.fromStatus,
          to: h.toStatus,
          source: h.source,
          at: h.at,
        })),
      },
      200,
    );
  })
  .openapi(setStatusRoute, async (c) => {
    const tenant = c.get("tenant");
    const id = c.req.valid("param").id;
    const status = c.req.valid("json").status;
    // Cancelling is one path wherever it is asked for: a paid order is refunded.
    const { order, changed, effects } =
      status === "cancelled"
        ? await cancelOrder(c.env, tenant, id, "staff", new Date())
        : await changeOrderStatus(c.get("db"), tenant, id, status, "staff", new Date());
    deliverAfterResponse(c, effects);
    return c.json({ order: orderView(order, tenant.slug), changed }, 200);
  })
  .openapi(cancelRoute, async (c) => {
    const tenant = c.get("tenant");
    const { order, effects } = await cancelOrder(
      c.env,
      tenant,
      c.req.valid("param").id,
      "staff",
      new Date(),
    );
    deliverAfterResponse(c, effects);
    return c.json({ order: orderView(order, tenant.slug) }, 202);
  })
  .openapi(markPaidRoute, async (c) => {
    const tenant = c.get("tenant");
    const { order, changed, effects } = await confirmOrderAndQueue(
      c.env,
      c.get("db"),
      tenant,
      c.req.valid("param").id,
      "staff",
      new Date(),
    );
    deliverAfterResponse(c, effects);
    return c.json({ order: orderView(order, tenant.slug), changed }, 200);
  })
  .openapi(refundRetryRoute, async (c) => {
    const tenant = c.get("tenant");
    const { order, effects } = await retryRefund(
      c.env,
      tenant,
      c.req.valid("param").id,
      new Date(),
    );
    deliverAfterResponse(c, effects);
    return c.json({ order: orderView(order, tenant.slug) }, 202);
  })
  .openapi(refundSettledRoute, async (c) => {
    const tenant = c.get("tenant");
    const key = c.get("apiKey");
    const { order, effects } = await settleRefundByHand(
      c.env,
      tenant,
      c.req.valid("param").id,
      { keyId: key.id, label: key.label },
      c.req.valid("json").note,
      new Date(),
    );
    deliverAfterResponse(c, effects);
    return c.json({ order: orderView(order, tenant.slug) }, 200);
  })
  .openapi(getSettingsRoute, (c) => {
    const tenant = c.get("tenant");
    return c.json({ settings: settingsDto(tenant) }, 200);
  })
  .openapi(updateSettingsRoute, async (c) => {
    const updated = await updateTenantSettings(
      c.get("db"),
      c.get("tenant").id,
      c.req.valid("json"),
      new Date(),
    );
    if (!updated) throw new ApiError("not_found", "unknown tenant");
    return c.json({ settings: settingsDto(updated) }, 200);
  })
  .openapi(createKeyRoute, async (c) => {
    const body = c.req.valid("json");
    const { key, record } = await createApiKey(
      c.get("db"),
      { tenantId: c.get("tenant").id, role: body.role, label: body.label },
      new Date(),
    );
    return c.json({ key, apiKey: apiKeyDto(record) }, 201);
  })
  .openapi(listKeysRoute, async (c) => {
    const rows = await listApiKeys(c.get("db"), c.get("tenant").id);
    return c.json({ items: rows.map(apiKeyDto) }, 200);
  })
  .openapi(revokeKeyRoute, async (c) => {
    const db = c.get("db");
    const tenantId = c.get("tenant").id;
    const key = await findApiKey(db, tenantId, c.req.valid("param").id);
    if (!key || key.revokedAt) throw new ApiError("not_found", "unknown API key");
    if (key.role === "owner" && (await countActiveOwnerKeys(db, tenantId)) <= 1) {
      throw new ApiError("conflict", "the last owner key cannot be revoked; create another first");
    }
    const revoked = await revokeApiKey(db, tenantId, key.id, new Date());
    if (!revoked) throw new ApiError("not_found", "unknown API key");
    // Closes the sockets opened with the key; the cron pass retries if this fails.
    deliverAfterResponse(c, effectsOf(c.get("tenant"), { events: [revoked] }));
    return c.body(null, 204);
  });

type MoneyInput = z.infer<typeof MoneySchema>;

/** Unwraps Money in the tenant's currency; any other currency is a field error. */
function amountIn(tenant: Tenant, money: MoneyInput, path: string): number {
  if (money.currency !== tenant.currency) {
    throw new ApiError("validation_failed", `${path}.currency: must be ${tenant.currency}`, {
      issues: [{ path: `${path}.currency`, message: `must be ${tenant.currency}` }],
    });
  }
  return requireWithinLimit(tenant, money.amount, `${path}.amount`);
}

function menuInput<
  T extends {
    price?: MoneyInput;
    modifiers?: { id?: string; name: string; price: MoneyInput; posModifierId?: string | null }[];
  },
>(body: T, tenant: Tenant) {
  const { price, modifiers, ...rest } = body;
  return {
    ...rest,
    ...(price ? { price: amountIn(tenant, price, "price") } : {}),
    ...(modifiers
      ? {
          modifiers: modifiers.map(
            (m, i): ModifierInput => ({
              id: m.id,
              name: m.name,
              price: amountIn(tenant, m.price, `modifiers[${i}].price`),
              posModifierId: m.posModifierId,
            }),
          ),
        }
      : {}),
  } as Omit<T, "price" | "modifiers"> & { price: number; modifiers?: ModifierInput[] };
}

function discountDto(row: Awaited<ReturnType<typeof createDiscount>>, currency: string) {
  return {
    id: row.id,
    code: row.code,
    kind: row.kind,
    value: row.value,
    minSubtotal: { amount: row.minSubtotal, currency },
    expiresAt: row.expiresAt,
    maxUses: row.maxUses,
    usedCount: row.usedCount,
    createdAt: row.createdAt,
  };
}

function settingsDto(tenant: Tenant) {
  return { allowedOrigins: tenant.allowedOrigins, consoleOrigins: tenant.consoleOrigins };
}

function apiKeyDto(row: Awaited<ReturnType<typeof listApiKeys>>[number]) {
  return {
    id: row.id,
    role: row.role,
    label: row.label,
    prefix: row.prefix,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
  };
}
