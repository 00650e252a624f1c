import { fromBase64 } from "./crypto";

/** The Worker's settings, read and checked once from vars and secrets. */
export interface Config {
  adminToken: string;
  credentialsKey: Uint8Array;
  maxTerminalsPerTenant: number;
  /** Vendor API base URLs, by provider. */
  posBaseUrls: { toast: string; clover: string; square: string };
  posTimeoutMs: number;
  /**
   * POS_DOWN_AFTER_SECONDS: how long a POS must go without answering (three attempts in a row
   * unanswered) before new orders are taken by hand (services/pos-outage.ts); 120 by default.
   */
  posDownAfterMs: number;
  /**
   * Our OAuth apps at Square and Clover (SQUARE_APP_ID/SQUARE_APP_SECRET, CLOVER_APP_ID/
   * CLOVER_APP_SECRET); null where not configured: owners then connect with credentials.
   */
  posOAuthApps: { square: OAuthAppConfig | null; clover: OAuthAppConfig | null };
  /**
   * CLOVER_WEBHOOK_AUTH_CODE: the auth code our Clover app's webhooks carry in X-Clover-Auth, for
   * the app-wide `POST /webhooks/pos/clover`; null when that URL is not in use.
   */
  cloverWebhookAuthCode: string | null;
  /** Where an owner grants access: Square's API origin, Clover's web origin (POS_CLOVER_AUTHORIZE_URL). */
  posAuthorizeUrls: { square: string; clover: string };
  /** PUBLIC_BASE_URL: the origin vendors call (no trailing slash); null to use the request's. */
  publicBaseUrl: string | null;
  /** The exact limits the RateCounter object keeps, each per sliding minute (docs/limits.md, "Rate limits"). */
  rateLimits: {
    ticketsPerKeyPerMinute: number;
    socketsPerKeyPerMinute: number;
    socketsPerTenantPerMinute: number;
  };
  /** Null when no Stripe key is configured: orders then carry no PaymentIntent. */
  stripe: {
    secretKey: string;
    apiBase: string | undefined;
    /** What storefronts hand Stripe.js (`pk_…`); null when not configured. */
    publishableKey: string | null;
  } | null;
  stripeWebhookSecret: string;
}

export interface OAuthAppConfig {
  clientId: string;
  clientSecret: string;
}

const cache = new WeakMap<Env, Config>();

/**
 * Reads the typed configuration from the Worker's env. A missing or malformed
 * secret is a deployment error, so it throws (answered as `internal`, with the
 * reason in the log only).
 */
export function readConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  if (!env.ADMIN_TOKEN || env.ADMIN_TOKEN.length < 16) {
    throw new Error("ADMIN_TOKEN is not set or shorter than 16 characters");
  }
  let credentialsKey: Uint8Array;
  try {
    credentialsKey = fromBase64(env.CREDENTIALS_KEY ?? "");
  } catch {
    throw new Error("CREDENTIALS_KEY is not valid base64");
  }
  if (credentialsKey.length !== 32) {
    throw new Error("CREDENTIALS_KEY must be 32 bytes, base64-encoded");
  }
  const maxTerminals = Number.parseInt(env.MAX_TERMINALS_PER_TENANT ?? "200", 10);
  const timeout = Number.parseInt(env.POS_TIMEOUT_MS ?? "10000", 10);
  const config: Config = {
    adminToken: env.ADMIN_TOKEN,
    credentialsKey,
    maxTerminalsPerTenant: Number.isFinite(maxTerminals) && maxTerminals > 0 ? maxTerminals : 200,
    posBaseUrls: {
      toast: env.POS_TOAST_BASE_URL,
      clover: env.POS_CLOVER_BASE_URL,
      square: env.POS_SQUARE_BASE_URL,
    },
    posTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 10_000,
    posDownAfterMs: positiveInt(env.POS_DOWN_AFTER_SECONDS, 120) * 1000,
    posOAuthApps: {
      square: oauthApp("SQUARE_APP", env.SQUARE_APP_ID, env.SQUARE_APP_SECRET),
      clover: oauthApp("CLOVER_APP", env.CLOVER_APP_ID, env.CLOVER_APP_SECRET),
    },
    cloverWebhookAuthCode: env.CLOVER_WEBHOOK_AUTH_CODE?.trim() || null,
    posAuthorizeUrls: {
      square: env.POS_SQUARE_BASE_URL,
      clover: env.POS_CLOVER_AUTHORIZE_URL,
    },
    publicBaseUrl: readPublicBaseUrl(env.PUBLIC_BASE_URL),
    rateLimits: {
      ticketsPerKeyPerMinute: positiveInt(env.TICKETS_PER_KEY_PER_MINUTE, 120),
      socketsPerKeyPerMinute: positiveInt(env.SOCKETS_PER_KEY_PER_MINUTE, 120),
      socketsPerTenantPerMinute: positiveInt(env.SOCKETS_PER_TENANT_PER_MINUTE, 600),
    },
    stripe: env.STRIPE_SECRET_KEY
      ? {
          secretKey: env.STRIPE_SECRET_KEY,
          apiBase: env.STRIPE_API_BASE || undefined,
          publishableKey: /^pk_(?:test|live)_\w+$/.test(env.STRIPE_PUBLISHABLE_KEY ?? "")
            ? env.STRIPE_PUBLISHABLE_KEY
            : null,
        }
      : null,
    stripeWebhookSecret: env.STRIPE_WEBHOOK_SECRET ?? "",
  };
  cache.set(env, config);
  return config;
}

/**
 * PUBLIC_BASE_URL as an origin: empty is null; anything but an http(s) origin (a path, a query)
 * is a deployment error, since every URL a vendor was given would be wrong.
 */
function readPublicBaseUrl(raw: string | undefined): string | null {
  const text = raw?.trim() ?? "";
  if (!text) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error("PUBLIC_BASE_URL is not a URL");
  }
  if (!/^https?:$/.test(url.protocol) || url.pathname.replace(/\/+$/, "") || url.search) {
    throw new Error("PUBLIC_BASE_URL must be an http(s) origin without a path or query");
  }
  return url.origin;
}

/** The vendor API's base URL for `provider`; "" for those without one (webhook, sandbox). */
export function posBaseUrlOf(config: Pick<Config, "posBaseUrls">, provider: string): string {
  return provider === "toast" || provider === "clover" || provider === "square"
    ? config.posBaseUrls[provider]
    : "";
}

/**
 * The URL a vendor called to reach this request, as it was given that URL: the configured
 * public origin with the request's path and query, or the request's own URL without one.
 */
export function publicUrlOf(config: Pick<Config, "publicBaseUrl">, requestUrl: string): string {
  if (!config.publicBaseUrl) return requestUrl;
  const { pathname, search } = new URL(requestUrl);
  return `${config.publicBaseUrl}${pathname}${search}`;
}

/** An OAuth app when both its id and secret are set; null when neither is; half of one is an error. */
function oauthApp(
  name: string,
  id: string | undefined,
  secret: string | undefined,
): OAuthAppConfig | null {
  const clientId = id?.trim() ?? "";
  const clientSecret = secret?.trim() ?? "";
  if (!clientId && !clientSecret) return null;
  if (!clientId || !clientSecret) {
    throw new Error(`${name}_ID and ${name}_SECRET are set together or not at all`);
  }
  return { clientId, clientSecret };
}

/** A var holding a positive integer, or `fallback` when it is unset or not one. */
function positiveInt(raw: string | undefined, fallback: number): number {
  const value = Number.parseInt(raw ?? "", 10);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
