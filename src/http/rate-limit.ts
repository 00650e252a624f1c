import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { readConfig } from "../config";
import type { RateDecision, RateRule } from "../durable/rate-counter";
import { logLine } from "../log";
import { ApiError } from "./errors";
import { type AppEnv, errorResponses } from "./router";

// Two mechanisms (docs/limits.md, "Rate limits"):
//
// - The Workers rate limiting binding (`[[ratelimits]]` in wrangler.toml) for per-client limits:
//   cheap, no round trip, but counted separately in each Cloudflare location and eventually
//   consistent, so approximate. Period and limit live in wrangler.toml.
//   https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/
// - The RateCounter Durable Object (src/durable/rate-counter.ts), one per tenant, for limits that
//   must hold exactly wherever the requests come from: terminal tickets and socket connections.
//   Limits are vars read by src/config.ts.

/**
 * Every `[[ratelimits]]` binding in wrangler.toml counts over 60 s. The binding does not say when
 * its window ends, so a refusal asks the client to wait one whole period.
 */
export const BINDING_PERIOD_SECONDS = 60;
const MINUTE_MS = 60_000;

/**
 * The client key of a request without `CF-Connecting-IP`. In production Cloudflare sets the
 * header to the address of the client connecting to it
 * (https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-connecting-ip).
 * Locally, `wrangler dev` sets it to the socket's address (127.0.0.1) only when the request has
 * none, and passes a client-supplied value through (test/e2e/rate-limit.test.ts), which the load
 * harnesses use to act as many customers. Only requests made inside workerd (the Worker tests'
 * `exports.default.fetch`) arrive without one; they share this one key: limited together,
 * never unlimited.
 */
export const UNKNOWN_CLIENT = "unknown";

type RateLimitBinding = {
  [K in keyof Env]: Env[K] extends RateLimit ? K : never;
}[keyof Env];

/**
 * The key a client is counted under: its IPv4 address, or the /64 of its IPv6 address (one
 * subscriber's usual allocation, so rotating through it does not buy a new budget).
 */
export function clientKey(headers: Headers): string {
  const raw = headers.get("cf-connecting-ip")?.trim();
  if (!raw) return UNKNOWN_CLIENT;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(raw);
  if (mapped?.[1]) return mapped[1];
  if (raw.includes(":")) return ipv6Prefix64(raw) ?? raw.slice(0, 64).toLowerCase();
  return raw.slice(0, 64);
}

/** `2001:db8:1:2:3:4:5:6` → `2001:db8:1:2::/64`; null when `ip` is not an IPv6 address. */
function ipv6Prefix64(ip: string): string | null {
  const halves = ip.toLowerCase().split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const prefix = groups.slice(0, 4);
  if (!prefix.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return `${prefix.map((g) => Number.parseInt(g, 16).toString(16)).join(":")}::/64`;
}

/** Answers 429 `rate_limited` with `Retry-After` (whole seconds, at least 1). */
function refuse(c: Context, retryAfterSeconds: number, message: string): never {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  c.header("Retry-After", String(seconds));
  throw new ApiError("rate_limited", `${message}; retry in ${seconds} s`, { retryAfter: seconds });
}

/**
 * Counts one request under `key` in a rate limiting binding; false when the key is over its
 * limit. A binding that fails lets the request through (logged): the limits protect capacity,
 * and an order platform that stops taking orders because its limiter failed protects nothing.
 */
async function underBindingLimit(env: Env, binding: RateLimitBinding, key: string) {
  try {
    return (await env[binding].limit({ key })).success;
  } catch (err) {
    console.error(
      logLine({
        level: "warn",
        msg: "rate limit binding failed; request let through",
        binding,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    return true;
  }
}

/** Middleware: per client (and with `perTenant`, per client and `:tenant`) in `binding`. */
function perClient(
  binding: RateLimitBinding,
  what: string,
  { perTenant }: { perTenant: boolean },
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const client = clientKey(c.req.raw.headers);
    const key = perTenant ? `${client} ${c.req.param("tenant") ?? ""}` : client;
    if (!(await underBindingLimit(c.env, binding, key))) {
      refuse(c, BINDING_PERIOD_SECONDS, `too many ${what} from this address`);
    }
    await next();
  };
}

/** `POST /v1/stores/:tenant/orders`: per client IP and tenant (RL_ORDER_CREATE). */
export const limitOrderCreation = perClient("RL_ORDER_CREATE", "orders", { perTenant: true });
/** `POST /v1/stores/:tenant/orders/preview`: per client IP and tenant (RL_ORDER_PREVIEW). */
export const limitOrderPreviews = perClient("RL_ORDER_PREVIEW", "order previews", {
  perTenant: true,
});
/** `GET /v1/stores/:tenant/discounts/:code`: per client IP, across tenants (RL_DISCOUNT_LOOKUP). */
export const limitDiscountLookups = perClient("RL_DISCOUNT_LOOKUP", "discount code look-ups", {
  perTenant: false,
});
/** `GET /v1/pos/:tenant/gift-cards/:code`: per client IP, across tenants (RL_GIFT_CARD_LOOKUP). */
export const limitGiftCardLookups = perClient("RL_GIFT_CARD_LOOKUP", "gift card look-ups", {
  perTenant: false,
});

// ---- refused credentials ----

/**
 * Clients over their budget of refused credentials, and until when (epoch ms). Counting alone
 * would not stop guessing: past the limit a wrong key would get 429 and a right one 200, still
 * telling them apart. So a client over the budget is refused before its key is even looked up,
 * right key or wrong, until the period is over. This map is per isolate; the count it acts on
 * (RL_REFUSED_CREDENTIAL) is per location, so a guesser spread over several isolates gets at
 * most one more try per isolate.
 */
const lockedOut = new Map<string, number>();
const MAX_LOCKED_OUT = 10_000;

/** Before a credential is looked up: 429 when this client is locked out (see above). */
export function refuseLockedOutClient(c: Context<AppEnv>): void {
  const client = clientKey(c.req.raw.headers);
  const until = lockedOut.get(client);
  if (until === undefined) return;
  const left = until - Date.now();
  if (left <= 0) {
    lockedOut.delete(client);
    return;
  }
  refuse(c, left / 1000, "too many requests with an unknown or revoked credential");
}

/**
 * After a key, admin token or socket ticket was refused (unknown, revoked, used or expired):
 * counts it for the client (RL_REFUSED_CREDENTIAL). Over the limit this answers 429 instead of
 * the 401 and locks the client out for one period.
 */
export async function countRefusedCredential(c: Context<AppEnv>): Promise<void> {
  const client = clientKey(c.req.raw.headers);
  if (await underBindingLimit(c.env, "RL_REFUSED_CREDENTIAL", client)) return;
  if (lockedOut.size >= MAX_LOCKED_OUT) {
    const now = Date.now();
    for (const [key, until] of lockedOut) if (until <= now) lockedOut.delete(key);
    // Still full: forget the oldest entry (Map keeps insertion order).
    const oldest = lockedOut.keys().next();
    if (lockedOut.size >= MAX_LOCKED_OUT && !oldest.done) lockedOut.delete(oldest.value);
  }
  lockedOut.set(client, Date.now() + BINDING_PERIOD_SECONDS * 1000);
  refuse(c, BINDING_PERIOD_SECONDS, "too many requests with an unknown or revoked credential");
}

// ---- exact limits (RateCounter) ----

const EXACT_MESSAGES: Record<string, string> = {
  ticket: "too many terminal tickets for this key",
  "socket-key": "too many terminal connections for this key",
  "socket-tenant": "too many terminal connections for this tenant",
};

/**
 * Takes one hit from each rule in the tenant's RateCounter, or answers 429 naming the rule that
 * was full. Like the binding, a counter that cannot be reached lets the request through (logged).
 */
async function takeExact(c: Context<AppEnv>, tenantId: string, rules: RateRule[]): Promise<void> {
  let decision: RateDecision;
  try {
    const stub = c.env.RATE_COUNTER.get(c.env.RATE_COUNTER.idFromName(tenantId));
    decision = await stub.take(rules);
  } catch (err) {
    console.error(
      logLine({
        level: "warn",
        msg: "rate counter failed; request let through",
        tenantId,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    return;
  }
  if (!decision.ok) {
    const kind = decision.rule.slice(0, decision.rule.indexOf(":"));
    refuse(c, decision.retryAfterMs / 1000, EXACT_MESSAGES[kind] ?? "too many requests");
  }
}

/** `POST /v1/pos/:tenant/terminals/ticket`, after `requireRole`: per API key, exact. */
export const limitTicketIssuing: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { rateLimits } = readConfig(c.env);
  await takeExact(c, c.get("tenant").id, [
    {
      name: `ticket:${c.get("apiKey").id}`,
      limit: rateLimits.ticketsPerKeyPerMinute,
      periodMs: MINUTE_MS,
    },
  ]);
  await next();
};

/**
 * `GET /ws/pos/:tenant`, once the upgrade is authenticated: per API key and per tenant, exact,
 * both counted or neither.
 */
export async function limitTerminalConnection(
  c: Context<AppEnv>,
  tenantId: string,
  keyId: string,
): Promise<void> {
  const { rateLimits } = readConfig(c.env);
  await takeExact(c, tenantId, [
    { name: `socket-key:${keyId}`, limit: rateLimits.socketsPerKeyPerMinute, periodMs: MINUTE_MS },
    {
      name: `socket-tenant:${tenantId}`,
      limit: rateLimits.socketsPerTenantPerMinute,
      periodMs: MINUTE_MS,
    },
  ]);
}

// ---- OpenAPI ----

/**
 * Every route that takes a credential (has `security`) can answer 429 once its client is over the
 * refused-credential limit; this adds that response to each of them (those that list
 * `rate_limited` already keep theirs). Run once, after every route module is mounted.
 */
export function documentCredentialLimit(registry: OpenAPIHono<AppEnv>["openAPIRegistry"]): void {
  for (const def of registry.definitions) {
    if (def.type !== "route" || !def.route.security?.length || def.route.responses[429]) continue;
    def.route.responses = {
      ...def.route.responses,
      ...errorResponses({
        code: "rate_limited",
        when: "this client sent too many unknown or revoked credentials (100 a minute): every request from it is refused for 60 s, whatever key it carries; wait `Retry-After` seconds",
      }),
    };
  }
}
