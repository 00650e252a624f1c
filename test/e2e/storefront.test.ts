import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, getFreePort, startDevServer } from "../../tools/dev-server.mjs";

// A storefront developer's view of Orderlane: a real `wrangler dev` (local D1, Durable
// Objects and queues) on a free port with its own empty state, driven only with fetch.

const ADMIN_TOKEN = `e2e-admin-${randomUUID()}`;
const TAX_RATE_BPS = 875;

interface Money {
  amount: number;
  currency: string;
}
interface MenuItem {
  id: string;
  name: string;
  description: string;
  price: Money;
  available: boolean;
  posItemId: string | null;
  modifiers: { id: string; name: string; price: Money; posModifierId: string | null }[];
}
interface OrderLine {
  menuItemId: string;
  name: string;
  quantity: number;
  unitPrice: Money;
  modifiers: { id: string; name: string; price: Money }[];
  lineTotal: Money;
}
interface Totals {
  subtotal: Money;
  discount: Money;
  tax: Money;
  tip: Money;
  total: Money;
}
interface Order extends Totals {
  id: string;
  number: number;
  tenant: string;
  status: string;
  paymentStatus: string;
  orderType: string;
  customer: { name: string; email: string | null; phone: string | null };
  items: OrderLine[];
}
interface PlacedOrder {
  order: Order;
  accessToken: string;
  payment: { provider: string; clientSecret: string | null };
}
interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

let server: DevServer | undefined;
let persistDir: string | undefined;

/** The running server's base URL. */
function baseUrl(): string {
  if (!server) throw new Error("the dev server is not running");
  return server.url;
}

beforeAll(async () => {
  persistDir = await mkdtemp(path.join(tmpdir(), "orderlane-e2e-"));
  server = await startDevServer({
    port: await getFreePort(),
    persistTo: persistDir,
    // Explicit values, so the run does not depend on (or get overridden by) a .dev.vars.
    vars: {
      ADMIN_TOKEN,
      CREDENTIALS_KEY: randomBytes(32).toString("base64"),
      STRIPE_WEBHOOK_SECRET: "whsec_e2e_local_secret",
      STRIPE_SECRET_KEY: "",
    },
  });
});

afterAll(async () => {
  await server?.stop();
  if (persistDir) await rm(persistDir, { recursive: true, force: true });
});

interface RequestOptions {
  method?: string;
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** One HTTP call to the server, JSON in and out. */
async function request(
  urlPath: string,
  options: RequestOptions = {},
): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const payload = options.body !== undefined ? JSON.stringify(options.body) : options.rawBody;
  if (payload !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${baseUrl()}${urlPath}`, {
    method: options.method ?? (payload === undefined ? "GET" : "POST"),
    headers,
    body: payload,
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Calls and asserts the status (showing the body when it differs). */
async function requestJson<T>(
  urlPath: string,
  options: RequestOptions,
  expectedStatus: number,
): Promise<T> {
  const res = await request(urlPath, options);
  expect(res.status, `${options.method ?? "request"} ${urlPath}: ${res.text}`).toBe(expectedStatus);
  return res.body as T;
}

/** Asserts the contract's error envelope. */
function expectError(
  res: { status: number; body: unknown; text: string },
  status: number,
  code: string,
): void {
  expect(res.status, res.text).toBe(status);
  const { error } = res.body as ErrorBody;
  expect(error.code).toBe(code);
  expect(typeof error.message).toBe("string");
  expect(error.message.length).toBeGreaterThan(0);
}

let slugCounter = 0;
const usd = (amount: number): Money => ({ amount, currency: "USD" });

interface Store {
  slug: string;
  name: string;
  ownerKey: string;
  burger: MenuItem;
  fries: MenuItem;
  lemonade: MenuItem;
  hidden: MenuItem;
}

/** A fresh tenant with a small menu and the WELCOME10 code, created as its owner would. */
async function createStore(): Promise<Store> {
  slugCounter += 1;
  const slug = `e2e-${Date.now().toString(36)}-${slugCounter}`;
  const name = `Bistro ${slugCounter}`;
  const created = await requestJson<{ tenant: { id: string; slug: string }; ownerKey: string }>(
    "/v1/platform/tenants",
    {
      token: ADMIN_TOKEN,
      body: {
        slug,
        name,
        currency: "USD",
        timezone: "America/New_York",
        taxRateBps: TAX_RATE_BPS,
      },
    },
    201,
  );
  expect(created.tenant.slug).toBe(slug);
  const { ownerKey } = created;

  const addItem = async (item: {
    name: string;
    price: number;
    available?: boolean;
    modifiers?: { name: string; price: number }[];
  }): Promise<MenuItem> => {
    const { item: saved } = await requestJson<{ item: MenuItem }>(
      `/v1/admin/${slug}/menu/items`,
      {
        token: ownerKey,
        body: {
          name: item.name,
          description: `${item.name}, made to order`,
          price: usd(item.price),
          available: item.available ?? true,
          posItemId: null,
          modifiers: (item.modifiers ?? []).map((m) => ({
            name: m.name,
            price: usd(m.price),
            posModifierId: null,
          })),
        },
      },
      201,
    );
    return saved;
  };
  const burger = await addItem({
    name: "Smash Burger",
    price: 1395,
    modifiers: [
      { name: "Add cheese", price: 150 },
      { name: "Add bacon", price: 250 },
    ],
  });
  const fries = await addItem({
    name: "Fries",
    price: 495,
    modifiers: [{ name: "Large", price: 200 }],
  });
  const lemonade = await addItem({ name: "Lemonade", price: 395 });
  const hidden = await addItem({ name: "Off-menu Special", price: 2500, available: false });

  await requestJson(
    `/v1/admin/${slug}/discounts`,
    {
      token: ownerKey,
      body: { code: "WELCOME10", kind: "percent", value: 10, minSubtotal: 1500 },
    },
    201,
  );
  return { slug, name, ownerKey, burger, fries, lemonade, hidden };
}

/** Creates a tenant API key with the owner key. */
async function createKey(store: Store, role: "staff" | "terminal"): Promise<string> {
  const { key } = await requestJson<{ key: string }>(
    `/v1/admin/${store.slug}/keys`,
    { token: store.ownerKey, body: { role, label: `e2e ${role}` } },
    201,
  );
  return key;
}

function modifierId(item: MenuItem, name: string): string {
  const found = item.modifiers.find((m) => m.name === name);
  if (!found) throw new Error(`${item.name} has no modifier ${name}`);
  return found.id;
}

/** A one-burger pickup order (the simplest valid draft). */
function simpleDraft(store: Store, customer = "Ada Lovelace") {
  return {
    orderType: "pickup",
    items: [{ menuItemId: store.burger.id, quantity: 1, modifierIds: [] }],
    customer: { name: customer },
  };
}

function placeOrder(store: Store, draft: unknown, idempotencyKey: string) {
  return request(`/v1/stores/${store.slug}/orders`, {
    body: draft,
    headers: { "idempotency-key": idempotencyKey },
  });
}

/** Integer division rounding halves up, for non-negative integers (no float error). */
function divideHalfUp(numerator: number, denominator: number): number {
  return Math.floor((2 * numerator + denominator) / (2 * denominator));
}

describe("storefront over HTTP", () => {
  it("serves the OpenAPI document the storefront is built against", async () => {
    const doc = await requestJson<{ openapi: string; paths: Record<string, unknown> }>(
      "/openapi.json",
      {},
      200,
    );
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/v1/stores/{tenant}/orders");
  });

  it("lists only the available menu items, with their modifiers", async () => {
    const store = await createStore();
    const menu = await requestJson<{
      tenant: { slug: string; name: string; currency: string };
      items: MenuItem[];
    }>(`/v1/stores/${store.slug}/menu`, {}, 200);

    expect(menu.tenant).toEqual({ slug: store.slug, name: store.name, currency: "USD" });
    expect(menu.items.map((i) => i.name).sort()).toEqual(["Fries", "Lemonade", "Smash Burger"]);
    const burger = menu.items.find((i) => i.id === store.burger.id);
    expect(burger?.price).toEqual(usd(1395));
    expect(burger?.modifiers.map((m) => [m.name, m.price.amount])).toEqual([
      ["Add cheese", 150],
      ["Add bacon", 250],
    ]);
    expect(menu.items.some((i) => i.id === store.hidden.id)).toBe(false);
  });

  it("answers 404 for an unknown store", async () => {
    expectError(await request("/v1/stores/no-such-bistro-e2e/menu"), 404, "not_found");
  });

  it("previews a draft with discount, tax rounded half up, and tip", async () => {
    const store = await createStore();
    const burgerUnit = 1395 + 150 + 250;
    const friesUnit = 495 + 200;
    const tip = 300;
    const draft = {
      orderType: "pickup",
      items: [
        {
          menuItemId: store.burger.id,
          quantity: 2,
          modifierIds: [
            modifierId(store.burger, "Add cheese"),
            modifierId(store.burger, "Add bacon"),
          ],
        },
        {
          menuItemId: store.fries.id,
          quantity: 1,
          modifierIds: [modifierId(store.fries, "Large")],
        },
      ],
      customer: { name: "Grace Hopper" },
      tip: usd(tip),
      discountCode: "WELCOME10",
    };

    const subtotal = 2 * burgerUnit + friesUnit; // 4285
    const discount = divideHalfUp(subtotal * 10, 100); // 428.5 -> 429
    const tax = divideHalfUp((subtotal - discount) * TAX_RATE_BPS, 10_000); // 337.4 -> 337
    const total = subtotal - discount + tax + tip;

    const preview = await requestJson<Totals & { lines: OrderLine[] }>(
      `/v1/stores/${store.slug}/orders/preview`,
      { body: draft },
      200,
    );
    expect(preview.lines.map((l) => [l.menuItemId, l.quantity, l.lineTotal.amount])).toEqual([
      [store.burger.id, 2, 2 * burgerUnit],
      [store.fries.id, 1, friesUnit],
    ]);
    expect({
      subtotal: preview.subtotal,
      discount: preview.discount,
      tax: preview.tax,
      tip: preview.tip,
      total: preview.total,
    }).toEqual({
      subtotal: usd(subtotal),
      discount: usd(discount),
      tax: usd(tax),
      tip: usd(tip),
      total: usd(total),
    });
    expect(total).toBe(4493);
  });

  it("places an order once per Idempotency-Key and tracks it with its token", async () => {
    const store = await createStore();
    const key = `order-${randomUUID()}`;
    const draft = {
      orderType: "pickup",
      items: [
        {
          menuItemId: store.burger.id,
          quantity: 1,
          modifierIds: [modifierId(store.burger, "Add cheese")],
        },
        { menuItemId: store.lemonade.id, quantity: 2 },
      ],
      customer: { name: "Ada Lovelace", email: "ada@example.com" },
      tip: usd(200),
    };
    const subtotal = 1395 + 150 + 2 * 395; // 2335; no discount code given
    const tax = divideHalfUp(subtotal * TAX_RATE_BPS, 10_000); // 204.3 -> 204

    const first = await placeOrder(store, draft, key);
    expect(first.status, first.text).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const placed = first.body as PlacedOrder;
    expect(placed.order.status).toBe("pending_payment");
    expect(placed.order.paymentStatus).toBe("unpaid");
    expect(placed.order.number).toBe(1001);
    expect(placed.order.tenant).toBe(store.slug);
    expect(placed.order.customer).toEqual({
      name: "Ada Lovelace",
      email: "ada@example.com",
      phone: null,
    });
    expect(placed.order.subtotal).toEqual(usd(subtotal));
    expect(placed.order.tax).toEqual(usd(tax));
    expect(placed.order.total).toEqual(usd(subtotal + tax + 200));
    expect(placed.accessToken).toMatch(/^\S{16,}$/);

    const replay = await placeOrder(store, draft, key);
    expect(replay.status, replay.text).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const replayed = replay.body as PlacedOrder;
    expect(replayed.order.id).toBe(placed.order.id);
    expect(replayed.order.number).toBe(1001);

    const changed = { ...draft, customer: { name: "Someone Else" } };
    expectError(await placeOrder(store, changed, key), 422, "idempotency_mismatch");

    const tracked = await requestJson<{ order: Order }>(
      `/v1/stores/${store.slug}/orders/${placed.order.id}?token=${encodeURIComponent(placed.accessToken)}`,
      {},
      200,
    );
    expect(tracked.order.id).toBe(placed.order.id);
    expect(tracked.order.number).toBe(1001);
    expect(tracked.order.total).toEqual(placed.order.total);

    const ordersPath = `/v1/stores/${store.slug}/orders/${placed.order.id}`;
    expectError(await request(`${ordersPath}?token=not-the-token`), 404, "not_found");
    expectError(await request(ordersPath), 404, "not_found");
  });

  it("rejects malformed JSON and a missing Idempotency-Key without placing anything", async () => {
    const store = await createStore();
    const broken = '{"orderType":"pickup","items":[';
    expectError(
      await request(`/v1/stores/${store.slug}/orders`, {
        rawBody: broken,
        headers: { "idempotency-key": `bad-json-${randomUUID()}` },
      }),
      400,
      "malformed_json",
    );
    expectError(
      await request(`/v1/stores/${store.slug}/orders/preview`, { rawBody: broken }),
      400,
      "malformed_json",
    );
    expectError(
      await request(`/v1/stores/${store.slug}/orders`, { body: simpleDraft(store) }),
      400,
      "validation_failed",
    );

    // Nothing was written: the first real order still gets the first number.
    const ok = await placeOrder(store, simpleDraft(store), `after-errors-${randomUUID()}`);
    expect(ok.status, ok.text).toBe(201);
    expect((ok.body as PlacedOrder).order.number).toBe(1001);
  });

  it("refuses to start preparing an unpaid order", async () => {
    const store = await createStore();
    const staffKey = await createKey(store, "staff");
    const terminalKey = await createKey(store, "terminal");
    const placed = await placeOrder(store, simpleDraft(store), `unpaid-${randomUUID()}`);
    expect(placed.status, placed.text).toBe(201);
    const orderId = (placed.body as PlacedOrder).order.id;
    const statusPath = `/v1/admin/${store.slug}/orders/${orderId}/status`;

    expectError(
      await request(statusPath, { token: staffKey, body: { status: "preparing" } }),
      409,
      "conflict",
    );
    // A terminal key is below staff: not allowed on this route at all.
    expectError(
      await request(statusPath, { token: terminalKey, body: { status: "preparing" } }),
      403,
      "forbidden",
    );
    expectError(await request(statusPath, { body: { status: "preparing" } }), 401, "unauthorized");

    const detail = await requestJson<{ order: Order }>(
      `/v1/admin/${store.slug}/orders/${orderId}`,
      { token: staffKey },
      200,
    );
    expect(detail.order.status).toBe("pending_payment");
  });

  it("numbers concurrent orders consecutively without duplicates", async () => {
    const store = await createStore();
    const first = await placeOrder(store, simpleDraft(store), `first-${randomUUID()}`);
    expect(first.status, first.text).toBe(201);
    expect((first.body as PlacedOrder).order.number).toBe(1001);

    const count = 20;
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        placeOrder(store, simpleDraft(store, `Guest ${i + 1}`), `burst-${i}-${randomUUID()}`),
      ),
    );
    for (const res of results) expect(res.status, res.text).toBe(201);
    const orders = results.map((res) => (res.body as PlacedOrder).order);
    expect(new Set(orders.map((o) => o.id)).size).toBe(count);
    const numbers = orders.map((o) => o.number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: count }, (_, i) => 1002 + i));
  });
});
