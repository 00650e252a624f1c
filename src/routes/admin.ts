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
import { ORDER_STATUSES, PAYMENT_STATUSES, POS_STATUSES } from "../domain/order-status";
import { PLATFORM_MAX_AMOUNT } from "../domain/pricing";
import { requireRole } from "../http/auth";
import { normalizeOrigin } from "../http/cors";
import { ApiError } from "../http/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonContent,
  MoneySchema,
  PageQuery,
  pageSchema,
  requireWithinLimit,
  TenantParam,
} from "../http/router";
import { changeOrderStatus } from "../services/orders";
import { deliverEvents } from "../services/outbox";
import { cancelOrder, retryRefund, settleRefundByHand } from "../services/payments";
import { confirmOrderAndQueue } from "../services/pos-sync";
import { SyncAttemptSchema, syncAttemptDto } from "./pos-sync";
import {
  HistoryEntrySchema,
  MenuItemSchema,
  menuItemDto,
  OrderSchema,
  orderDto,
  RefundSchema,
  refundDto,
} from "./schemas";

const IdParams = TenantParam.extend({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

/** Origins a tenant may list per setting. */
const MAX_ORIGINS = 20;

const posId = z.string().trim().min(1).max(100).nullable().optional();

const ModifierInputSchema = z
  .object({
    id: z.string().min(1).max(64).optional(),
    name: z.string().trim().min(1).max(100),
    price: MoneySchema,
    posModifierId: posId,
  })
  .strict();

const MenuItemFields = {
  name: z.string().trim().min(1).max(120),
  description: z.string().trim().max(1000).optional(),
  price: MoneySchema,
  available: z.boolean().optional(),
  posItemId: posId,
  modifiers: z.array(ModifierInputSchema).max(30).optional(),
};

const CreateMenuItemSchema = z.object(MenuItemFields).strict().openapi("CreateMenuItem");
const UpdateMenuItemSchema = z
  .object(MenuItemFields)
  .partial()
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "at least one field is required")
  .openapi("UpdateMenuItem");

const CreateDiscountSchema = z
  .object({
    code: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{3,40}$/, "must be 3–40 letters, digits, - or _"),
    kind: z.enum(["percent", "fixed"]),
    value: z.number().int().positive().max(PLATFORM_MAX_AMOUNT),
    minSubtotal: z.number().int().nonnegative().max(PLATFORM_MAX_AMOUNT).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    maxUses: z.number().int().positive().optional(),
  })
  .strict()
  .refine((d) => d.kind !== "percent" || d.value <= 100, {
    path: ["value"],
    message: "a percent discount is 1–100",
  })
  .openapi("CreateDiscount");

const DiscountSchema = z
  .object({
    id: z.string(),
    code: z.string(),
    kind: z.enum(["percent", "fixed"]),
    value: z.number().int(),
    minSubtotal: MoneySchema,
    expiresAt: z.string().nullable(),
    maxUses: z.number().int().nullable(),
    usedCount: z.number().int(),
    createdAt: z.string(),
  })
  .openapi("Discount");

const ApiKeySchema = z
  .object({
    id: z.string(),
    role: z.enum(["owner", "staff", "terminal"]),
    label: z.string(),
    prefix: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi("ApiKey");

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
  .openapi("TenantSettings");

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

const admin = createRouter();
admin.use("/v1/admin/:tenant/*", requireRole("staff"));
const ownerOnly = requireRole("owner");

// ---- menu ----

const listMenuRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/menu/items",
  tags: ["admin: menu"],
  summary: "Every menu item, available or not",
  security: bearerSecurity,
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ items: z.array(MenuItemSchema) }), "the menu"),
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

const createMenuItemRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/menu/items",
  tags: ["admin: menu"],
  summary: "Add a menu item with its modifiers (owner)",
  security: bearerSecurity,
  middleware: ownerOnly,
  request: { params: TenantParam, body: jsonBody(CreateMenuItemSchema) },
  responses: {
    201: jsonContent(z.object({ item: MenuItemSchema }), "created"),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "unauthorized",
      "forbidden",
      "not_found",
    ),
  },
});

const updateMenuItemRoute = createRoute({
  method: "patch",
  path: "/v1/admin/{tenant}/menu/items/{id}",
  tags: ["admin: menu"],
  summary: "Change a menu item; a modifiers list replaces the item's modifiers (owner)",
  security: bearerSecurity,
  middleware: ownerOnly,
  request: { params: IdParams, body: jsonBody(UpdateMenuItemSchema) },
  responses: {
    200: jsonContent(z.object({ item: MenuItemSchema }), "updated"),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "unauthorized",
      "forbidden",
      "not_found",
    ),
  },
});

const deleteMenuItemRoute = createRoute({
  method: "delete",
  path: "/v1/admin/{tenant}/menu/items/{id}",
  tags: ["admin: menu"],
  summary: "Remove a menu item; past orders keep their copy of it (owner)",
  security: bearerSecurity,
  middleware: ownerOnly,
  request: { params: IdParams },
  responses: {
    204: { description: "deleted" },
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

// ---- discounts ----

const createDiscountRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/discounts",
  tags: ["admin: discounts"],
  summary: "Create a discount code (owner); percent value is whole percent, fixed is minor units",
  security: bearerSecurity,
  middleware: ownerOnly,
  request: { params: TenantParam, body: jsonBody(CreateDiscountSchema) },
  responses: {
    201: jsonContent(z.object({ discount: DiscountSchema }), "created"),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "unauthorized",
      "forbidden",
      "conflict",
    ),
  },
});

const listDiscountsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/discounts",
  tags: ["admin: discounts"],
  summary: "The tenant's discount codes",
  security: bearerSecurity,
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ items: z.array(DiscountSchema) }), "discount codes"),
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

// ---- orders ----

const listOrdersRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/orders",
  tags: ["admin: orders"],
  summary: "Orders, newest first",
  security: bearerSecurity,
  request: {
    params: TenantParam,
    query: PageQuery.extend({
      cursor: OrderCursor.optional(),
      status: z.enum(ORDER_STATUSES).optional(),
      posStatus: z.enum(POS_STATUSES).optional(),
      paymentStatus: z.enum(PAYMENT_STATUSES).optional(),
    }),
  },
  responses: {
    200: jsonContent(pageSchema(OrderSchema), "a page of orders"),
    ...errorResponses("validation_failed", "unauthorized", "forbidden", "not_found"),
  },
});

const getOrderRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/orders/{id}",
  tags: ["admin: orders"],
  summary: "One order with its status history",
  security: bearerSecurity,
  request: { params: IdParams },
  responses: {
    200: jsonContent(
      z.object({
        order: OrderSchema,
        history: z.array(HistoryEntrySchema),
        syncAttempts: z.array(SyncAttemptSchema),
        refunds: z.array(RefundSchema),
      }),
      "the order",
    ),
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

const setStatusRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/status",
  tags: ["admin: orders"],
  summary: "Move an order through the state machine (409 on an illegal move)",
  security: bearerSecurity,
  request: {
    params: IdParams,
    body: jsonBody(z.object({ status: z.enum(ORDER_STATUSES) }).strict()),
  },
  responses: {
    200: jsonContent(
      z.object({ order: OrderSchema, changed: z.boolean() }),
      "the order after the move",
    ),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "unauthorized",
      "forbidden",
      "not_found",
      "conflict",
    ),
  },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/cancel",
  tags: ["admin: orders"],
  summary: "Cancel an order; a paid one is refunded (the refund completes asynchronously)",
  security: bearerSecurity,
  request: { params: IdParams },
  responses: {
    202: jsonContent(z.object({ order: OrderSchema }), "cancelled, refund under way when paid"),
    ...errorResponses("unauthorized", "forbidden", "not_found", "conflict"),
  },
});

const markPaidRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/mark-paid",
  tags: ["admin: orders"],
  summary:
    "Record an unpaid order as paid at the counter: it is confirmed and sent to terminals as new_order",
  security: bearerSecurity,
  request: { params: IdParams },
  responses: {
    200: jsonContent(
      z.object({ order: OrderSchema, changed: z.boolean() }),
      "the confirmed order (changed: false when it was already paid)",
    ),
    ...errorResponses("unauthorized", "forbidden", "not_found", "conflict"),
  },
});

const refundRetryRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/refund-retry",
  tags: ["admin: orders"],
  summary: "Retry a refund that failed",
  description:
    "Staff. Only for an order whose paymentStatus is refund_failed (409 otherwise). The refund is looked up first, in D1 and then at Stripe, and made only if none exists, so the customer is refunded at most once; it completes asynchronously (the order goes to refund_pending, then refunded).",
  security: bearerSecurity,
  request: { params: IdParams },
  responses: {
    202: jsonContent(z.object({ order: OrderSchema }), "the refund is under way"),
    ...errorResponses("unauthorized", "forbidden", "not_found", "conflict"),
  },
});

const refundSettledRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/refund-settled",
  tags: ["admin: orders"],
  summary: "Record a refund made outside the platform",
  description:
    "Staff. For an order whose paymentStatus is refund_failed (409 otherwise): the customer was refunded by other means. The order becomes refunded with the note and the key that recorded it; nothing is asked of Stripe.",
  security: bearerSecurity,
  request: {
    params: IdParams,
    body: jsonBody(
      z
        .object({
          note: z.string().trim().min(1).max(500).openapi({
            description: "How the customer was refunded (cash, card terminal, reference number).",
          }),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonContent(z.object({ order: OrderSchema }), "the order, refunded"),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "unauthorized",
      "forbidden",
      "not_found",
      "conflict",
    ),
  },
});

// ---- settings ----

const getSettingsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/settings",
  tags: ["admin: settings"],
  summary: "The tenant's web settings",
  description: "Staff. The origins allowed to call the API from a browser (CORS).",
  security: bearerSecurity,
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ settings: SettingsSchema }), "the settings"),
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

const updateSettingsRoute = createRoute({
  method: "patch",
  path: "/v1/admin/{tenant}/settings",
  tags: ["admin: settings"],
  summary: "Change the tenant's web settings (owner)",
  description:
    "Owner. Each list given replaces the stored one. A browser caches a preflight answer for up to 10 minutes, so a removed origin can keep working that long.",
  security: bearerSecurity,
  middleware: ownerOnly,
  request: { params: TenantParam, body: jsonBody(UpdateSettingsSchema) },
  responses: {
    200: jsonContent(z.object({ settings: SettingsSchema }), "the settings as changed"),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "unauthorized",
      "forbidden",
      "not_found",
    ),
  },
});

// ---- keys ----

const createKeyRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/keys",
  tags: ["admin: keys"],
  summary: "Create an API key (owner); the key is shown once",
  security: bearerSecurity,
  middleware: ownerOnly,
  request: {
    params: TenantParam,
    body: jsonBody(
      z
        .object({
          role: z.enum(["owner", "staff", "terminal"]),
          label: z.string().trim().min(1).max(100),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonContent(z.object({ key: z.string(), apiKey: ApiKeySchema }), "created"),
    ...errorResponses("validation_failed", "malformed_json", "unauthorized", "forbidden"),
  },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/keys",
  tags: ["admin: keys"],
  summary: "API keys, without their secrets (owner)",
  security: bearerSecurity,
  middleware: ownerOnly,
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ items: z.array(ApiKeySchema) }), "keys"),
    ...errorResponses("unauthorized", "forbidden"),
  },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/v1/admin/{tenant}/keys/{id}",
  tags: ["admin: keys"],
  summary:
    "Revoke an API key (owner): dead at once, its unused tickets too, and its open sockets are closed with 4401 within seconds; the last owner key cannot be revoked",
  security: bearerSecurity,
  middleware: ownerOnly,
  request: { params: IdParams },
  responses: {
    204: { description: "revoked" },
    ...errorResponses("unauthorized", "forbidden", "not_found", "conflict"),
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
        items: page.map((order) => orderDto(order, tenant.slug)),
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
        order: orderDto(order, tenant.slug),
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
    const { order, changed, events } =
      status === "cancelled"
        ? await cancelOrder(c.env, tenant, id, "staff", new Date())
        : await changeOrderStatus(c.get("db"), tenant, id, status, "staff", new Date());
    c.executionCtx.waitUntil(deliverEvents(c.env, tenant, events));
    return c.json({ order: orderDto(order, tenant.slug), changed }, 200);
  })
  .openapi(cancelRoute, async (c) => {
    const tenant = c.get("tenant");
    const { order, events } = await cancelOrder(
      c.env,
      tenant,
      c.req.valid("param").id,
      "staff",
      new Date(),
    );
    c.executionCtx.waitUntil(deliverEvents(c.env, tenant, events));
    return c.json({ order: orderDto(order, tenant.slug) }, 202);
  })
  .openapi(markPaidRoute, async (c) => {
    const tenant = c.get("tenant");
    const { order, changed, events } = await confirmOrderAndQueue(
      c.env,
      c.get("db"),
      tenant,
      c.req.valid("param").id,
      "staff",
      new Date(),
    );
    c.executionCtx.waitUntil(deliverEvents(c.env, tenant, events));
    return c.json({ order: orderDto(order, tenant.slug), changed }, 200);
  })
  .openapi(refundRetryRoute, async (c) => {
    const tenant = c.get("tenant");
    const { order, events } = await retryRefund(c.env, tenant, c.req.valid("param").id, new Date());
    c.executionCtx.waitUntil(deliverEvents(c.env, tenant, events));
    return c.json({ order: orderDto(order, tenant.slug) }, 202);
  })
  .openapi(refundSettledRoute, async (c) => {
    const tenant = c.get("tenant");
    const key = c.get("apiKey");
    const order = await settleRefundByHand(
      c.env,
      tenant,
      c.req.valid("param").id,
      { keyId: key.id, label: key.label },
      c.req.valid("json").note,
      new Date(),
    );
    return c.json({ order: orderDto(order, tenant.slug) }, 200);
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
    c.executionCtx.waitUntil(deliverEvents(c.env, c.get("tenant"), [revoked]));
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
