import { createRoute, z } from "@hono/zod-openapi";
import { isConstraintError } from "../db/client";
import { createTenant, findTenantBySlug, type Tenant } from "../db/tenants";
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
import { TenantSchema } from "./schemas";

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
  })
  .strict()
  .openapi("CreateTenant");

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
  });

export function tenantDto(tenant: Tenant): z.infer<typeof TenantSchema> {
  return {
    id: tenant.id,
    slug: tenant.slug,
    name: tenant.name,
    currency: tenant.currency,
    timezone: tenant.timezone,
    taxRateBps: tenant.taxRateBps,
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
