import { createRoute, z } from "@hono/zod-openapi";
import { readConfig } from "../../config";
import { discountForPricing, findDiscount } from "../../db/discounts";
import { listMenuCategories, listMenuItems } from "../../db/menu";
import { isAvailableAt } from "../../domain/availability";
import { checkDiscount } from "../../domain/pricing";
import { publicRouter } from "../../http/auth";
import { ApiError } from "../../http/errors";
import { limitDiscountLookups } from "../../http/rate-limit";
import {
  errorResponses,
  jsonContent,
  MoneySchema,
  registerComponents,
  TenantParam,
} from "../../http/router";
import {
  MenuCategorySchema,
  menuCategoryDto,
  PublicMenuItemSchema,
  publicMenuItemDto,
} from "../schemas";

// What a storefront reads about the store: its profile and payment setup, the menu, a discount
// code's terms.

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
  .openapi("Store", { description: "What a storefront needs to know about the store." });

const storefront = publicRouter();
registerComponents(storefront.openAPIRegistry, {
  Store: StoreSchema,
  PublicMenuItem: PublicMenuItemSchema,
});
// Before the tenant is loaded, so a refused request costs no database read.
storefront.on("GET", "/v1/stores/:tenant/discounts/:code", limitDiscountLookups);

const storeRoute = createRoute({
  method: "get",
  path: "/v1/stores/{tenant}",
  tags: ["storefront"],
  summary: "Store configuration for a storefront",
  description:
    "Public. What a storefront needs before showing the menu: the store's name, currency, time zone, tax rate and how it takes payment (the Stripe publishable key for Stripe.js).",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({ store: StoreSchema.openapi({ description: "The store's configuration." }) }),
      "The store.",
    ),
    ...errorResponses({ code: "not_found", when: "no tenant has this slug" }),
  },
});

storefront.openapi(storeRoute, (c) => {
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
});

const menuRoute = createRoute({
  method: "get",
  path: "/v1/stores/{tenant}/menu",
  tags: ["storefront"],
  summary: "The tenant's available menu",
  description:
    "The restaurant's name and currency, and every menu item that can be ordered now, with its modifiers and prices; unavailable items are left out. Use the item and modifier ids in an `OrderDraft`.",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({
        tenant: z
          .object({
            slug: z.string().describe("The tenant's slug."),
            name: z.string().describe("The restaurant's name."),
            currency: z.string().describe("ISO 4217 code of every price on the menu (`USD`)."),
          })
          .describe("The restaurant."),
        categories: z
          .array(MenuCategorySchema)
          .describe("The menu's headings, in order; an item names its own in `categoryId`."),
        items: z
          .array(PublicMenuItemSchema)
          .describe("The items that can be ordered now, in menu order."),
      }),
      "The menu.",
    ),
    ...errorResponses({ code: "not_found", when: "no tenant has this slug" }),
  },
});

storefront.openapi(menuRoute, async (c) => {
  const tenant = c.get("tenant");
  const db = c.get("db");
  const now = new Date();
  const [items, categories] = await Promise.all([
    listMenuItems(db, tenant.id),
    listMenuCategories(db, tenant.id),
  ]);
  return c.json(
    {
      tenant: { slug: tenant.slug, name: tenant.name, currency: tenant.currency },
      categories: categories.map(menuCategoryDto),
      items: items
        .filter((item) => isAvailableAt(item, now))
        .map((item) => publicMenuItemDto(item, tenant.currency, now)),
    },
    200,
  );
});

const discountRoute = createRoute({
  method: "get",
  path: "/v1/stores/{tenant}/discounts/{code}",
  tags: ["storefront"],
  summary: "Check a discount code",
  description:
    "Whether a code can be used now (known, not expired, not used up) and what it takes off. Its minimum subtotal is checked when an order is priced, not here.",
  request: {
    params: TenantParam.extend({
      code: z
        .string()
        .min(1)
        .max(40)
        .openapi({
          param: { name: "code", in: "path" },
          description: "The code as the customer typed it; case does not matter.",
        }),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({
        code: z.string().describe("The code, upper case."),
        kind: z
          .enum(["percent", "fixed"])
          .describe("`percent` of the subtotal, or a `fixed` amount off."),
        value: z
          .number()
          .int()
          .describe(
            "For `percent`, whole percent (10 is 10 %, 1–100); for `fixed`, minor units of the tenant's currency.",
          ),
        minSubtotal: MoneySchema.openapi({
          description: "The subtotal an order needs for the code to apply; 0 for none.",
        }),
        expiresAt: z
          .string()
          .nullable()
          .describe(
            "When the code stops working, ISO 8601 as the owner set it (with its UTC offset); null for never.",
          ),
      }),
      "A usable discount code.",
    ),
    ...errorResponses(
      {
        code: "not_found",
        when: "no tenant has this slug, the code is unknown, or it cannot be used now (`details.reason`: `discount_expired` or `discount_exhausted`)",
      },
      {
        code: "rate_limited",
        when: "more than 60 code look-ups in a minute from this client address, across all tenants; wait `Retry-After` seconds",
      },
    ),
  },
});

storefront.openapi(discountRoute, async (c) => {
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
});

export const storeRoutes = storefront;
