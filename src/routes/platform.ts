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
import { requireAdmin } from "../http/auth";
import { ApiError } from "../http/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonContent,
  TenantParam,
} from "../http/router";
import { deliverEvents } from "../services/outbox";
import { TenantSchema } from "./schemas";

/**
 * The tenant's money ceiling (minor units): no price, modifier, tip,
 * discount or order total above it is accepted. At most the platform's
 * ceiling, 1 000 000.00.
 */
const MaxAmount = z.number().int().min(1).max(DEFAULT_MAX_AMOUNT);

const CreateTenantBody = z
  .object({
    slug: TenantParam.shape.tenant,
    name: z.string().trim().min(1).max(120),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD")
      .refine(isKnownCurrency, "is not an ISO 4217 currency"),
    timezone: z.string().min(1).max(64).refine(isKnownTimeZone, "is not an IANA time zone"),
    taxRateBps: z.number().int().min(0).max(10_000),
    maxAmount: MaxAmount.optional(),
  })
  .strict()
  .openapi("CreateTenant");

const UpdateTenantBody = z.object({ maxAmount: MaxAmount }).strict().openapi("UpdateTenant");

const createTenantRoute = createRoute({
  method: "post",
  path: "/v1/platform/tenants",
  tags: ["platform"],
  summary: "Create a tenant; its owner key is returned once",
  security: bearerSecurity,
  middleware: requireAdmin,
  request: { body: jsonBody(CreateTenantBody) },
  responses: {
    201: jsonContent(z.object({ tenant: TenantSchema, ownerKey: z.string() }), "created"),
    ...errorResponses("validation_failed", "unauthorized", "conflict"),
  },
});

const getTenantRoute = createRoute({
  method: "get",
  path: "/v1/platform/tenants/{tenant}",
  tags: ["platform"],
  summary: "Read a tenant",
  security: bearerSecurity,
  middleware: requireAdmin,
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ tenant: TenantSchema }), "the tenant"),
    ...errorResponses("unauthorized", "not_found"),
  },
});

const updateTenantRoute = createRoute({
  method: "patch",
  path: "/v1/platform/tenants/{tenant}",
  tags: ["platform"],
  summary: "Change a tenant's limits (maxAmount, minor units)",
  security: bearerSecurity,
  middleware: requireAdmin,
  request: { params: TenantParam, body: jsonBody(UpdateTenantBody) },
  responses: {
    200: jsonContent(z.object({ tenant: TenantSchema }), "the tenant"),
    ...errorResponses("validation_failed", "malformed_json", "unauthorized", "not_found"),
  },
});

const deleteTenantRoute = createRoute({
  method: "delete",
  path: "/v1/platform/tenants/{tenant}",
  tags: ["platform"],
  summary:
    "Delete a tenant: every key and ticket revoked, the POS disconnected, every terminal socket closed with 4401; its routes answer 404 and its slug stays taken",
  security: bearerSecurity,
  middleware: requireAdmin,
  request: { params: TenantParam },
  responses: {
    204: { description: "deleted" },
    ...errorResponses("unauthorized", "not_found"),
  },
});

export const platformRoutes = createRouter()
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
  .openapi(deleteTenantRoute, async (c) => {
    const db = c.get("db");
    const tenant = await findTenantBySlug(db, c.req.valid("param").tenant);
    const event = tenant ? await deleteTenant(db, tenant.id, new Date()) : null;
    if (!tenant || !event) throw new ApiError("not_found", "unknown tenant");
    c.executionCtx.waitUntil(deliverEvents(c.env, tenant, [event]));
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
