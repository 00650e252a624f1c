import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  type TestTenant,
} from "../helpers";
import { snapshotTables } from "../snapshot";

const SHOP = "https://shop.example.com";
const EVIL = "https://evil.example.net";
const CONSOLE = "https://console.example.com";

function preflight(path: string, origin: string, method = "POST", headers = "content-type") {
  return call(path, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      "access-control-request-headers": headers,
    },
  });
}

async function setOrigins(
  t: TestTenant,
  settings: { allowedOrigins?: string[]; consoleOrigins?: string[] },
) {
  return callJson<{ settings: { allowedOrigins: string[]; consoleOrigins: string[] } }>(
    `/v1/admin/${t.slug}/settings`,
    { method: "PATCH", token: t.ownerKey, body: settings },
    200,
  );
}

describe("CORS on the storefront routes", () => {
  it("a preflight from any origin is 204 with the allow headers when the tenant lists none", async () => {
    const t = await createTenant();
    const res = await preflight(
      `/v1/stores/${t.slug}/orders`,
      SHOP,
      "POST",
      "content-type,idempotency-key",
    );
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    const allowHeaders = res.headers.get("access-control-allow-headers")?.toLowerCase() ?? "";
    expect(allowHeaders).toContain("content-type");
    expect(allowHeaders).toContain("idempotency-key");
    expect(Number(res.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("responses carry the allow-origin header and expose Retry-After", async () => {
    const t = await createTenant();
    await createMenuItem(t, { name: "Soup", price: 500 });
    const res = await call(`/v1/stores/${t.slug}/menu`, { headers: { origin: EVIL } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(EVIL);
    expect(res.headers.get("access-control-expose-headers")).toContain("Retry-After");
    // Errors too, so a storefront can read the envelope.
    const missing = await call("/v1/stores/no-such-store/menu", { headers: { origin: SHOP } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("access-control-allow-origin")).toBe(SHOP);
  });

  it("an owner's allowedOrigins let only those origins read, and change nothing else", async () => {
    const t = await createTenant();
    await createMenuItem(t, { name: "Soup", price: 500 });
    const { settings } = await setOrigins(t, {
      allowedOrigins: [`${SHOP}/`, "HTTPS://Shop.Example.com"],
    });
    expect(settings.allowedOrigins).toEqual([SHOP]);

    const refused = await preflight(`/v1/stores/${t.slug}/orders`, EVIL);
    expect(refused.status).toBe(204);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(refused.headers.get("access-control-allow-methods")).toBeNull();

    const fromEvil = await call(`/v1/stores/${t.slug}/menu`, { headers: { origin: EVIL } });
    const fromShop = await call(`/v1/stores/${t.slug}/menu`, { headers: { origin: SHOP } });
    expect(fromEvil.status).toBe(200);
    expect(fromEvil.headers.get("access-control-allow-origin")).toBeNull();
    expect(await fromEvil.json()).toEqual(await fromShop.json());
    expect(fromShop.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(
      (await preflight(`/v1/stores/${t.slug}/orders`, SHOP)).headers.get(
        "access-control-allow-origin",
      ),
    ).toBe(SHOP);
  });
});

describe("CORS on staff, POS and platform routes", () => {
  it("allows only the console origins an owner lists, and answers the preflight without a key", async () => {
    const t = await createTenant();
    const before = await preflight(`/v1/admin/${t.slug}/orders`, CONSOLE, "GET", "authorization");
    expect(before.status).toBe(204);
    expect(before.headers.get("access-control-allow-origin")).toBeNull();

    await setOrigins(t, { consoleOrigins: [CONSOLE] });
    const after = await preflight(`/v1/admin/${t.slug}/orders`, CONSOLE, "GET", "authorization");
    expect(after.headers.get("access-control-allow-origin")).toBe(CONSOLE);
    expect(after.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "authorization",
    );
    const pos = await preflight(`/v1/pos/${t.slug}/gift-cards`, CONSOLE);
    expect(pos.headers.get("access-control-allow-origin")).toBe(CONSOLE);

    const listed = await call(`/v1/admin/${t.slug}/orders`, {
      token: t.ownerKey,
      headers: { origin: CONSOLE },
    });
    expect(listed.status).toBe(200);
    expect(listed.headers.get("access-control-allow-origin")).toBe(CONSOLE);
    const other = await call(`/v1/admin/${t.slug}/orders`, {
      token: t.ownerKey,
      headers: { origin: SHOP },
    });
    expect(other.status).toBe(200);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("the storefront's origins do not open the staff routes", async () => {
    const t = await createTenant();
    await setOrigins(t, { allowedOrigins: [SHOP] });
    const res = await preflight(`/v1/admin/${t.slug}/orders`, SHOP, "GET", "authorization");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("same-origin always works, and the platform routes allow no other origin", async () => {
    const t = await createTenant();
    const own = await call(`/v1/admin/${t.slug}/orders`, {
      token: t.ownerKey,
      headers: { origin: "http://orderlane.test" },
    });
    expect(own.headers.get("access-control-allow-origin")).toBe("http://orderlane.test");
    const platform = await call(`/v1/platform/tenants/${t.slug}`, {
      token: ADMIN_TOKEN,
      headers: { origin: CONSOLE },
    });
    expect(platform.status).toBe(200);
    expect(platform.headers.get("access-control-allow-origin")).toBeNull();
    const platformPreflight = await preflight("/v1/platform/tenants", CONSOLE);
    expect(platformPreflight.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("tenant web settings", () => {
  it("staff read them; only an owner changes them; bad origins are 400 and write nothing", async () => {
    const t = await createTenant();
    const staff = await createKey(t, "staff");
    const read = await callJson<{ settings: unknown }>(
      `/v1/admin/${t.slug}/settings`,
      { token: staff },
      200,
    );
    expect(read.settings).toEqual({ allowedOrigins: [], consoleOrigins: [] });
    await expectError(
      await call(`/v1/admin/${t.slug}/settings`, {
        method: "PATCH",
        token: staff,
        body: { allowedOrigins: [SHOP] },
      }),
      403,
      "forbidden",
    );
    const before = await snapshotTables();
    for (const bad of [
      "shop.example.com",
      "https://shop.example.com/checkout",
      "ftp://x.example",
      "*",
    ]) {
      const error = await expectError(
        await call(`/v1/admin/${t.slug}/settings`, {
          method: "PATCH",
          token: t.ownerKey,
          body: { allowedOrigins: [SHOP, bad] },
        }),
        400,
        "validation_failed",
      );
      expect(error.message).toContain("allowedOrigins[1]");
    }
    expect(await snapshotTables()).toEqual(before);
  });
});

describe("store configuration", () => {
  it("GET /v1/stores/:tenant gives what a storefront needs, with the publishable key", async () => {
    const t = await createTenant({ taxRateBps: 825 });
    const { store } = await callJson<{ store: Record<string, unknown> }>(
      `/v1/stores/${t.slug}`,
      {},
      200,
    );
    expect(store).toEqual({
      slug: t.slug,
      name: `Test ${t.slug}`,
      currency: "USD",
      timezone: "America/New_York",
      taxRateBps: 825,
      payment: { provider: "stripe", publishableKey: "pk_test_worker_tests" },
    });
    expect(JSON.stringify(store)).not.toContain("sk_test");
    await expectError(await call("/v1/stores/no-such-store"), 404, "not_found");
  });
});
