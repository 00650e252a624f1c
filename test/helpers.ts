import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

let counter = 0;
/** A slug no other test in this file uses. */
export function uniqueSlug(base = "t"): string {
  counter += 1;
  return `${base}-${Date.now().toString(36)}-${counter}`;
}

export interface CallOptions {
  method?: string;
  token?: string | undefined;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** The request a client would send to the Worker. */
export function clientRequest(path: string, options: CallOptions = {}): Request {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  } else if (body !== undefined) {
    headers["content-type"] ??= "application/json";
  }
  return new Request(`http://orderlane.test${path}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
}

/** Calls the Worker's own fetch handler as a client would. */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  return exports.default.fetch(clientRequest(path, options));
}

/** Calls and parses JSON, asserting the status first (with the body in the failure message). */
export async function callJson<T = Record<string, unknown>>(
  path: string,
  options: CallOptions,
  expectedStatus: number,
): Promise<T> {
  const res = await call(path, options);
  const text = await res.text();
  expect(res.status, `${options.method ?? "GET"} ${path} answered ${text}`).toBe(expectedStatus);
  return (text ? JSON.parse(text) : null) as T;
}

/** What a storefront sends for a one-item pickup order of `menuItemId`. */
export function orderDraft(menuItemId: string, overrides: Record<string, unknown> = {}) {
  return {
    orderType: "pickup",
    items: [{ menuItemId, quantity: 1 }],
    customer: { name: "Ada" },
    ...overrides,
  };
}

let orderSeq = 0;
/** The request options that place `orderDraft(menuItemId)`, each with an Idempotency-Key of its own. */
export function placeOrderOptions(
  menuItemId: string,
  extra: { body?: Record<string, unknown>; headers?: Record<string, string> } = {},
): CallOptions {
  return {
    body: orderDraft(menuItemId, extra.body),
    headers: { "idempotency-key": `order-${Date.now()}-${++orderSeq}`, ...extra.headers },
  };
}

/** The 201 answer to placing an order (the parts tests read). */
export interface PlacedOrder {
  order: { id: string; number: number; status: string; total: { amount: number } };
  payment: { clientSecret: string } | null;
}

/** Places a one-item pickup order at the storefront of `t`, which must answer 201. */
export function placeOrder(
  t: { slug: string },
  menuItemId: string,
  extra?: Parameters<typeof placeOrderOptions>[1],
): Promise<PlacedOrder> {
  return callJson<PlacedOrder>(
    `/v1/stores/${t.slug}/orders`,
    placeOrderOptions(menuItemId, extra),
    201,
  );
}

export interface ErrorEnvelope {
  code: string;
  message: string;
  details?: unknown;
  requestId: string;
}

/**
 * Asserts the contract's error envelope, with the request id the `x-request-id` header also
 * carries, and returns it.
 */
export async function expectError(
  res: Response,
  status: number,
  code: string,
): Promise<ErrorEnvelope> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const body = JSON.parse(text) as { error: ErrorEnvelope };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.requestId, text).toMatch(/^[\w-]{8,64}$/);
  expect(res.headers.get("x-request-id")).toBe(body.error.requestId);
  return body.error;
}

export interface TestTenant {
  slug: string;
  id: string;
  ownerKey: string;
}

export async function createTenant(
  overrides: Partial<{ slug: string; currency: string; taxRateBps: number }> = {},
): Promise<TestTenant> {
  const slug = overrides.slug ?? uniqueSlug();
  const body = await callJson<{ tenant: { id: string; slug: string }; ownerKey: string }>(
    "/v1/platform/tenants",
    {
      token: ADMIN_TOKEN,
      body: {
        slug,
        name: `Test ${slug}`,
        currency: overrides.currency ?? "USD",
        timezone: "America/New_York",
        taxRateBps: overrides.taxRateBps ?? 875,
      },
    },
    201,
  );
  return { slug, id: body.tenant.id, ownerKey: body.ownerKey };
}

export async function createKey(
  tenant: TestTenant,
  role: "owner" | "staff" | "terminal",
): Promise<string> {
  const body = await callJson<{ key: string }>(
    `/v1/admin/${tenant.slug}/keys`,
    { token: tenant.ownerKey, body: { role, label: `${role} key` } },
    201,
  );
  return body.key;
}

/** The id of a key, found by its clear text's prefix in the owner's key list. */
export async function keyIdOf(tenant: TestTenant, clear: string): Promise<string> {
  const { items } = await callJson<{ items: { id: string; prefix: string }[] }>(
    `/v1/admin/${tenant.slug}/keys`,
    { token: tenant.ownerKey },
    200,
  );
  const id = items.find((k) => clear.startsWith(k.prefix))?.id;
  if (!id) throw new Error("key not listed");
  return id;
}

let alertSeq = 0;
/** An open critical alert of the tenant, written straight to D1; returns its id. */
export async function insertOpenAlert(tenantId: string, orderId: string | null = null) {
  const id = `alr_test_${Date.now()}_${++alertSeq}`;
  const at = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO alerts (id, tenant_id, kind, level, order_id, message, created_at, last_raised_at, raise_count) VALUES (?, ?, 'pos_sync_failed', 'critical', ?, 'test alert', ?, ?, 1)",
  )
    .bind(id, tenantId, orderId, at, at)
    .run();
  return id;
}

export interface MenuItemBody {
  id: string;
  name: string;
  price: { amount: number; currency: string };
  modifiers: { id: string; name: string; price: { amount: number; currency: string } }[];
}

export async function createMenuItem(
  tenant: TestTenant,
  item: {
    name: string;
    price: number;
    modifiers?: { name: string; price: number }[];
    available?: boolean;
  },
  currency = "USD",
): Promise<MenuItemBody> {
  const body = await callJson<{ item: MenuItemBody }>(
    `/v1/admin/${tenant.slug}/menu/items`,
    {
      token: tenant.ownerKey,
      body: {
        name: item.name,
        price: { amount: item.price, currency },
        available: item.available ?? true,
        modifiers: (item.modifiers ?? []).map((m) => ({
          name: m.name,
          price: { amount: m.price, currency },
        })),
      },
    },
    201,
  );
  return body.item;
}

/** Row counts of every table a rejected request must leave untouched. */
export async function tableCounts(): Promise<Record<string, number>> {
  const tables = [
    "tenants",
    "api_keys",
    "menu_items",
    "menu_modifiers",
    "discount_codes",
    "orders",
    "order_items",
    "order_status_history",
    "idempotency_keys",
    "outbox_events",
    "alerts",
    "notifications",
    "webhook_events",
    "pos_integrations",
    "pos_oauth_states",
  ];
  const out: Record<string, number> = {};
  for (const table of tables) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
    out[table] = row?.n ?? -1;
  }
  return out;
}

export { until } from "./wait";
