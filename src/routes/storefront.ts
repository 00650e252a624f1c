import { createRoute, z } from "@hono/zod-openapi";
import { readConfig } from "../config";
import { discountForPricing, findDiscount } from "../db/discounts";
import { listMenuItems } from "../db/menu";
import { findOrder } from "../db/orders";
import { ORDER_TYPES } from "../domain/order-status";
import { checkDiscount } from "../domain/pricing";
import { loadTenant } from "../http/auth";
import { ApiError } from "../http/errors";
import { limitDiscountLookups, limitOrderCreation, limitOrderPreviews } from "../http/rate-limit";
import {
  createRouter,
  errorResponses,
  jsonBody,
  jsonContent,
  MoneySchema,
  TenantParam,
} from "../http/router";
import { placeOrder, priceDraft, verifyOrderAccessToken } from "../services/orders";
import { deliverEvents } from "../services/outbox";
import {
  CustomerSchema,
  DeliveryAddressSchema,
  MenuItemSchema,
  menuItemDto,
  OrderLineSchema,
  OrderSchema,
  orderDto,
} from "./schemas";

const DraftLineSchema = z
  .object({
    menuItemId: z.string().min(1).max(64),
    quantity: z.number().int().min(1).max(99),
    modifierIds: z.array(z.string().min(1).max(64)).max(30).optional(),
    specialInstructions: z.string().trim().max(500).optional(),
  })
  .strict();

const OrderDraftSchema = z
  .object({
    orderType: z.enum(ORDER_TYPES),
    items: z.array(DraftLineSchema).min(1).max(50),
    customer: CustomerSchema,
    scheduledFor: z.iso.datetime({ offset: true }).optional(),
    tip: MoneySchema.optional(),
    discountCode: z.string().trim().min(1).max(40).optional(),
    specialInstructions: z.string().trim().max(1000).optional(),
    deliveryAddress: DeliveryAddressSchema.optional(),
  })
  .strict()
  .superRefine((draft, ctx) => {
    if (draft.orderType === "delivery" && !draft.deliveryAddress) {
      ctx.addIssue({
        code: "custom",
        path: ["deliveryAddress"],
        message: "is required for delivery orders",
      });
    }
    if (draft.orderType !== "delivery" && draft.deliveryAddress) {
      ctx.addIssue({
        code: "custom",
        path: ["deliveryAddress"],
        message: "is only allowed for delivery orders",
      });
    }
  })
  .openapi("OrderDraft");

const PreviewSchema = z
  .object({
    lines: z.array(OrderLineSchema),
    subtotal: MoneySchema,
    discount: MoneySchema,
    tax: MoneySchema,
    tip: MoneySchema,
    total: MoneySchema,
  })
  .openapi("OrderPreview");

const OrderIdParams = TenantParam.extend({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

const StoreSchema = z
  .object({
    slug: z.string().openapi({ description: "The tenant's slug, as in every storefront path." }),
    name: z.string().openapi({ description: "The restaurant's name, for the page title." }),
    currency: z
      .string()
      .openapi({ description: "ISO 4217 code; every amount is in its minor units." }),
    timezone: z
      .string()
      .openapi({ description: "IANA time zone of the restaurant, e.g. America/New_York." }),
    taxRateBps: z
      .number()
      .int()
      .openapi({ description: "Tax rate in basis points (875 = 8.75%), applied to the order." }),
    payment: z
      .object({
        provider: z.enum(["stripe", "none"]).openapi({
          description:
            "`stripe`: pay each order's `payment.clientSecret` with Stripe.js; `none`: orders are paid at the counter.",
        }),
        publishableKey: z.string().nullable().openapi({
          description: "Stripe publishable key (`pk_…`) for Stripe.js; null when payments are off.",
        }),
      })
      .openapi({ description: "How a storefront takes payment for this store." }),
  })
  .openapi("Store");

const storeRoute = createRoute({
  method: "get",
  path: "/v1/stores/{tenant}",
  tags: ["storefront"],
  summary: "Store configuration for a storefront",
  description:
    "Public. What a storefront needs before showing the menu: the store's name, currency, time zone, tax rate and how it takes payment (the Stripe publishable key for Stripe.js).",
  security: [],
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ store: StoreSchema }), "the store"),
    ...errorResponses("not_found"),
  },
});

const menuRoute = createRoute({
  method: "get",
  path: "/v1/stores/{tenant}/menu",
  tags: ["storefront"],
  summary: "The tenant's available menu",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({
        tenant: z.object({ slug: z.string(), name: z.string(), currency: z.string() }),
        items: z.array(MenuItemSchema),
      }),
      "the menu",
    ),
    ...errorResponses("not_found"),
  },
});

const previewRoute = createRoute({
  method: "post",
  path: "/v1/stores/{tenant}/orders/preview",
  tags: ["storefront"],
  summary: "Price an order draft without placing it",
  request: { params: TenantParam, body: jsonBody(OrderDraftSchema) },
  responses: {
    200: jsonContent(PreviewSchema, "the priced draft"),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "not_found",
      "payload_too_large",
      "rate_limited",
    ),
  },
});

const discountRoute = createRoute({
  method: "get",
  path: "/v1/stores/{tenant}/discounts/{code}",
  tags: ["storefront"],
  summary: "Check a discount code",
  request: {
    params: TenantParam.extend({
      code: z
        .string()
        .min(1)
        .max(40)
        .openapi({ param: { name: "code", in: "path" } }),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({
        code: z.string(),
        kind: z.enum(["percent", "fixed"]),
        value: z.number().int(),
        minSubtotal: MoneySchema,
        expiresAt: z.string().nullable(),
      }),
      "a usable discount code; value is whole percent or minor units",
    ),
    ...errorResponses("not_found", "rate_limited"),
  },
});

const createOrderRoute = createRoute({
  method: "post",
  path: "/v1/stores/{tenant}/orders",
  tags: ["storefront"],
  summary: "Place an order (idempotent by Idempotency-Key)",
  request: {
    params: TenantParam,
    headers: z.object({
      "idempotency-key": z
        .string({ error: "the Idempotency-Key header is required" })
        .min(8, "must be at least 8 characters")
        .max(255)
        .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
        .openapi({ param: { name: "idempotency-key", in: "header" } }),
    }),
    body: jsonBody(OrderDraftSchema),
  },
  responses: {
    201: jsonContent(
      z.object({
        order: OrderSchema,
        accessToken: z.string(),
        payment: z.object({ provider: z.string(), clientSecret: z.string().nullable() }),
      }),
      "the order, its access token and how to pay",
    ),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "not_found",
      "idempotency_mismatch",
      "payload_too_large",
      "rate_limited",
    ),
  },
});

const getOrderRoute = createRoute({
  method: "get",
  path: "/v1/stores/{tenant}/orders/{id}",
  tags: ["storefront"],
  summary: "Track an order with its access token",
  request: {
    params: OrderIdParams,
    query: z.object({ token: z.string().max(200).optional() }),
  },
  responses: {
    200: jsonContent(z.object({ order: OrderSchema }), "the order"),
    ...errorResponses("not_found"),
  },
});

const storefront = createRouter();
// Before loadTenant, so a refused request costs no database read.
storefront.on("POST", "/v1/stores/:tenant/orders", limitOrderCreation);
storefront.on("POST", "/v1/stores/:tenant/orders/preview", limitOrderPreviews);
storefront.on("GET", "/v1/stores/:tenant/discounts/:code", limitDiscountLookups);
storefront.use("/v1/stores/:tenant/*", loadTenant);
storefront.use("/v1/stores/:tenant", loadTenant);

export const storefrontRoutes = storefront
  .openapi(storeRoute, (c) => {
    const tenant = c.get("tenant");
    const stripe = readConfig(c.env).stripe;
    return c.json(
      {
        store: {
          slug: tenant.slug,
          name: tenant.name,
          currency: tenant.currency,
          timezone: tenant.timezone,
          taxRateBps: tenant.taxRateBps,
          payment: stripe
            ? { provider: "stripe" as const, publishableKey: stripe.publishableKey }
            : { provider: "none" as const, publishableKey: null },
        },
      },
      200,
    );
  })
  .openapi(menuRoute, async (c) => {
    const tenant = c.get("tenant");
    const items = await listMenuItems(c.get("db"), tenant.id, { availableOnly: true });
    return c.json(
      {
        tenant: { slug: tenant.slug, name: tenant.name, currency: tenant.currency },
        items: items.map((item) => menuItemDto(item, tenant.currency)),
      },
      200,
    );
  })
  .openapi(previewRoute, async (c) => {
    const tenant = c.get("tenant");
    const { priced } = await priceDraft(c.get("db"), tenant, c.req.valid("json"), new Date());
    const m = (amount: number) => ({ amount, currency: tenant.currency });
    return c.json(
      {
        lines: priced.lines.map((line) => ({
          menuItemId: line.menuItemId,
          name: line.name,
          quantity: line.quantity,
          unitPrice: m(line.unitPrice),
          modifiers: line.modifiers.map((mod) => ({ ...mod, price: m(mod.price) })),
          lineTotal: m(line.lineTotal),
          specialInstructions: line.specialInstructions,
        })),
        subtotal: m(priced.subtotal),
        discount: m(priced.discount),
        tax: m(priced.tax),
        tip: m(priced.tip),
        total: m(priced.total),
      },
      200,
    );
  })
  .openapi(discountRoute, async (c) => {
    const tenant = c.get("tenant");
    const discount = await findDiscount(c.get("db"), tenant.id, c.req.valid("param").code);
    if (!discount) throw new ApiError("not_found", "unknown discount code");
    const problem = checkDiscount(discountForPricing(discount), null, new Date());
    if (problem) throw new ApiError("not_found", problem.message, { reason: problem.code });
    return c.json(
      {
        code: discount.code,
        kind: discount.kind,
        value: discount.value,
        minSubtotal: { amount: discount.minSubtotal, currency: tenant.currency },
        expiresAt: discount.expiresAt,
      },
      200,
    );
  })
  .openapi(createOrderRoute, async (c) => {
    const placed = await placeOrder(
      c.env,
      c.get("db"),
      c.get("tenant"),
      c.req.valid("json"),
      c.req.valid("header")["idempotency-key"],
      new Date(),
    );
    if (placed.replayed) c.header("Idempotent-Replayed", "true");
    c.executionCtx.waitUntil(deliverEvents(c.env, c.get("tenant"), placed.events));
    return c.json(placed.body, 201);
  })
  .openapi(getOrderRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { token } = c.req.valid("query");
    const tenant = c.get("tenant");
    // One answer for "no such order" and "wrong token", so ids cannot be probed.
    const order = token ? await findOrder(c.get("db"), tenant.id, id) : undefined;
    if (!order || !token || !(await verifyOrderAccessToken(c.env, order.id, token))) {
      throw new ApiError("not_found", "unknown order or wrong token");
    }
    return c.json({ order: orderDto(order, tenant.slug) }, 200);
  });
