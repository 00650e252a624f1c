import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { readConfig } from "../config";
import { timingSafeEqual } from "../crypto";
import { getDb } from "../db/client";
import { findActiveApiKeyAndTenant, findTenantBySlug, rememberedTenantId } from "../db/tenants";
import { type KeyRole, roleCovers } from "../domain/roles";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";
import { countRefusedCredential, refuseLockedOutClient } from "./rate-limit";
import { adminSecurity, createRouter, keySecurity } from "./router";

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
    let key = c.get("apiKey");
    if (!key) {
      const token = bearerToken(c.req.header("authorization"));
      if (!token) throw new ApiError("unauthorized", "missing bearer token");
      refuseLockedOutClient(c);
      const db = getDb(c.env);
      const { key: found, tenant } = await findActiveApiKeyAndTenant(
        db,
        token,
        c.req.param("tenant") ?? "",
      );
      if (!found) {
        await countRefusedCredential(c);
        throw new ApiError("unauthorized", "invalid or revoked API key");
      }
      if (!tenant) throw new ApiError("not_found", "unknown tenant");
      if (found.tenantId !== tenant.id) {
        throw new ApiError("forbidden", "this key belongs to another tenant");
      }
      c.set("db", db);
      c.set("tenant", tenant);
      c.set("apiKey", found);
      key = found;
    }
    if (!roleCovers(key.role, role)) {
      throw new ApiError("forbidden", `this route needs the ${role} role`);
    }
    await next();
  };
}

/**
 * A router whose every operation needs a key of the path's tenant with a role covering `role`
 * (owner ⊃ staff ⊃ terminal). The role is declared here, once per router: each operation gets
 * the guard (`requireRole`, before its own middleware and validators) and the `security` its
 * OpenAPI entry shows, so the two cannot disagree. A resource whose operations need different
 * roles has one router per role.
 */
export function keyRouter(role: KeyRole): OpenAPIHono<AppEnv> {
  return guardedRouter(keySecurity(role), requireRole(role));
}

/** A router whose every operation needs the platform admin token, declared the same way. */
export function adminRouter(): OpenAPIHono<AppEnv> {
  return guardedRouter(adminSecurity, requireAdmin);
}

function guardedRouter(
  security: RouteConfig["security"],
  guard: MiddlewareHandler<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = createRouter();
  const register = router.openapi;
  router.openapi = ((route: RouteConfig, handler: never, hook?: never) =>
    register(
      { ...route, security, middleware: [guard, ...[route.middleware ?? []].flat()] },
      handler,
      hook,
    )) as typeof register;
  return router;
}
