import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { type DevServer, getFreePort, startDevServer } from "../../tools/dev-server.mjs";

// What the per-client rate limits see under a real `wrangler dev`: which address a request is
// counted under. The load harnesses (test/e2e/pos-harness.ts, bench/*.mjs) rely on this to act
// as many customers from one machine.

const ADMIN_TOKEN = `e2e-admin-${randomUUID()}`;
const DISCOUNT_LIMIT = limitOf("RL_DISCOUNT_LOOKUP");

function limitOf(binding: string): { limit: number; period: number } {
  const bindings: { name: string; simple: { limit: number; period: number } }[] =
    unstable_readConfig({ config: "./wrangler.toml" }).ratelimits;
  const found = bindings.find((r) => r.name === binding);
  if (!found) throw new Error(`no [[ratelimits]] binding ${binding} in wrangler.toml`);
  return found.simple;
}

let server: DevServer | undefined;
let persistDir: string | undefined;

beforeAll(async () => {
  persistDir = await mkdtemp(path.join(tmpdir(), "orderlane-e2e-rate-"));
  server = await startDevServer({
    port: await getFreePort(),
    persistTo: persistDir,
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

async function get(urlPath: string, headers: Record<string, string> = {}) {
  if (!server) throw new Error("the dev server is not running");
  const res = await fetch(`${server.url}${urlPath}`, { headers });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text };
}

/**
 * wrangler dev's rate limiting simulation counts in fixed windows aligned to the clock; waits
 * (bounded) until at least `needMs` of the current one are left.
 */
async function withinOneWindow(periodS: number, needMs = 20_000): Promise<void> {
  const periodMs = periodS * 1000;
  const deadline = Date.now() + needMs + 5_000;
  while (periodMs - (Date.now() % periodMs) < needMs) {
    if (Date.now() > deadline) throw new Error("no fresh rate limit window in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("client addresses under wrangler dev", () => {
  it("a request without CF-Connecting-IP counts as 127.0.0.1; a client-supplied one is passed through", async () => {
    if (!server) throw new Error("the dev server is not running");
    const slug = `rate-${Date.now().toString(36)}`;
    const res = await fetch(`${server.url}/v1/platform/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        slug,
        name: "Rate",
        currency: "USD",
        timezone: "America/New_York",
        taxRateBps: 0,
      }),
    });
    expect(res.status, await res.text()).toBe(201);

    await withinOneWindow(DISCOUNT_LIMIT.period);
    for (let i = 0; i < DISCOUNT_LIMIT.limit; i++) {
      const res = await get(`/v1/stores/${slug}/discounts/GUESS${i}`);
      expect(res.status, res.text).toBe(404);
    }
    const over = await get(`/v1/stores/${slug}/discounts/ONEMORE`);
    expect(over.status, over.text).toBe(429);
    expect(over.retryAfter).toMatch(/^\d+$/);
    // The same budget when the client names the loopback address itself...
    const named = await get(`/v1/stores/${slug}/discounts/ONEMORE`, {
      "cf-connecting-ip": "127.0.0.1",
    });
    expect(named.status, named.text).toBe(429);
    // ...and a fresh one for any other address it names: wrangler dev does not overwrite it.
    for (const ip of ["198.18.0.1", "2001:db8:1:2::1"]) {
      const other = await get(`/v1/stores/${slug}/discounts/ONEMORE`, { "cf-connecting-ip": ip });
      expect(other.status, `${ip}: ${other.text}`).toBe(404);
    }
  });
});
