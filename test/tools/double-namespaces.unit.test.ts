import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import square from "../../tools/pos-double/square.mjs";
import toast from "../../tools/pos-double/toast.mjs";
import { startStripeDouble } from "../../tools/stripe-double/server.mjs";

// The Worker test files run at the same time against one pair of doubles, each in a namespace
// of its own (vitest.config.ts): a namespace's faults, modes, resets and request log must never
// reach the double it came from or another namespace, and must stop with that double.

async function control(base: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}/_control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return text ? (JSON.parse(text) as unknown) : null;
}

async function namespaceOf(base: string): Promise<string> {
  const res = await fetch(`${base}/_control/namespaces`, { method: "POST" });
  expect(res.status).toBe(201);
  const { url } = (await res.json()) as { url: string };
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(url).not.toBe(base);
  return url;
}

describe("the POS double's namespaces", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;
  beforeEach(async () => {
    double = await startPosDouble({ vendors: [toast, square] });
  });
  afterEach(async () => {
    await double.stop();
  });

  /** Asks Toast for a token: 200, or the status of the fault injected for it. */
  async function toastLogin(base: string): Promise<number> {
    const res = await fetch(`${base}/toast/authentication/v1/authentication/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        clientId: "c",
        clientSecret: "s",
        userAccessType: "TOAST_MACHINE_CLIENT",
      }),
    });
    await res.body?.cancel();
    return res.status;
  }

  /** Creates a Square order; its status is the next injected fault's, or 200. */
  async function squareOrder(base: string, key: string): Promise<number> {
    const res = await fetch(`${base}/square/v2/orders`, {
      method: "POST",
      headers: {
        authorization: "Bearer sq-access",
        "content-type": "application/json",
        "square-version": "2025-10-16",
      },
      body: JSON.stringify({
        idempotency_key: key,
        order: {
          location_id: "L1",
          line_items: [
            { name: "Soup", quantity: "1", base_price_money: { amount: 500, currency: "USD" } },
          ],
        },
      }),
    });
    await res.body?.cancel();
    return res.status;
  }

  it("keeps faults, modes and the request log apart from the double and from each other", async () => {
    const a = await namespaceOf(double.url);
    const b = await namespaceOf(double.url);

    await control(a, "faults", { vendor: "square", faults: [{ kind: "status", status: 503 }] });
    await control(b, "mode", { vendor: "square", mode: { kind: "status", status: 400 } });
    expect(await squareOrder(double.url, "k-root")).toBe(200);
    expect(await squareOrder(a, "k-a")).toBe(503);
    expect(await squareOrder(b, "k-b1")).toBe(400);
    expect(await squareOrder(b, "k-b2")).toBe(400);

    expect(await toastLogin(a)).toBe(200);
    const inA = (await control(a, "received")) as { vendor: string; path: string }[];
    expect(inA.map((r) => `${r.vendor} ${r.path}`)).toEqual([
      "square /v2/orders",
      "toast /authentication/v1/authentication/login",
    ]);
    expect(((await control(b, "received")) as unknown[]).length).toBe(2);
    expect(double.requests("square").map((r) => r.path)).toEqual(["/v2/orders"]);
    expect(double.requests("toast")).toEqual([]);
  });

  it("a reset in one namespace leaves another's orders, faults and log as they were", async () => {
    const a = await namespaceOf(double.url);
    const b = await namespaceOf(double.url);
    expect(await squareOrder(b, "k-kept")).toBe(200);
    await control(b, "faults", { vendor: "square", faults: [{ kind: "status", status: 502 }] });

    await control(a, "reset", {});
    await control(double.url, "reset", {});

    expect(((await control(b, "orders?vendor=square")) as unknown[]).length).toBe(1);
    expect(((await control(b, "received?vendor=square")) as unknown[]).length).toBe(1);
    expect(await squareOrder(b, "k-faulted")).toBe(502);
  });

  it("stops with the double it came from", async () => {
    const a = await namespaceOf(double.url);
    await double.stop();
    await expect(fetch(`${a}/_control/received`)).rejects.toThrow();
    double = await startPosDouble({ vendors: [toast] });
  });
});

describe("the Stripe double's namespaces", () => {
  const auth = { authorization: "Bearer sk_test_namespaces" };
  let double: Awaited<ReturnType<typeof startStripeDouble>>;
  beforeEach(async () => {
    double = await startStripeDouble({ webhookSecret: "whsec_namespaces" });
  });
  afterEach(async () => {
    await double.stop();
  });

  async function createIntent(base: string, idempotencyKey?: string) {
    const res = await fetch(`${base}/v1/payment_intents`, {
      method: "POST",
      headers: {
        ...auth,
        "content-type": "application/x-www-form-urlencoded",
        ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
      },
      body: new URLSearchParams({ amount: "500", currency: "usd" }),
    });
    const body = (await res.json()) as { id?: string; error?: { type: string } };
    return { status: res.status, id: body.id, error: body.error?.type };
  }

  it("holds its own objects, faults, idempotency keys and request log", async () => {
    const a = await namespaceOf(double.url);
    const b = await namespaceOf(double.url);

    await control(a, "faults", [{ path: "/v1/payment_intents", method: "POST", status: 500 }]);
    expect((await createIntent(b)).status).toBe(200);
    expect((await createIntent(double.url)).status).toBe(200);
    expect(await createIntent(a)).toMatchObject({ status: 500, error: "api_error" });

    const inB = await createIntent(b, "same-key");
    const inRoot = await createIntent(double.url, "same-key");
    expect(inB.status).toBe(200);
    expect(inRoot.status).toBe(200);
    expect(inRoot.id).not.toBe(inB.id);

    const atRoot = await fetch(`${double.url}/v1/payment_intents/${inB.id}`, { headers: auth });
    expect(atRoot.status).toBe(404);
    await atRoot.body?.cancel();
    const requested = (base: string) =>
      control(base, "requests").then((list) => (list as unknown[]).length);
    expect([await requested(a), await requested(b), await requested(double.url)]).toEqual([
      1, 2, 3,
    ]);
    expect(double.paymentIntents.size).toBe(2);
  });

  it("a reset elsewhere leaves a namespace's intents, and it stops with its double", async () => {
    const a = await namespaceOf(double.url);
    const made = await createIntent(a);
    await control(double.url, "reset", {});
    const kept = await fetch(`${a}/v1/payment_intents/${made.id}`, { headers: auth });
    expect(((await kept.json()) as { id: string }).id).toBe(made.id);

    await double.stop();
    await expect(fetch(`${a}/_control/requests`)).rejects.toThrow();
    double = await startStripeDouble({ webhookSecret: "whsec_namespaces" });
  });
});
