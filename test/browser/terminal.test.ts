import { randomUUID } from "node:crypto";
import type { Browser, BrowserContext, Locator, Page, WebSocket } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildTerminal } from "../../tools/build-terminal.mjs";
import { closeChromium, launchChromium } from "./chromium";
import { type DevStack, startDevStack } from "./dev-stack";

// The terminal screen (/terminal/) as a kitchen uses it: a real `wrangler dev` with its own
// empty state, Chromium (./chromium.ts) driven by playwright-core, orders placed and paid over HTTP.

const ADMIN_TOKEN = `browser-admin-${randomUUID()}`;
/** Long enough for a socket round trip through wrangler dev on a loaded machine. */
const UI_TIMEOUT_MS = 20_000;
const SCREENSHOT = "/tmp/terminal.png";

interface MenuItem {
  id: string;
  name: string;
  modifiers: { id: string; name: string }[];
}
interface Order {
  id: string;
  number: number;
  status: string;
}
interface Store {
  slug: string;
  ownerKey: string;
  terminalKey: string;
  burger: MenuItem;
  fries: MenuItem;
}

let stack: DevStack | undefined;
let browser: Browser | undefined;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  ({ browser } = await launchChromium());
  // wrangler dev builds the bundle too ([build] in wrangler.toml); building here first means
  // the page never races that build.
  await buildTerminal();
  stack = await startDevStack("browser", { ADMIN_TOKEN });
});

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
});

afterAll(async () => {
  try {
    // Nothing of Chromium may outlive the run.
    await closeChromium(browser);
  } finally {
    await stack?.stop();
  }
});

function baseUrl(): string {
  if (!stack) throw new Error("the dev server is not running");
  return stack.url;
}

/** One JSON call to the API; fails the test on an unexpected status. */
async function api<T>(
  urlPath: string,
  {
    token,
    body,
    headers = {},
  }: { token?: string; body?: unknown; headers?: Record<string, string> },
  expectedStatus: number,
): Promise<T> {
  const res = await fetch(`${baseUrl()}${urlPath}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      ...headers,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, `${urlPath}: ${text}`).toBe(expectedStatus);
  return JSON.parse(text) as T;
}

let storeCounter = 0;

/** A fresh restaurant with a small menu and a terminal key, set up as its owner would. */
async function createStore(): Promise<Store> {
  storeCounter += 1;
  const slug = `browser-${Date.now().toString(36)}-${storeCounter}`;
  const { ownerKey } = await api<{ ownerKey: string }>(
    "/v1/platform/tenants",
    {
      token: ADMIN_TOKEN,
      body: {
        slug,
        name: `Terminal Diner ${storeCounter}`,
        currency: "USD",
        timezone: "America/New_York",
        taxRateBps: 875,
      },
    },
    201,
  );
  const addItem = async (name: string, amount: number, modifiers: [string, number][]) =>
    (
      await api<{ item: MenuItem }>(
        `/v1/admin/${slug}/menu/items`,
        {
          token: ownerKey,
          body: {
            name,
            price: { amount, currency: "USD" },
            modifiers: modifiers.map(([m, price]) => ({
              name: m,
              price: { amount: price, currency: "USD" },
            })),
          },
        },
        201,
      )
    ).item;
  const burger = await addItem("Smash Burger", 1395, [
    ["Add cheese", 150],
    ["No pickles", 0],
  ]);
  const fries = await addItem("Fries", 495, [["Large", 200]]);
  const { key: terminalKey } = await api<{ key: string }>(
    `/v1/admin/${slug}/keys`,
    { token: ownerKey, body: { role: "terminal", label: "browser test terminal" } },
    201,
  );
  return { slug, ownerKey, terminalKey, burger, fries };
}

function modifierIds(item: MenuItem, ...names: string[]): string[] {
  return names.map((name) => {
    const found = item.modifiers.find((m) => m.name === name);
    if (!found) throw new Error(`${item.name} has no modifier ${name}`);
    return found.id;
  });
}

/** Places an order at the storefront; it waits for payment (pending_payment). */
async function placeOrder(store: Store, draft: Record<string, unknown>): Promise<Order> {
  const { order } = await api<{ order: Order }>(
    `/v1/stores/${store.slug}/orders`,
    { body: draft, headers: { "idempotency-key": `browser-${randomUUID()}` } },
    201,
  );
  expect(order.status).toBe("pending_payment");
  return order;
}

/** Confirms the payment, as the payment webhook would: terminals get the order. */
async function markPaid(store: Store, order: Order): Promise<void> {
  const { order: paid } = await api<{ order: Order }>(
    `/v1/admin/${store.slug}/orders/${order.id}/mark-paid`,
    { token: store.ownerKey, body: {} },
    200,
  );
  expect(paid.status).toBe("confirmed");
}

interface Terminal {
  page: Page;
  context: BrowserContext;
  /** Every WebSocket the page opened, oldest first. */
  sockets: WebSocket[];
}

/** A terminal in its own browser context (its own storage, its own network), signed in. */
async function openTerminal(store: Store, name: string): Promise<Terminal> {
  if (!browser) throw new Error("Chromium is not running");
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(err.message));
  const sockets: WebSocket[] = [];
  page.on("websocket", (socket) => sockets.push(socket));
  await page.goto(`${baseUrl()}/terminal/?tenant=${store.slug}`);
  await page.getByTestId("signin").waitFor({ state: "visible", timeout: UI_TIMEOUT_MS });
  expect(await page.getByTestId("signin-tenant").inputValue()).toBe(store.slug);
  await page.getByTestId("signin-key").fill(store.terminalKey);
  await page.getByTestId("signin-name").fill(name);
  await page.getByTestId("signin-submit").click();
  await connected(page);
  expect(problems).toEqual([]);
  expect(sockets.map((socket) => new URL(socket.url()).searchParams.get("after"))).toEqual(["0"]);
  return { page, context, sockets };
}

async function connected(page: Page): Promise<void> {
  await page
    .locator('[data-testid="connection"][data-state="connected"]')
    .waitFor({ timeout: UI_TIMEOUT_MS });
}

/** The ticket of order `number` in the column of `status`. */
function ticket(page: Page, status: string, number: number): Locator {
  return page.locator(
    `[data-testid="column-${status}"] [data-testid="ticket"][data-order-number="${number}"]`,
  );
}

/** Waits until the screen has folded in events up to `seq`. */
async function seenSeq(page: Page, seq: number): Promise<void> {
  await page.waitForFunction(
    (target) => Number(document.querySelector<HTMLElement>("[data-seq]")?.dataset.seq) >= target,
    seq,
    { timeout: UI_TIMEOUT_MS },
  );
}

async function lastSeq(page: Page): Promise<number> {
  return Number(await page.getByTestId("last-seq").getAttribute("data-seq"));
}

describe("terminal screen", () => {
  it("shows a paid order live and moves it forward for every terminal", async () => {
    const store = await createStore();
    const { page: kitchen } = await openTerminal(store, "kitchen");

    const unpaid = await placeOrder(store, {
      orderType: "pickup",
      items: [
        {
          menuItemId: store.burger.id,
          quantity: 2,
          modifierIds: modifierIds(store.burger, "Add cheese", "No pickles"),
          specialInstructions: "well done",
        },
        { menuItemId: store.fries.id, quantity: 1, modifierIds: modifierIds(store.fries, "Large") },
      ],
      customer: { name: "Ada Lovelace" },
      specialInstructions: "Allergic to sesame",
    });
    // Creating the order is already an event; an unpaid order is no ticket.
    await seenSeq(kitchen, 1);
    await expect(kitchen.getByTestId("ticket").count()).resolves.toBe(0);

    await markPaid(store, unpaid);
    const fresh = ticket(kitchen, "confirmed", unpaid.number);
    await fresh.waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await fresh.getByTestId("ticket-customer").textContent()).toBe("Ada Lovelace");
    expect(await fresh.getByTestId("ticket-item").allInnerTexts()).toEqual([
      expect.stringMatching(/^2×\s*Smash Burger\s*Add cheese\s*No pickles\s*well done$/),
      expect.stringMatching(/^1×\s*Fries\s*Large$/),
    ]);
    expect(await fresh.getByTestId("ticket-note").textContent()).toBe("Note: Allergic to sesame");
    expect(await fresh.getByTestId("ticket-age").textContent()).toBe("<1 min");
    expect(await fresh.getAttribute("class")).toContain("ticket--fresh");
    expect(await kitchen.locator("body").getAttribute("data-chimes")).toBe("1");

    // A second screen opened now builds its board from the event log.
    const { page: counter } = await openTerminal(store, "counter");
    await ticket(counter, "confirmed", unpaid.number).waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await counter.locator("body").getAttribute("data-chimes")).toBeNull();

    const start = fresh.getByTestId("advance");
    expect(await start.textContent()).toBe("Start");
    await start.click();
    await ticket(counter, "preparing", unpaid.number).waitFor({ timeout: UI_TIMEOUT_MS });
    const preparing = ticket(kitchen, "preparing", unpaid.number);
    await preparing.waitFor({ timeout: UI_TIMEOUT_MS });

    // A refused change shows on the ticket: a screen whose button is out of date, forced here
    // once the Start request has its answer (the ticket is redrawn when it comes).
    const idle = preparing.locator('[data-testid="advance"]:not([disabled])');
    await idle.waitFor({ timeout: UI_TIMEOUT_MS });
    await idle.evaluate((button) => button.setAttribute("data-next-status", "confirmed"));
    await preparing.getByTestId("advance").click();
    const refusal = preparing.getByTestId("ticket-error");
    await refusal.waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await refusal.textContent()).toMatch(/cannot move back from preparing to confirmed/);

    const readyButton = preparing.getByTestId("advance");
    expect(await readyButton.textContent()).toBe("Ready");
    await readyButton.click();
    await ticket(counter, "ready", unpaid.number).waitFor({ timeout: UI_TIMEOUT_MS });
    await ticket(kitchen, "ready", unpaid.number).waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(
      ticket(kitchen, "ready", unpaid.number).getByTestId("ticket-error").count(),
    ).resolves.toBe(0);

    await ticket(counter, "ready", unpaid.number).getByTestId("advance").click();
    await kitchen.getByTestId("ticket").waitFor({ state: "detached", timeout: UI_TIMEOUT_MS });
    await counter.getByTestId("ticket").waitFor({ state: "detached", timeout: UI_TIMEOUT_MS });
  });

  it("catches up on what it missed while its connection was down, without a reload", async () => {
    const store = await createStore();
    const { page, context, sockets } = await openTerminal(store, "kitchen");
    const navigations: string[] = [];
    page.on("framenavigated", (frame) => navigations.push(frame.url()));
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });

    const first = await placeOrder(store, {
      orderType: "pickup",
      items: [{ menuItemId: store.burger.id, quantity: 1 }],
      customer: { name: "Grace Hopper" },
    });
    await markPaid(store, first);
    await ticket(page, "confirmed", first.number).waitFor({ timeout: UI_TIMEOUT_MS });
    const seqBefore = await lastSeq(page);

    // The network goes away. Chromium keeps the socket open with nothing getting through, as
    // a half-open connection would: the screen must notice (its ping goes unanswered), drop
    // the socket, and keep trying to reconnect, which starts with a ticket request.
    const firstSocket = sockets[0];
    const reconnecting = page.waitForEvent("requestfailed", {
      predicate: (request) => request.url().endsWith("/terminals/ticket"),
      timeout: UI_TIMEOUT_MS,
    });
    await context.setOffline(true);
    await page
      .locator('[data-testid="connection"][data-state="offline"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
    expect((await reconnecting).failure()?.errorText).toBe("net::ERR_INTERNET_DISCONNECTED");

    const missed = await placeOrder(store, {
      orderType: "delivery",
      items: [
        { menuItemId: store.fries.id, quantity: 3, modifierIds: modifierIds(store.fries, "Large") },
      ],
      customer: { name: "Katherine Johnson" },
      deliveryAddress: {
        line1: "12 Orbit Lane",
        city: "Hampton",
        postalCode: "23666",
        country: "US",
      },
      specialInstructions: "Ring twice",
    });
    await markPaid(store, missed);
    expect(await ticket(page, "confirmed", missed.number).count()).toBe(0);
    expect(await lastSeq(page)).toBe(seqBefore);

    await context.setOffline(false);
    const caughtUp = ticket(page, "confirmed", missed.number);
    await caughtUp.waitFor({ timeout: UI_TIMEOUT_MS });
    await connected(page);
    expect(await caughtUp.getAttribute("data-order-type")).toBe("delivery");
    expect(await caughtUp.getByTestId("ticket-note").textContent()).toBe("Note: Ring twice");
    expect(await ticket(page, "confirmed", first.number).count()).toBe(1);
    expect(await lastSeq(page)).toBeGreaterThan(seqBefore);
    // It resumed from the last event it had seen, on a new socket.
    const resumedOn = sockets.at(-1);
    expect(resumedOn).not.toBe(firstSocket);
    expect(new URL(resumedOn?.url() ?? "ws:").searchParams.get("after")).toBe(String(seqBefore));
    // The same document all along: resumed by the socket, not by a reload.
    expect(navigations).toEqual([]);
    expect(
      await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument),
    ).toBe(true);

    await ticket(page, "confirmed", first.number).getByTestId("advance").click();
    await ticket(page, "preparing", first.number).waitFor({ timeout: UI_TIMEOUT_MS });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it("remembers its key across a reload, signs out, and refuses a wrong key", async () => {
    const store = await createStore();
    const { page } = await openTerminal(store, "bar");

    await page.reload();
    await connected(page);
    expect(await page.getByTestId("tenant").textContent()).toBe(`${store.slug} · bar`);

    await page.getByTestId("sign-out").click();
    await page.getByTestId("signin").waitFor({ state: "visible", timeout: UI_TIMEOUT_MS });
    expect(await page.getByTestId("signin-tenant").inputValue()).toBe(store.slug);
    expect(await page.getByTestId("signin-key").inputValue()).toBe("");

    await page.getByTestId("signin-key").fill("olk_not_a_real_key_0000000000");
    await page.getByTestId("signin-submit").click();
    const error = page.getByTestId("signin-error");
    await error.waitFor({ state: "visible", timeout: UI_TIMEOUT_MS });
    expect(await error.textContent()).toBe("This terminal key is not valid (revoked or mistyped).");
    expect(await page.getByTestId("screen").isHidden()).toBe(true);

    // After the sign-out a reload stays signed out.
    await page.reload();
    await page.getByTestId("signin").waitFor({ state: "visible", timeout: UI_TIMEOUT_MS });
  });
});
