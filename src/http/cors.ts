import type { MiddlewareHandler } from "hono";
import { getDb } from "../db/client";
import { findTenantBySlug } from "../db/tenants";
import type { AppEnv } from "./router";

/**
 * CORS for the API (https://fetch.spec.whatwg.org/#http-cors-protocol):
 *
 * - Storefront routes (`/v1/stores/:tenant/...`) are for pages on any origin:
 *   the tenant's `allowedOrigins`, or any origin when that list is empty.
 * - Staff and POS routes (`/v1/admin/:tenant/...`, `/v1/pos/:tenant/...`)
 *   allow only the tenant's `consoleOrigins`; platform routes no other
 *   origin. The Worker's own origin (its console and terminal pages) always.
 *
 * A preflight is answered here, before any route or its auth runs. An origin
 * that is not allowed gets no allow header and nothing else changes: the
 * request is processed as it would be without CORS, and the browser keeps
 * the answer from the page.
 */

/** How long a browser may cache a preflight's answer, in seconds. */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

const STOREFRONT = {
  methods: "GET, POST, OPTIONS",
  headers: "Content-Type, Idempotency-Key",
} as const;
const STAFF = {
  methods: "GET, POST, PUT, PATCH, DELETE, OPTIONS",
  headers: "Authorization, Content-Type, Idempotency-Key",
} as const;
/** Response headers a page may read besides the CORS-safelisted ones. */
const EXPOSED = "Retry-After, Idempotent-Replayed";

const STORE_PATH = /^\/v1\/stores\/([^/]+)(?:\/|$)/;
const TENANT_PATH = /^\/v1\/(?:admin|pos)\/([^/]+)(?:\/|$)/;

/**
 * An origin as a tenant's settings store it, or null when `text` is not one:
 * `scheme://host[:port]`, lower case, no path, http(s) only.
 */
export function normalizeOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username || url.password || url.search || url.hash) return null;
  if (url.pathname !== "/") return null;
  return url.origin;
}

export const cors: MiddlewareHandler<AppEnv> = async (c, next) => {
  const path = c.req.path;
  if (!path.startsWith("/v1/")) return next();
  const storefront = STORE_PATH.test(path);
  const rules = storefront ? STOREFRONT : STAFF;
  const origin = c.req.header("origin");

  if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
    const headers = new Headers({ Vary: "Origin" });
    if (origin && (await originAllowed(c, origin, storefront))) {
      headers.set("Access-Control-Allow-Origin", origin);
      headers.set("Access-Control-Allow-Methods", rules.methods);
      headers.set("Access-Control-Allow-Headers", rules.headers);
      headers.set("Access-Control-Max-Age", String(PREFLIGHT_MAX_AGE_SECONDS));
    }
    return new Response(null, { status: 204, headers });
  }

  // Decided after the route ran, so the tenant it read (if any) is not read again, and a
  // request refused before it (a rate limit) cost no read to reach that refusal.
  await next();
  c.res.headers.append("Vary", "Origin");
  if (origin && (await originAllowed(c, origin, storefront))) {
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.set("Access-Control-Expose-Headers", EXPOSED);
  }
};

async function originAllowed(
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  origin: string,
  storefront: boolean,
): Promise<boolean> {
  if (origin === new URL(c.req.url).origin) return true;
  const slug = (storefront ? STORE_PATH : TENANT_PATH).exec(c.req.path)?.[1];
  // Platform routes, and anything else without a tenant: the Worker's own origin only.
  if (!slug) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(slug);
  } catch {
    return storefront;
  }
  const known = c.get("tenant");
  const tenant = known?.slug === decoded ? known : await findTenantBySlug(getDb(c.env), decoded);
  if (!tenant) return storefront; // so a storefront can read the 404
  if (storefront) {
    return tenant.allowedOrigins.length === 0 || tenant.allowedOrigins.includes(origin);
  }
  return tenant.consoleOrigins.includes(origin);
}
