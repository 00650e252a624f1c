import { createRoute, z } from "@hono/zod-openapi";
import { isConstraintError } from "../db/client";
import {
  createTenant,
  DEFAULT_MAX_AMOUNT,
  deleteTenant,
  findTenantBySlug,
  type Tenant,
  updateTenantLimits,
} from "../db/tenants";
import { findWebhookVerification, PLATFORM_SCOPE } from "../db/webhook-events";
import { deliverAfterResponse } from "../delivery";
import { adminRouter } from "../http/auth";
import { ApiError } from "../http/errors";
import { errorResponses, jsonBody, jsonContent, TenantParam } from "../http/router";
import { effectsOf } from "../services/effects";
import { serverTime, TenantSchema } from "./schemas";

/**
 * The tenant's money ceiling (minor units): no price, modifier, tip,
 * discount or order total above it is accepted. At most the platform's
 * ceiling, 1 000 000.00.
 */
const MaxAmount = z
  .number()
  .int()
  .min(1)
  .max(DEFAULT_MAX_AMOUNT)
  .describe(
    "The largest amount, in minor units, the tenant accepts for any price, modifier, tip, discount or order total: 1 to 100 000 000 (1 000 000.00, also the default).",
  );

const CreateTenantBody = z
  .object({
    slug: TenantParam.shape.tenant.openapi({
      description:
        "The tenant's slug, in every path of its routes: 1–64 lower-case letters, digits and inner hyphens; taken for good once used, even after the tenant is deleted.",
    }),
    name: z.string().trim().min(1).max(120).describe("The restaurant's name; 1–120 characters."),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD")
      .refine(isKnownCurrency, "is not an ISO 4217 currency")
      .describe("ISO 4217 code, upper case (`USD`): every price and payment is in it."),
    timezone: z
      .string()
      .min(1)
      .max(64)
      .refine(isKnownTimeZone, "is not an IANA time zone")
      .describe("IANA time zone of the restaurant (`America/New_York`)."),
    taxRateBps: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .describe(
        "Sales tax in basis points of the subtotal after discount: 875 is 8.75 %; 0–10 000.",
      ),
    maxAmount: MaxAmount.optional(),
  })
  .strict()
  .openapi("CreateTenant", { description: "A new tenant. Unknown fields are refused." });

const UpdateTenantBody = z
  .object({ maxAmount: MaxAmount })
  .strict()
  .openapi("UpdateTenant", { description: "The tenant's limits. Unknown fields are refused." });

const TenantOut = TenantSchema.openapi({ description: "The tenant." });

const createTenantRoute = createRoute({
  method: "post",
  path: "/v1/platform/tenants",
  tags: ["platform"],
  summary: "Create a tenant; its owner key is returned once",
  description:
    "Creates a restaurant and its first API key, with role `owner`. The key is shown only in this answer: store it, then create staff and terminal keys with it.",
  request: { body: jsonBody(CreateTenantBody) },
  responses: {
    201: jsonContent(
      z.object({
        tenant: TenantOut,
        ownerKey: z
          .string()
          .describe("The tenant's owner key (`olk_…`), as `Authorization: Bearer`; shown once."),
      }),
      "Created.",
    ),
    ...errorResponses("validation_failed", "unauthorized", {
      code: "conflict",
      when: "the slug is taken (slugs of deleted tenants stay taken)",
    }),
  },
});

const getTenantRoute = createRoute({
  method: "get",
  path: "/v1/platform/tenants/{tenant}",
  tags: ["platform"],
  summary: "Read a tenant",
  description: "The tenant's settings and limits.",
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ tenant: TenantOut }), "The tenant."),
    ...errorResponses("unauthorized", {
      code: "not_found",
      when: "no tenant has this slug, or it was deleted",
    }),
  },
});

const updateTenantRoute = createRoute({
  method: "patch",
  path: "/v1/platform/tenants/{tenant}",
  tags: ["platform"],
  summary: "Change a tenant's limits (maxAmount, minor units)",
  description:
    "Sets the tenant's money ceiling. It applies to requests from now on; existing menu prices and orders are not changed.",
  request: { params: TenantParam, body: jsonBody(UpdateTenantBody) },
  responses: {
    200: jsonContent(z.object({ tenant: TenantOut }), "The tenant after the change."),
    ...errorResponses("validation_failed", "malformed_json", "unauthorized", {
      code: "not_found",
      when: "no tenant has this slug, or it was deleted",
    }),
  },
});

const deleteTenantRoute = createRoute({
  method: "delete",
  path: "/v1/platform/tenants/{tenant}",
  tags: ["platform"],
  summary: "Delete a tenant",
  description:
    "Deletes a tenant: every key and ticket is revoked, the POS disconnected, every terminal socket closed with code 4401; from then on its routes answer 404. Its orders stay for the books and its slug stays taken.",
  request: { params: TenantParam },
  responses: {
    204: { description: "Deleted." },
    ...errorResponses("unauthorized", {
      code: "not_found",
      when: "no tenant has this slug, or it was deleted already",
    }),
  },
});

const webhookVerificationRoute = createRoute({
  method: "get",
  path: "/v1/platform/webhooks/clover/verification",
  tags: ["platform"],
  summary: "The code Clover sent to verify the app-wide webhook URL",
  description:
    "When the app-wide `POST /webhooks/pos/clover` is saved as the Clover app's webhook URL, Clover POSTs a verification code there; paste this code back into the app's webhook settings in Clover's dashboard.",
  responses: {
    200: jsonContent(
      z.object({
        verification: z
          .union([
            z.object({
              code: z.string().describe("The code to paste into Clover's dashboard."),
              receivedAt: serverTime("When Clover sent it"),
            }),
            z.null(),
          ])
          .describe("The newest code Clover sent; null before any."),
      }),
      "The code, or null.",
    ),
    ...errorResponses(),
  },
});

export const platformRoutes = adminRouter()
  .openapi(createTenantRoute, async (c) => {
    const input = c.req.valid("json");
    const db = c.get("db");
    try {
      const { tenant, ownerKey } = await createTenant(db, input, new Date());
      return c.json({ tenant: tenantDto(tenant), ownerKey }, 201);
    } catch (err) {
      if (isConstraintError(err, "tenants.slug")) {
        throw new ApiError("conflict", `tenant slug "${input.slug}" is taken`);
      }
      throw err;
    }
  })
  .openapi(getTenantRoute, async (c) => {
    const tenant = await findTenantBySlug(c.get("db"), c.req.valid("param").tenant);
    if (!tenant) throw new ApiError("not_found", "unknown tenant");
    return c.json({ tenant: tenantDto(tenant) }, 200);
  })
  .openapi(updateTenantRoute, async (c) => {
    const db = c.get("db");
    const tenant = await findTenantBySlug(db, c.req.valid("param").tenant);
    if (!tenant) throw new ApiError("not_found", "unknown tenant");
    const updated = await updateTenantLimits(db, tenant.id, c.req.valid("json"), new Date());
    if (!updated) throw new ApiError("not_found", "unknown tenant");
    return c.json({ tenant: tenantDto(updated) }, 200);
  })
  .openapi(webhookVerificationRoute, async (c) =>
    c.json(
      { verification: await findWebhookVerification(c.get("db"), "clover", PLATFORM_SCOPE) },
      200,
    ),
  )
  .openapi(deleteTenantRoute, async (c) => {
    const db = c.get("db");
    const tenant = await findTenantBySlug(db, c.req.valid("param").tenant);
    const event = tenant ? await deleteTenant(db, tenant.id, new Date()) : null;
    if (!tenant || !event) throw new ApiError("not_found", "unknown tenant");
    deliverAfterResponse(c, effectsOf(tenant, { events: [event] }));
    return c.body(null, 204);
  });

export function tenantDto(tenant: Tenant): z.infer<typeof TenantSchema> {
  return {
    id: tenant.id,
    slug: tenant.slug,
    name: tenant.name,
    currency: tenant.currency,
    timezone: tenant.timezone,
    taxRateBps: tenant.taxRateBps,
    maxAmount: tenant.maxAmount,
    createdAt: tenant.createdAt,
  };
}

function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function isKnownCurrency(code: string): boolean {
  try {
    return Intl.supportedValuesOf("currency").includes(code);
  } catch {
    return true;
  }
}
