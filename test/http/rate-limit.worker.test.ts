import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { clientKey, UNKNOWN_CLIENT } from "../../src/http/rate-limit";
import {
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  orderDraft,
  placeOrderOptions,
  type TestTenant,
  until,
} from "../helpers";
import { settledSnapshot, snapshotTables } from "../snapshot";

// Every limit: requests under it pass, the first over it is 429 `rate_limited` with a numeric
// Retry-After and writes nothing, and the count is scoped (another address, tenant or key is
// unaffected). Every request names its client with CF-Connecting-IP, a fresh address per test,
// so the tests share no budget with each other or with the requests of other test files (which
// have no address and count under one shared key).

const RATE_LIMITS = env.TEST_RATE_LIMITS;

function bindingLimit(name: string): number {
  const limit = RATE_LIMITS[name]?.limit;
  if (!limit) throw new Error(`no [[ratelimits]] binding ${name} in wrangler.toml`);
  return limit;
}

/** A fresh client address: 10.x.y.z from a random start, so no two tests (or runs) share one. */
const ipBase = Math.floor(Math.random() * 0xfff000);
let ipCount = 0;
function newIp(): string {
  ipCount += 1;
  const n = ipBase + ipCount;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

const from = (ip: string) => ({ "cf-connecting-ip": ip });

/**
 * The binding's local simulation counts in fixed windows aligned to the clock (a new one every
 * `period` seconds of epoch time), so a run that straddled a boundary would start counting
 * afresh halfway. This waits, bounded, until at least `needMs` are left in the current window.
 */
async function withinOneWindow(binding: string, needMs = 20_000): Promise<void> {
  const periodMs = (RATE_LIMITS[binding]?.period ?? 60) * 1000;
  await until(
    () => periodMs - (Date.now() % periodMs),
    (left) => left >= needMs,
    needMs + 5_000,
    `a fresh ${binding} window`,
  );
}

/** For tests that may wait for a fresh window first (at most 25 s), then send a few hundred requests. */
const WINDOWED = { timeout: 60_000 };

/** Asserts the 429 envelope and a whole-seconds Retry-After in 1..max; returns it. */
async function expectRateLimited(res: Response, maxSeconds: number): Promise<number> {
  const retryAfter = res.headers.get("retry-after");
  await expectError(res, 429, "rate_limited");
  expect(retryAfter).toMatch(/^\d+$/);
  const seconds = Number(retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(maxSeconds);
  return seconds;
}

/** Sends `count` requests one after another; fails on the first 429. Returns the statuses. */
async function sendUnder(count: number, send: (i: number) => Promise<Response>) {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await send(i);
    const text = await res.text();
    expect(res.status, `request ${i + 1} of ${count} answered ${text}`).not.toBe(429);
    statuses.push(res.status);
  }
  return statuses;
}

async function tenantWithItem(): Promise<{ t: TestTenant; itemId: string }> {
  const t = await createTenant();
  const item = await createMenuItem(t, { name: "Burger", price: 1200 });
  return { t, itemId: item.id };
}

function placeOrderFrom(t: TestTenant, itemId: string, ip: string): Promise<Response> {
  return call(`/v1/stores/${t.slug}/orders`, placeOrderOptions(itemId, { headers: from(ip) }));
}

/** Opens `/ws/pos/:tenant` from `ip`; the socket, if any, is closed at once. */
async function openSocketFrom(
  tenant: string,
  ip: string,
  auth: { token?: string; ticket?: string },
): Promise<Response> {
  const query = auth.ticket ? `?ticket=${encodeURIComponent(auth.ticket)}` : "";
  const res = await exports.default.fetch(
    new Request(`http://orderlane.test/ws/pos/${tenant}${query}`, {
      headers: {
        upgrade: "websocket",
        ...from(ip),
        ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
      },
    }),
  );
  if (res.webSocket) {
    res.webSocket.accept();
    res.webSocket.close(1000, "test done");
  }
  return res;
}

describe("client key", () => {
  it("is the IPv4 address, the /64 of an IPv6 address, or one shared key without a header", () => {
    const key = (ip?: string) => clientKey(new Headers(ip ? from(ip) : {}));
    expect(key("203.0.113.9")).toBe("203.0.113.9");
    expect(key("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(key("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(key("2001:0DB8:0001:0002::ffff")).toBe("2001:db8:1:2::/64");
    expect(key("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(key("2001:db8:1:3::1")).not.toBe(key("2001:db8:1:2::1"));
    expect(key()).toBe(UNKNOWN_CLIENT);
    expect(key("   ")).toBe(UNKNOWN_CLIENT);
  });
});

describe("storefront limits (rate limiting binding)", () => {
  it(
    "order creation: per client IP and tenant; the refused order writes nothing",
    WINDOWED,
    async () => {
      const limit = bindingLimit("RL_ORDER_CREATE");
      const a = await tenantWithItem();
      const b = await tenantWithItem();
      const ip = newIp();
      await withinOneWindow("RL_ORDER_CREATE");
      const statuses = await sendUnder(limit, () => placeOrderFrom(a.t, a.itemId, ip));
      expect(statuses.every((s) => s === 201)).toBe(true);

      const before = await settledSnapshot();
      await expectRateLimited(await placeOrderFrom(a.t, a.itemId, ip), 60);
      expect(await snapshotTables()).toEqual(before);

      expect((await placeOrderFrom(a.t, a.itemId, newIp())).status).toBe(201);
      expect((await placeOrderFrom(b.t, b.itemId, ip)).status).toBe(201);
    },
  );

  it("order previews: per client IP and tenant", WINDOWED, async () => {
    const limit = bindingLimit("RL_ORDER_PREVIEW");
    const a = await tenantWithItem();
    const b = await tenantWithItem();
    const ip = newIp();
    const preview = (target: { t: TestTenant; itemId: string }, client: string) =>
      call(`/v1/stores/${target.t.slug}/orders/preview`, {
        body: orderDraft(target.itemId),
        headers: from(client),
      });
    await withinOneWindow("RL_ORDER_PREVIEW");
    const statuses = await sendUnder(limit, () => preview(a, ip));
    expect(statuses.every((s) => s === 200)).toBe(true);

    const before = await snapshotTables();
    await expectRateLimited(await preview(a, ip), 60);
    expect(await snapshotTables()).toEqual(before);

    expect((await preview(a, newIp())).status).toBe(200);
    expect((await preview(b, ip)).status).toBe(200);
  });

  it(
    "discount code look-ups: per client IP across tenants, an IPv6 /64 counting as one",
    WINDOWED,
    async () => {
      const limit = bindingLimit("RL_DISCOUNT_LOOKUP");
      const a = await createTenant();
      const b = await createTenant();
      await callJson(
        `/v1/admin/${a.slug}/discounts`,
        { token: a.ownerKey, body: { code: "WELCOME10", kind: "percent", value: 10 } },
        201,
      );
      const lookup = (t: TestTenant, code: string, client: string) =>
        call(`/v1/stores/${t.slug}/discounts/${code}`, { headers: from(client) });
      // Enumeration from one subscriber: every address of one /64, guessing codes.
      const prefix = `2001:db8:${(ipBase >> 12).toString(16)}:${ipCount.toString(16)}`;
      ipCount += 1;
      await withinOneWindow("RL_DISCOUNT_LOOKUP");
      const statuses = await sendUnder(limit, (i) =>
        lookup(a, i === 0 ? "WELCOME10" : `GUESS${i}`, `${prefix}::${(i + 1).toString(16)}`),
      );
      expect(statuses[0]).toBe(200);
      expect(statuses.slice(1).every((s) => s === 404)).toBe(true);

      const before = await snapshotTables();
      // The real code is refused too, and so is another tenant: the count is per address.
      await expectRateLimited(await lookup(a, "WELCOME10", `${prefix}::ffff`), 60);
      await expectRateLimited(await lookup(b, "ANY", `${prefix}::1`), 60);
      expect(await snapshotTables()).toEqual(before);

      expect((await lookup(a, "WELCOME10", newIp())).status).toBe(200);
    },
  );
});

describe("POS limits", () => {
  it("gift card look-ups: per client IP", WINDOWED, async () => {
    const limit = bindingLimit("RL_GIFT_CARD_LOOKUP");
    const t = await createTenant();
    const terminalKey = await createKey(t, "terminal");
    const card = await callJson<{ giftCard: { code: string } }>(
      `/v1/pos/${t.slug}/gift-cards`,
      {
        token: terminalKey,
        body: { amount: { amount: 500, currency: "USD" }, purchaserName: "P" },
      },
      201,
    );
    const ip = newIp();
    const lookup = (code: string, client: string) =>
      call(`/v1/pos/${t.slug}/gift-cards/${code}`, { token: terminalKey, headers: from(client) });
    await withinOneWindow("RL_GIFT_CARD_LOOKUP");
    const statuses = await sendUnder(limit, (i) =>
      lookup(i === 0 ? card.giftCard.code : `AAAA-BBBB-CCCC-${String(i).padStart(4, "0")}`, ip),
    );
    expect(statuses[0]).toBe(200);
    expect(statuses.slice(1).every((s) => s === 404)).toBe(true);

    const before = await snapshotTables();
    await expectRateLimited(await lookup(card.giftCard.code, ip), 60);
    expect(await snapshotTables()).toEqual(before);

    expect((await lookup(card.giftCard.code, newIp())).status).toBe(200);
  });

  it("terminal tickets: per API key, exactly (RateCounter)", async () => {
    const limit = Number(env.TICKETS_PER_KEY_PER_MINUTE);
    expect(limit).toBe(6);
    const t = await createTenant();
    const other = await createTenant();
    const [key, sibling, otherKey] = await Promise.all([
      createKey(t, "terminal"),
      createKey(t, "terminal"),
      createKey(other, "terminal"),
    ]);
    const ticket = (tenant: TestTenant, token: string, ip = newIp()) =>
      call(`/v1/pos/${tenant.slug}/terminals/ticket`, { token, body: {}, headers: from(ip) });
    // From a new address each time: the limit is the key's, wherever it is used.
    const statuses = await sendUnder(limit, () => ticket(t, key));
    expect(statuses.every((s) => s === 201)).toBe(true);

    const before = await snapshotTables();
    await expectRateLimited(await ticket(t, key), 60);
    expect(await snapshotTables()).toEqual(before);

    expect((await ticket(t, sibling)).status).toBe(201);
    expect((await ticket(other, otherKey)).status).toBe(201);
  });
});

describe("terminal socket limits (RateCounter)", () => {
  it("connections per API key: the next one is refused before the upgrade", async () => {
    const limit = Number(env.SOCKETS_PER_KEY_PER_MINUTE);
    expect(limit).toBe(6);
    const t = await createTenant();
    const [key, sibling] = await Promise.all([createKey(t, "terminal"), createKey(t, "terminal")]);
    const statuses = await sendUnder(limit, () => openSocketFrom(t.slug, newIp(), { token: key }));
    expect(statuses.every((s) => s === 101)).toBe(true);

    const before = await snapshotTables();
    const refused = await openSocketFrom(t.slug, newIp(), { token: key });
    expect(refused.webSocket).toBeNull();
    await expectRateLimited(refused, 60);
    expect(await snapshotTables()).toEqual(before);

    // A ticket of the same key counts against the same budget, and is not used up.
    const { ticket } = await callJson<{ ticket: string }>(
      `/v1/pos/${t.slug}/terminals/ticket`,
      { token: key, body: {} },
      201,
    );
    const withTicket = await snapshotTables();
    await expectRateLimited(await openSocketFrom(t.slug, newIp(), { ticket }), 60);
    expect(await snapshotTables()).toEqual(withTicket);
    expect((await openSocketFrom(t.slug, newIp(), { token: sibling })).status).toBe(101);
  });

  it("connections per tenant, across its keys; another tenant is unaffected", async () => {
    const perKey = Number(env.SOCKETS_PER_KEY_PER_MINUTE);
    const perTenant = Number(env.SOCKETS_PER_TENANT_PER_MINUTE);
    expect(perTenant).toBe(10);
    const t = await createTenant();
    const other = await createTenant();
    const keys = await Promise.all(
      Array.from({ length: Math.ceil(perTenant / perKey) + 1 }, () => createKey(t, "terminal")),
    );
    const statuses = await sendUnder(perTenant, (i) =>
      openSocketFrom(t.slug, newIp(), { token: keys[Math.floor(i / perKey)] ?? "" }),
    );
    expect(statuses.every((s) => s === 101)).toBe(true);

    const fresh = keys.at(-1) ?? "";
    const before = await snapshotTables();
    await expectRateLimited(await openSocketFrom(t.slug, newIp(), { token: fresh }), 60);
    expect(await snapshotTables()).toEqual(before);

    const otherKey = await createKey(other, "terminal");
    expect((await openSocketFrom(other.slug, newIp(), { token: otherKey })).status).toBe(101);
  });
});

describe("refused credentials (rate limiting binding)", () => {
  const limit = () => bindingLimit("RL_REFUSED_CREDENTIAL");

  it(
    "unknown or revoked API keys: per client IP, then locked out, right key or wrong",
    WINDOWED,
    async () => {
      const t = await createTenant();
      const revoked = await createKey(t, "staff");
      const ids = await callJson<{ items: { id: string; role: string }[] }>(
        `/v1/admin/${t.slug}/keys`,
        { token: t.ownerKey },
        200,
      );
      const revokedId = ids.items.find((k) => k.role === "staff")?.id;
      expect(
        (
          await call(`/v1/admin/${t.slug}/keys/${revokedId}`, {
            method: "DELETE",
            token: t.ownerKey,
          })
        ).status,
      ).toBe(204);
      const ip = newIp();
      const orders = (token: string, client: string) =>
        call(`/v1/admin/${t.slug}/orders`, { token, headers: from(client) });
      await withinOneWindow("RL_REFUSED_CREDENTIAL");
      const statuses = await sendUnder(limit(), (i) =>
        orders(i % 2 ? revoked : `olk_unknown-${i}`, ip),
      );
      expect(statuses.every((s) => s === 401)).toBe(true);

      const before = await snapshotTables();
      await expectRateLimited(await orders("olk_one-more", ip), 60);
      // Locked out: even the right key is refused before it is looked up, so the answers no
      // longer tell right keys from wrong ones.
      await expectRateLimited(await orders(t.ownerKey, ip), 60);
      expect(await snapshotTables()).toEqual(before);

      expect((await orders(t.ownerKey, newIp())).status).toBe(200);
      expect((await orders("olk_unknown", newIp())).status).toBe(401);
      // A request without a key is not a guess: still 401.
      expect((await call(`/v1/admin/${t.slug}/orders`, { headers: from(ip) })).status).toBe(401);
    },
  );

  it("wrong admin tokens on the platform routes count too", WINDOWED, async () => {
    const ip = newIp();
    const tenants = (token: string, client: string) =>
      call("/v1/platform/tenants/anything", { token, headers: from(client) });
    await withinOneWindow("RL_REFUSED_CREDENTIAL");
    const statuses = await sendUnder(limit(), (i) => tenants(`wrong-admin-token-${i}`, ip));
    expect(statuses.every((s) => s === 401)).toBe(true);
    await expectRateLimited(await tenants("wrong-admin-token", ip), 60);
    expect((await tenants("wrong-admin-token", newIp())).status).toBe(401);
  });

  it(
    "refused socket credentials count too, and a locked-out client's ticket is not used up",
    WINDOWED,
    async () => {
      const t = await createTenant();
      const key = await createKey(t, "terminal");
      const ip = newIp();
      await withinOneWindow("RL_REFUSED_CREDENTIAL");
      const statuses = await sendUnder(limit(), (i) =>
        openSocketFrom(t.slug, ip, i % 2 ? { ticket: `not-a-ticket-${i}` } : { token: `olk_${i}` }),
      );
      expect(statuses.every((s) => s === 401)).toBe(true);
      await expectRateLimited(await openSocketFrom(t.slug, ip, { token: "olk_more" }), 60);

      const { ticket } = await callJson<{ ticket: string }>(
        `/v1/pos/${t.slug}/terminals/ticket`,
        { token: key, body: {}, headers: from(newIp()) },
        201,
      );
      const before = await snapshotTables();
      await expectRateLimited(await openSocketFrom(t.slug, ip, { ticket }), 60);
      expect(await snapshotTables()).toEqual(before);
      expect((await openSocketFrom(t.slug, newIp(), { ticket })).status).toBe(101);
    },
  );
});

describe("OpenAPI", () => {
  it("documents 429 on every limited route and on every route that takes a credential", async () => {
    const doc = await callJson<{
      paths: Record<string, Record<string, { security?: unknown[]; responses: object }>>;
    }>("/openapi.json", {}, 200);
    const limited = [
      ["post", "/v1/stores/{tenant}/orders"],
      ["post", "/v1/stores/{tenant}/orders/preview"],
      ["get", "/v1/stores/{tenant}/discounts/{code}"],
      ["get", "/v1/pos/{tenant}/gift-cards/{code}"],
      ["post", "/v1/pos/{tenant}/terminals/ticket"],
    ] as const;
    for (const [method, path] of limited) {
      expect(doc.paths[path]?.[method]?.responses, `${method} ${path}`).toHaveProperty("429");
    }
    let withCredential = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!op.security?.length) continue;
        withCredential += 1;
        expect(op.responses, `${method} ${path}`).toHaveProperty("429");
      }
    }
    expect(withCredential).toBeGreaterThan(20);
  });
});
