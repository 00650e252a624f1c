import { randomUUID } from "node:crypto";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDocs } from "../../tools/build-docs.mjs";
import { closeChromium, launchChromium } from "./chromium";
import { type DevStack, startDevStack } from "./dev-stack";

// The API reference page (/docs) with no network: a real `wrangler dev`, Chromium with every
// request to a host other than this machine aborted. The page and everything it loads come
// from the Worker's static assets (public/docs/, Swagger UI copied from swagger-ui-dist), and
// it lists every operation of /openapi.json.

/** Long enough for Swagger UI to parse its bundle and the document on a loaded machine. */
const UI_TIMEOUT_MS = 30_000;
const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

let stack: DevStack | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  ({ browser } = await launchChromium());
  // wrangler dev copies the files too ([build] in wrangler.toml); copying here first means
  // the page never races that build.
  await buildDocs();
  stack = await startDevStack("docs", { ADMIN_TOKEN: `docs-admin-${randomUUID()}` });
});

afterAll(async () => {
  try {
    await closeChromium(browser);
  } finally {
    await stack?.stop();
  }
});

function baseUrl(): string {
  if (!stack) throw new Error("the dev server is not running");
  return stack.url;
}

function isLoopback(url: URL): boolean {
  const host = url.hostname;
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** URLs that need no network at all. */
function isLocalScheme(url: URL): boolean {
  return url.protocol === "data:" || url.protocol === "blob:" || url.protocol === "about:";
}

interface Offline {
  context: BrowserContext;
  /** Every request the pages made, in order. */
  requested: string[];
  /** Requests (and sockets) to another host, all aborted. */
  blocked: string[];
}

/** A browser context in which nothing gets past this machine. */
async function offlineContext(): Promise<Offline> {
  if (!browser) throw new Error("Chromium is not running");
  // Service workers off: requests a worker answers would bypass context.route
  // (https://playwright.dev/docs/api/class-browsercontext#browser-context-route).
  const context = await browser.newContext({ serviceWorkers: "block" });
  const requested: string[] = [];
  const blocked: string[] = [];
  context.on("request", (request) => requested.push(request.url()));
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (isLoopback(url) || isLocalScheme(url)) return route.continue();
    blocked.push(url.href);
    return route.abort("blockedbyclient");
  });
  // context.route does not see WebSockets.
  await context.routeWebSocket(
    (url) => !isLoopback(url),
    (socket) => {
      blocked.push(socket.url());
      return socket.close();
    },
  );
  return { context, requested, blocked };
}

/** "METHOD /path" of every operation in the OpenAPI document. */
async function documentedOperations(): Promise<string[]> {
  const res = await fetch(`${baseUrl()}/openapi.json`);
  expect(res.status).toBe(200);
  const document = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(document.paths).flatMap(([route, item]) =>
    Object.keys(item)
      .filter((key) => HTTP_METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${route}`),
  );
}

describe("API reference page", () => {
  it("renders every operation of /openapi.json with the network blocked", async () => {
    const expected = await documentedOperations();
    expect(expected).toContain("POST /v1/stores/{tenant}/orders");

    const { context, requested, blocked } = await offlineContext();
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (err) => problems.push(err.message));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });

      // /docs is what the contract names; the static assets answer it with /docs/.
      const response = await page.goto(`${baseUrl()}/docs`);
      expect(response?.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe("/docs/");

      const createOrder = page.locator(
        '.opblock-post .opblock-summary [data-path="/v1/stores/{tenant}/orders"]',
      );
      await createOrder.waitFor({ timeout: UI_TIMEOUT_MS });
      const listed = await page.locator(".opblock").evaluateAll((blocks) =>
        blocks.map((block) => {
          const method = block.querySelector(".opblock-summary-method")?.textContent ?? "";
          // The class of the path differs for a deprecated operation; data-path does not.
          const where = block
            .querySelector(".opblock-summary [data-path]")
            ?.getAttribute("data-path");
          return `${method.trim().toUpperCase()} ${where ?? ""}`;
        }),
      );
      // An operation with several tags is listed under each.
      expect([...new Set(listed)].sort()).toEqual([...expected].sort());
      expect(await page.locator(".info .title").textContent()).toMatch(/^Orderlane API/);

      expect(problems).toEqual([]);
      expect(blocked).toEqual([]);
      const outside = requested.filter((url) => {
        const parsed = new URL(url);
        return !isLoopback(parsed) && !isLocalScheme(parsed);
      });
      expect(outside).toEqual([]);
      expect(requested).toContain(`${baseUrl()}/openapi.json`);
      expect(requested).toContain(`${baseUrl()}/docs/swagger-ui-bundle.js`);

      // The guard itself: a request to another host is stopped and counted.
      const escaped = await page.evaluate(() =>
        fetch("https://cdn.example/swagger-ui-bundle.js").then(
          () => "answered",
          () => "failed",
        ),
      );
      expect(escaped).toBe("failed");
      expect(blocked).toEqual(["https://cdn.example/swagger-ui-bundle.js"]);
    } finally {
      await context.close();
    }
  });
});
