import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiKey } from "../db/api-keys";
import type { Db } from "../db/client";
import type { Tenant } from "../db/tenants";
import { PLATFORM_MAX_AMOUNT } from "../domain/pricing";
import { ApiError, ERROR_STATUS, ErrorBodySchema, type ErrorCode, validationError } from "./errors";

/** What middleware puts on the context for handlers. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    db: Db;
    tenant: Tenant;
    apiKey: ApiKey;
  };
}

/**
 * Every route module is built on this, so every zod failure (params, query,
 * headers, body) becomes the same `validation_failed` envelope.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });
}

/** OpenAPI response entries for the error codes a route can answer with. */
export function errorResponses(...codes: ErrorCode[]) {
  const out: Record<
    number,
    { description: string; content: { "application/json": { schema: typeof ErrorBodySchema } } }
  > = {};
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    const existing = out[status];
    out[status] = {
      description: existing ? `${existing.description}, ${code}` : code,
      content: { "application/json": { schema: ErrorBodySchema } },
    };
  }
  return out;
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const bearerSecurity = [{ bearer: [] as string[] }];

export const TenantParam = z.object({
  tenant: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, "must be a tenant slug")
    .openapi({ param: { name: "tenant", in: "path" }, example: "demo-bistro" }),
});

export const MoneySchema = z
  .object({
    amount: z.number().int().nonnegative().max(PLATFORM_MAX_AMOUNT),
    currency: z.string().regex(/^[A-Z]{3}$/),
  })
  .strict()
  .openapi("Money");

/**
 * Refuses an amount over the tenant's own ceiling (`maxAmount`, at most the
 * platform's) as a field error naming `path`.
 */
export function requireWithinLimit(
  tenant: Pick<Tenant, "maxAmount">,
  amount: number,
  path: string,
): number {
  if (amount > tenant.maxAmount) {
    const message = `must be at most ${tenant.maxAmount} (this store's limit, minor units)`;
    throw new ApiError("validation_failed", `${path}: ${message}`, {
      issues: [{ path, message }],
    });
  }
  return amount;
}

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
