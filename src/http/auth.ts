import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { readConfig } from "../config";
import { sha256Hex, timingSafeEqual } from "../crypto";
import type { ApiKey } from "../db/api-keys";
import { getDb } from "../db/client";
import { findOrderAndIntegration, findOrderForKey, type OrderContext } from "../db/order-context";
import type { OrderWithItems } from "../db/orders";
import type { PosIntegrationRow } from "../db/pos-integrations";
import {
  findActiveApiKeyAndTenant,
  findTenantBySlug,
  rememberedTenantId,
  type Tenant,
} from "../db/tenants";
import { type KeyRole, roleCovers } from "../domain/roles";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";
import { countRefusedCredential, refuseLockedOutClient } from "./rate-limit";
import { adminSecurity, createRouter, keySecurity, publicSecurity } from "./router";

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** Platform routes: the `ADMIN_TOKEN` secret, compared in constant time. */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw new ApiError("unauthorized", "missing bearer token");
  refuseLockedOutClient(c);
  if (!timingSafeEqual(token, readConfig(c.env).adminToken)) {
    await countRefusedCredential(c);
    throw new ApiError("unauthorized", "invalid admin token");
  }
  c.set("db", getDb(c.env));
  await next();
};

/** Public storefront routes: resolves `:tenant` or answers 404. */
export const loadTenant: MiddlewareHandler<AppEnv> = async (c, next) => {
  // resolveTenantId ran: the route reads the tenant itself.
  if (c.get("tenantId")) return next();
  const db = getDb(c.env);
  const tenant = await findTenantBySlug(db, c.req.param("tenant") ?? "");
  if (!tenant) throw new ApiError("not_found", "unknown tenant");
  c.set("db", db);
  c.set("tenant", tenant);
  await next();
};

/**
 * For a route that reads its tenant row in its own first batch (placing an
 * order): only the slug's tenant id, from this isolate's memory when it has
 * served the slug before (slugs are never reused, db/tenants.ts), else read.
 */
export const resolveTenantId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const db = getDb(c.env);
  const slug = c.req.param("tenant") ?? "";
  let id = rememberedTenantId(slug);
  if (!id) {
    const tenant = await findTenantBySlug(db, slug);
    if (!tenant) throw new ApiError("not_found", "unknown tenant");
    id = tenant.id;
  }
  c.set("db", db);
  c.set("tenantId", id);
  await next();
};

/**
 * Tenant routes: a live key (401 otherwise) of this tenant (403 otherwise)
 * whose role covers `role` (403 otherwise).
 */
export function requireRole(role: KeyRole): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await checkKey(c, await presentedKeyHash(c), role);
    await next();
  };
}

/**
 * The guard of a route that checks its key in its own first read
 * (`readOrderForKey`): when this isolate has accepted the key before for the
 * path's tenant, its remembered row stands in for the key check and the
 * route's batch reads whether the key is still live and the tenant still
 * there. Otherwise the key is checked as `requireRole` does.
 */
function requireRoleInRead(role: KeyRole): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const hash = await presentedKeyHash(c);
    const known = knownKeys.get(hash);
    const tenantId = rememberedTenantId(c.req.param("tenant") ?? "");
    if (known && known.tenantId === tenantId && roleCovers(known.role, role)) {
      c.set("db", getDb(c.env));
      c.set("apiKey", known);
    } else {
      await checkKey(c, hash, role);
    }
    await next();
  };
}

/** The key check itself: the key and the path's tenant in one batch, then tenant and role. */
async function checkKey(c: Context<AppEnv>, hash: string, role: KeyRole): Promise<void> {
  const db = getDb(c.env);
  const { key, tenant } = await findActiveApiKeyAndTenant(db, hash, c.req.param("tenant") ?? "");
  if (!key) {
    forgetKey(hash);
    await countRefusedCredential(c);
    throw new ApiError("unauthorized", "invalid or revoked API key");
  }
  if (!tenant) throw new ApiError("not_found", "unknown tenant");
  if (key.tenantId !== tenant.id) {
    throw new ApiError("forbidden", "this key belongs to another tenant");
  }
  rememberKey(hash, key);
  c.set("db", db);
  c.set("tenant", tenant);
  c.set("apiKey", key);
  if (!roleCovers(key.role, role)) {
    throw new ApiError("forbidden", `this route needs the ${role} role`);
  }
}

/**
 * The order the path names, its tenant and the tenant's POS integration, for
 * a route on `keyRouter(role, { keyCheckInRead: true })`: one batch that also
 * proves the remembered key live (401 when revoked, as the guard answers) and
 * the tenant there (404), or, when the guard checked the key itself, one
 * batch for the order and integration.
 */
export async function readOrderForKey(
  c: Context<AppEnv>,
  orderId: string,
): Promise<{ tenant: Tenant; order: OrderWithItems; integration: PosIntegrationRow | undefined }> {
  const db = c.get("db");
  const key = c.get("apiKey");
  let tenant: Tenant | undefined = c.get("tenant");
  let context: Omit<OrderContext, "tenant">;
  if (tenant) {
    context = await findOrderAndIntegration(db, tenant.id, orderId);
  } else {
    const read = await findOrderForKey(db, key.tenantId, key.id, orderId);
    if (!read.keyLive) {
      forgetKey(key.keyHash);
      await countRefusedCredential(c);
      throw new ApiError("unauthorized", "invalid or revoked API key");
    }
    if (!read.tenant) throw new ApiError("not_found", "unknown tenant");
    tenant = read.tenant;
    c.set("tenant", tenant);
    context = read;
  }
  if (!context.order) throw new ApiError("not_found", "unknown order");
  return { tenant, order: context.order, integration: context.integration };
}

/** The hash of the request's bearer key; 401 without one, 429 for a locked-out client. */
async function presentedKeyHash(c: Context<AppEnv>): Promise<string> {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw new ApiError("unauthorized", "missing bearer token");
  refuseLockedOutClient(c);
  return sha256Hex(token);
}

/**
 * Keys this isolate has accepted, by hash. A key's id, tenant, role and label
 * never change once it is created; only its revocation does, and every use of
 * a remembered key reads that in the same batch as the route's own reads
 * (`readOrderForKey`). Bounded; forgotten when a check finds it revoked.
 */
const knownKeys = new Map<string, ApiKey>();
const MAX_REMEMBERED_KEYS = 10_000;

function rememberKey(hash: string, key: ApiKey): void {
  if (knownKeys.size >= MAX_REMEMBERED_KEYS) knownKeys.clear();
  knownKeys.set(hash, key);
}

function forgetKey(hash: string): void {
  knownKeys.delete(hash);
}

/**
 * A router whose every operation needs a key of the path's tenant with a role covering `role`
 * (owner ⊃ staff ⊃ terminal). The role is declared here, once per router: each operation gets
 * the guard (`requireRole`, before its own middleware and validators) and the `security` its
 * OpenAPI entry shows, so the two cannot disagree. A resource whose operations need different
 * roles has one router per role. With `keyCheckInRead`, its handlers read through
 * `readOrderForKey`, whose batch checks a remembered key (a hot path's round trip saved).
 */
export function keyRouter(
  role: KeyRole,
  options: { keyCheckInRead?: boolean } = {},
): OpenAPIHono<AppEnv> {
  return guardedRouter(
    keySecurity(role),
    options.keyCheckInRead ? requireRoleInRead(role) : requireRole(role),
  );
}

/** A router whose every operation needs the platform admin token, declared the same way. */
export function adminRouter(): OpenAPIHono<AppEnv> {
  return guardedRouter(adminSecurity, requireAdmin);
}

/**
 * A storefront router: its operations take no credentials, and the path's tenant is loaded
 * (`loadTenant`, 404 when unknown) before each runs.
 */
export function publicRouter(): OpenAPIHono<AppEnv> {
  return guardedRouter(publicSecurity, loadTenant);
}

function guardedRouter(
  security: RouteConfig["security"],
  guard: MiddlewareHandler<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = createRouter();
  // `openapi` is an instance property of OpenAPIHono (not a prototype method), so the router
  // wraps its own: every operation registered on it gets `security` and the guard first.
  const register = router.openapi;
  router.openapi = ((route: RouteConfig, handler: never, hook?: never) =>
    register(
      { ...route, security, middleware: [guard, ...[route.middleware ?? []].flat()] },
      handler,
      hook,
    )) as typeof register;
  return router;
}
