import { createRoute, z } from "@hono/zod-openapi";
import { findOrder } from "../../db/orders";
import { deliverAfterResponse } from "../../delivery";
import { ORDER_TYPES } from "../../domain/order-status";
import { orderView } from "../../domain/order-view";
import { publicRouter, resolveTenantId } from "../../http/auth";
import { ApiError } from "../../http/errors";
import { limitOrderCreation, limitOrderPreviews } from "../../http/rate-limit";
import { errorResponses, IdParam, jsonContent, MoneySchema, TenantParam } from "../../http/router";
import { placeOrder, priceDraft, verifyOrderAccessToken } from "../../services/orders";
import { ORDER_DRAFT_EXAMPLES, ORDER_PREVIEW_EXAMPLES, PLACED_ORDER_EXAMPLES } from "../examples";
import {
  CustomerSchema,
  DeliveryAddressSchema,
  OrderLineSchema,
  OrderSchema,
  PRICED_TOTALS,
} from "../schemas";

// Ordering from a storefront: pricing a draft, placing it, and reading the order back with its
// access token.

const DraftLineSchema = z
  .object({
    menuItemId: z
      .string()
      .min(1)
      .max(64)
      .describe("A menu item's `id` (`itm_…`) from `GET /v1/stores/{tenant}/menu`."),
    quantity: z.number().int().min(1).max(99).describe("How many, 1–99."),
    modifierIds: z
      .array(z.string().min(1).max(64))
      .max(30)
      .optional()
      .describe("Ids (`mod_…`) of this item's modifiers to add, each at most once; at most 30."),
    specialInstructions: z
      .string()
      .trim()
      .max(500)
      .optional()
      .describe("A note for this line (`no onions`); at most 500 characters."),
  })
  .strict()
  .describe("One line: a menu item, how many, and its modifiers. Unknown fields are refused.");

const OrderDraftSchema = z
  .object({
    orderType: z
      .enum(ORDER_TYPES)
      .describe("`pickup`, `delivery` (needs `deliveryAddress`) or `dine_in`."),
    items: z.array(DraftLineSchema).min(1).max(50).describe("The lines, 1–50."),
    customer: CustomerSchema,
    scheduledFor: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        "When the customer wants the order: ISO 8601 date and time with `Z` or an offset (`2026-05-01T19:15:00-04:00`); absent for as soon as possible.",
      ),
    tip: MoneySchema.optional().openapi({
      description:
        "A tip in the tenant's currency, at most the tenant's `maxAmount`; 0 when absent.",
    }),
    discountCode: z
      .string()
      .trim()
      .min(1)
      .max(40)
      .optional()
      .describe(
        "A discount code, any case; an unknown, expired, used-up or unmet one is 400 with `details.reason`.",
      ),
    specialInstructions: z
      .string()
      .trim()
      .max(1000)
      .optional()
      .describe("A note for the whole order; at most 1000 characters."),
    deliveryAddress: DeliveryAddressSchema.optional().openapi({
      description: "Where to deliver: required for `delivery`, refused for the other types.",
    }),
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
  .openapi("OrderDraft", {
    description:
      "An order as the customer composed it. The server prices it from the menu as stored: prices are never read from the draft. Unknown fields are refused.",
  });

const PreviewSchema = z
  .object({
    lines: z.array(OrderLineSchema).describe("The draft's lines, priced, in the draft's order."),
    ...PRICED_TOTALS,
    tip: MoneySchema.openapi({ description: "The draft's tip, untaxed; 0 without one." }),
    total: MoneySchema.openapi({ description: "subtotal − discount + tax + tip." }),
  })
  .openapi("OrderPreview", {
    description: "What the draft would cost if placed now; amounts in the tenant's currency.",
  });

const OrderIdParams = IdParam("The order's `id` (`ord_…`) from its creation.");

/** Why a draft is refused, beyond its schema: pricing names the field (`details.issues`). */
const DRAFT_INVALID = {
  code: "validation_failed",
  when: "the slug is malformed, the draft does not match `OrderDraft` or is not sent as JSON, or it cannot be priced: an unknown or unavailable item or modifier, a modifier twice, a tip or total over the tenant's `maxAmount`, or another currency than the tenant's; or its discount code is unknown, expired, used up or its minimum subtotal is not met. `details.reason` (for pricing: `unknown_item`, `item_unavailable`, `unknown_modifier`, `duplicate_modifier`, `unknown_discount`, `discount_expired`, `discount_exhausted`, `discount_minimum_not_met`, `amount_over_limit`) and `details.issues` name the field",
  message: "items[0].quantity: Too small: expected number to be >=1",
  details: {
    in: "json",
    issues: [{ path: "items[0].quantity", message: "Too small: expected number to be >=1" }],
  },
} as const;

const storefront = publicRouter();
// Before the tenant is loaded, so a refused request costs no database read.
storefront.on("POST", "/v1/stores/:tenant/orders", limitOrderCreation);
storefront.on("POST", "/v1/stores/:tenant/orders/preview", limitOrderPreviews);
// Placing an order reads its tenant in its own first batch: only the id is resolved here.
storefront.on("POST", "/v1/stores/:tenant/orders", resolveTenantId);

const previewRoute = createRoute({
  method: "post",
  path: "/v1/stores/{tenant}/orders/preview",
  tags: ["storefront"],
  summary: "Price an order draft without placing it",
  description:
    "Prices a draft exactly as `POST /v1/stores/{tenant}/orders` would, from the menu as stored: lines, subtotal, discount, tax, tip and total. Nothing is stored and no payment is set up, so a storefront may call it on every basket change.",
  request: {
    params: TenantParam,
    body: {
      required: true,
      content: {
        "application/json": { schema: OrderDraftSchema, examples: ORDER_DRAFT_EXAMPLES },
      },
    },
  },
  responses: {
    200: {
      description: "The priced draft.",
      content: {
        "application/json": { schema: PreviewSchema, examples: ORDER_PREVIEW_EXAMPLES },
      },
    },
    ...errorResponses(
      DRAFT_INVALID,
      "malformed_json",
      { code: "not_found", when: "no tenant has this slug" },
      "payload_too_large",
      {
        code: "rate_limited",
        when: "more than 300 previews in a minute from this client address for this tenant; wait `Retry-After` seconds",
      },
    ),
  },
});

storefront.openapi(previewRoute, async (c) => {
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
});

const createOrderRoute = createRoute({
  method: "post",
  path: "/v1/stores/{tenant}/orders",
  tags: ["storefront"],
  summary: "Place an order (idempotent by Idempotency-Key)",
  description: [
    "Places an order from a draft, priced by the server as `POST …/orders/preview` prices it. The answer holds the order (`pending_payment`, `unpaid`), its `accessToken` for `GET …/orders/{id}?token=`, and how to pay: with `payment.provider` `stripe`, confirm `payment.clientSecret` (a PaymentIntent's client secret) with Stripe.js; the order is confirmed when Stripe reports the payment. With `none`, staff take payment at the counter.",
    "**Idempotency:** the `Idempotency-Key` header is required. The same key with the same body (compared after parsing, so key order and whitespace do not matter) answers the first response again, with `Idempotent-Replayed: true`; the same key with a different body is 422 `idempotency_mismatch`. Keys are kept at least 24 hours per tenant. After a timeout or a 500 `payment_unavailable`, send the same request with the same key.",
  ].join("\n\n"),
  request: {
    params: TenantParam,
    headers: z.object({
      "idempotency-key": z
        .string({ error: "the Idempotency-Key header is required" })
        .min(8, "must be at least 8 characters")
        .max(255)
        .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
        .openapi({
          param: { name: "idempotency-key", in: "header" },
          example: "3f1d6c2e-5b7a-4e8f-9c0d-1a2b3c4d5e6f",
          description:
            "`Idempotency-Key` (header names are case-insensitive): required; 8–255 printable ASCII characters without spaces, such as a UUID, new for each order the customer means to place. The same key with the same body answers the first response again; with a different body, 422 `idempotency_mismatch`. Kept at least 24 hours per tenant.",
        }),
    }),
    body: {
      required: true,
      content: {
        "application/json": { schema: OrderDraftSchema, examples: ORDER_DRAFT_EXAMPLES },
      },
    },
  },
  responses: {
    201: {
      description:
        "The order, its access token and how to pay; a replay of an earlier request with the same key answers that request's response again.",
      headers: z.object({
        "Idempotent-Replayed": z
          .literal("true")
          .optional()
          .describe("`true` when this is the stored response of an earlier request with this key."),
      }),
      content: {
        "application/json": {
          schema: z.object({
            order: OrderSchema.openapi({ description: "The new order." }),
            accessToken: z
              .string()
              .describe(
                "The customer's secret for this order (base64url, 43 characters): `?token=` on `GET /v1/stores/{tenant}/orders/{id}` and the tracking page. Keep it with the customer only.",
              ),
            payment: z
              .object({
                provider: z
                  .enum(["stripe", "none"])
                  .describe("`stripe` to pay by card now; `none` when payment is taken in store."),
                clientSecret: z
                  .string()
                  .nullable()
                  .describe(
                    "The Stripe PaymentIntent's client secret (`pi_…_secret_…`) for Stripe.js; null with `none`.",
                  ),
              })
              .describe("How the customer pays."),
          }),
          examples: PLACED_ORDER_EXAMPLES,
        },
      },
    },
    ...errorResponses(
      {
        ...DRAFT_INVALID,
        when: `${DRAFT_INVALID.when}; or \`Idempotency-Key\` is missing or not 8–255 printable ASCII characters without spaces`,
      },
      "malformed_json",
      { code: "not_found", when: "no tenant has this slug" },
      "idempotency_mismatch",
      {
        code: "validation_failed",
        status: 422,
        when: "the draft is well formed but the tenant's POS cannot accept it (Toast needs a customer's first and last name, phone and email on pickup and delivery orders, and a delivery address with a two-letter state); `details.issues` names each field, and nothing is charged",
        message: "customer.phone: Toast needs the customer's phone number",
        details: {
          reason: "pos_requirements",
          provider: "toast",
          issues: [{ path: "customer.phone", message: "Toast needs the customer's phone number" }],
        },
      },
      "payload_too_large",
      {
        code: "rate_limited",
        when: "more than 60 orders in a minute from this client address for this tenant; wait `Retry-After` seconds",
      },
      {
        code: "internal",
        when: 'the payment processor could not be reached (down, timing out or rate limiting): `details` is `{ reason: "payment_unavailable", retryable: true }`, nothing was stored, and the same request with the same `Idempotency-Key` may be sent again. Any other 500 carries only `details.requestId`',
        message:
          "the payment processor could not be reached; nothing was stored, retry the same request",
        details: { reason: "payment_unavailable", retryable: true },
      },
    ),
  },
});

storefront.openapi(createOrderRoute, async (c) => {
  const placed = await placeOrder(
    c.env,
    c.get("db"),
    c.get("tenantId"),
    c.req.valid("json"),
    c.req.valid("header")["idempotency-key"],
    new Date(),
  );
  // The tenant as the order's own batch read it (for CORS after the route).
  c.set("tenant", placed.tenant);
  if (placed.replayed) c.header("Idempotent-Replayed", "true");
  deliverAfterResponse(c, placed.effects);
  return c.json(placed.body, 201);
});

const getOrderRoute = createRoute({
  method: "get",
  path: "/v1/stores/{tenant}/orders/{id}",
  tags: ["storefront"],
  summary: "Track an order with its access token",
  description:
    "The order as its customer may see it, given the `accessToken` its creation answered. A missing or wrong token is answered exactly like an unknown order, so ids cannot be probed.",
  request: {
    params: OrderIdParams,
    query: z.object({
      token: z
        .string()
        .max(200)
        .optional()
        .describe("The order's `accessToken`; without the right one the answer is 404."),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({ order: OrderSchema.openapi({ description: "The order." }) }),
      "The order.",
    ),
    ...errorResponses({
      code: "not_found",
      when: "no tenant has this slug, no such order, or the token is missing or wrong",
    }),
  },
});

storefront.openapi(getOrderRoute, async (c) => {
  const { id } = c.req.valid("param");
  const { token } = c.req.valid("query");
  const tenant = c.get("tenant");
  // One answer for "no such order" and "wrong token", so ids cannot be probed.
  const order = token ? await findOrder(c.get("db"), tenant.id, id) : undefined;
  if (!order || !token || !(await verifyOrderAccessToken(c.env, order.id, token))) {
    throw new ApiError("not_found", "unknown order or wrong token");
  }
  return c.json({ order: orderView(order, tenant.slug) }, 200);
});

export const storefrontOrderRoutes = storefront;
