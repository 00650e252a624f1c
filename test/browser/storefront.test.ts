import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../wait";
import { closeChromium, launchChromium } from "./chromium";
import { type DevStack, startDevStack } from "./dev-stack";

// A storefront as a developer builds one from the docs: a page on its own origin (another
// port, so another origin to the browser) that calls the storefront API with fetch, through
// CORS, in real Chromium: store, menu, preview, order with Idempotency-Key, tracking.

const ADMIN_TOKEN = `storefront-admin-${randomUUID()}`;
const UI_TIMEOUT_MS = 30_000;

let stack: DevStack | undefined;
let browser: Browser | undefined;
let shop: Server | undefined;

/** The storefront page: its script does the whole checkout and writes each step into the page. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body><ol id="steps"></ol><pre id="error"></pre>
<script type="module">
const params = new URLSearchParams(location.search);
const base = params.get("api") + "/v1/stores/" + params.get("tenant");
const steps = document.getElementById("steps");
const step = (name, value) => {
  const li = document.createElement("li");
  li.dataset.step = name;
  li.textContent = typeof value === "string" ? value : JSON.stringify(value);
  steps.append(li);
};
async function json(res) {
  const body = await res.json();
  if (!res.ok) throw new Error(res.status + " " + body.error.code + ": " + body.error.message);
  return body;
}
try {
  const { store } = await json(await fetch(base));
  step("store", store.name + " " + store.currency + " " + store.payment.provider);
  const menu = await json(await fetch(base + "/menu"));
  const item = menu.items[0];
  step("menu", item.name);
  const draft = {
    orderType: "pickup",
    items: [{ menuItemId: item.id, quantity: 2, modifierIds: [item.modifiers[0].id] }],
    customer: { name: "Grace Hopper", phone: "+15550199" },
  };
  const preview = await json(await fetch(base + "/orders/preview", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(draft),
  }));
  step("preview", preview.total);
  const key = crypto.randomUUID();
  const place = () => fetch(base + "/orders", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": key },
    body: JSON.stringify(draft),
  });
  const placed = await json(await place());
  const again = await place();
  step("replayed", again.headers.get("Idempotent-Replayed") + " " + (await json(again)).order.id);
  step("order", placed.order.id + " " + placed.order.number + " " + placed.order.total.amount);
  const track = base + "/orders/" + placed.order.id + "?token=" + encodeURIComponent(placed.accessToken);
  for (let i = 0; i < 200; i++) {
    const { order } = await json(await fetch(track));
    if (i === 0) step("first-status", order.status);
    if (order.status === "confirmed") { step("confirmed", order.paymentStatus); break; }
    await new Promise((r) => setTimeout(r, 100));
  }
} catch (err) {
  document.getElementById("error").textContent = String(err);
}
</script></body></html>`;

beforeAll(async () => {
  ({ browser } = await launchChromium());
  // Payments off: the order is paid at the counter, and the page sees that.
  stack = await startDevStack("storefront", { ADMIN_TOKEN });
  shop = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => shop?.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  try {
    await closeChromium(browser);
  } finally {
    shop?.close();
    await stack?.stop();
  }
});

function api(): string {
  if (!stack) throw new Error("the dev server is not running");
  return stack.url;
}

function shopUrl(tenant: string): string {
  if (!shop) throw new Error("the shop server is not running");
  const port = (shop.address() as AddressInfo).port;
  return `http://127.0.0.1:${port}/?api=${encodeURIComponent(api())}&tenant=${tenant}`;
}

async function adminCall<T>(
  method: string,
  route: string,
  token: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${api()}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function tenantWithMenu(): Promise<{ slug: string; ownerKey: string }> {
  const slug = `shop-${Date.now().toString(36)}-${randomBytes(2).toString("hex")}`;
  const { ownerKey } = await adminCall<{ ownerKey: string }>(
    "POST",
    "/v1/platform/tenants",
    ADMIN_TOKEN,
    {
      slug,
      name: "Corner Deli",
      currency: "USD",
      timezone: "America/New_York",
      taxRateBps: 800,
    },
  );
  await adminCall("POST", `/v1/admin/${slug}/menu/items`, ownerKey, {
    name: "Reuben",
    price: { amount: 1250, currency: "USD" },
    modifiers: [{ name: "Extra pickles", price: { amount: 50, currency: "USD" } }],
  });
  return { slug, ownerKey };
}

async function stepText(page: Page, name: string): Promise<string> {
  const locator = page.locator(`li[data-step="${name}"]`);
  await locator.waitFor({ timeout: UI_TIMEOUT_MS });
  return (await locator.textContent()) ?? "";
}

describe("a storefront on another origin", () => {
  it("shows the store and menu, previews, places an order once and follows it to confirmed", async () => {
    if (!browser) throw new Error("Chromium is not running");
    const { slug, ownerKey } = await tenantWithMenu();
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(shopUrl(slug));

    expect(await stepText(page, "store")).toBe("Corner Deli USD none");
    expect(await stepText(page, "menu")).toBe("Reuben");
    // 2 × (12.50 + 0.50) = 26.00, tax 8% = 2.08.
    expect(JSON.parse(await stepText(page, "preview"))).toEqual({ amount: 2808, currency: "USD" });
    const [orderId, number, total] = (await stepText(page, "order")).split(" ");
    expect(number).toBe("1001");
    expect(total).toBe("2808");
    expect(await stepText(page, "replayed")).toBe(`true ${orderId}`);
    expect(await stepText(page, "first-status")).toBe("pending_payment");

    // Paid at the counter: the page's tracking sees it.
    await adminCall("POST", `/v1/admin/${slug}/orders/${orderId}/mark-paid`, ownerKey, {});
    expect(await stepText(page, "confirmed")).toBe("paid");
    expect(await page.locator("#error").textContent()).toBe("");
    expect(errors).toEqual([]);
    // One order, not two: the retried request was a replay.
    const list = await adminCall<{ items: unknown[] }>("GET", `/v1/admin/${slug}/orders`, ownerKey);
    expect(list.items).toHaveLength(1);
    await context.close();
  });

  it("a tenant that lists other origins keeps this page from reading its answers", async () => {
    if (!browser) throw new Error("Chromium is not running");
    const { slug, ownerKey } = await tenantWithMenu();
    await adminCall("PATCH", `/v1/admin/${slug}/settings`, ownerKey, {
      allowedOrigins: ["https://shop.example.com"],
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(shopUrl(slug));
    const error = await until(
      () => page.locator("#error").textContent(),
      (text) => Boolean(text),
      UI_TIMEOUT_MS,
      "the page to report the blocked request",
    );
    expect(error).toContain("TypeError");
    expect(await page.locator("li").count()).toBe(0);
    await context.close();
  });
});
