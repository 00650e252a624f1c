import { createHmac } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type PosConnection, PosError, type PosOrder } from "../../src/adapters/pos/types";
import {
  mapWebhookStatus,
  signOrderlanePayload,
  verifyOrderlaneSignature,
  webhookAdapter,
} from "../../src/adapters/pos/webhook";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import receiver, { signWebhook } from "../../tools/pos-double/webhook-receiver.mjs";
import { caught } from "../caught";
import { until } from "../wait";

let orderSeq = 0;

function sampleOrder(overrides: Partial<PosOrder> = {}): PosOrder {
  orderSeq += 1;
  return {
    orderId: `ord_wh_${Date.now()}_${orderSeq}`,
    number: 7,
    orderType: "delivery",
    customer: { name: "Grace Hopper", email: "grace@example.com", phone: "+14155550111" },
    lines: [
      {
        menuItemId: "mi_pad_thai",
        name: "Pad thai",
        quantity: 2,
        unitPrice: 1400,
        basePrice: 1300,
        posItemId: "PT-01",
        modifiers: [{ name: "Extra peanuts", price: 100, posModifierId: null }],
        specialInstructions: "Mild",
      },
    ],
    currency: "EUR",
    subtotal: 2800,
    discount: 0,
    tax: 224,
    tip: 300,
    total: 3324,
    specialInstructions: null,
    scheduledFor: "2025-11-03T19:30:00.000Z",
    deliveryAddress: {
      line1: "Rue de Rivoli 1",
      city: "Paris",
      postalCode: "75001",
      country: "FR",
    },
    createdAt: "2025-11-03T18:05:00.000Z",
    ...overrides,
  };
}

const SECRET = "whsec_double";
const OPTIONS = { timeoutMs: 2_000 };

describe("webhookAdapter.createOrder against the receiver double", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;
  let connection: PosConnection;

  beforeAll(async () => {
    double = await startPosDouble({ vendors: [receiver] });
  });
  afterAll(async () => {
    await double.stop();
  });
  beforeEach(() => {
    double.reset();
    connection = {
      provider: "webhook",
      locationId: "kitchen-1",
      credentials: { url: `${double.baseUrl("webhook")}/orders`, secret: SECRET },
      session: null,
      baseUrl: "",
      syncCustomerInfo: true,
    };
  });

  const received = () => double.requests("webhook", "/orders");

  it("POSTs the order as signed JSON with the documented headers and body", async () => {
    const order = sampleOrder();
    const now = new Date();
    const created = await webhookAdapter.createOrder(connection, order, {
      ...OPTIONS,
      now: () => now,
    });
    expect(created).toEqual({ posOrderId: "wh_1", alreadyExisted: false });

    const [request] = received();
    if (!request) throw new Error("the receiver got nothing");
    const timestamp = String(Math.floor(now.getTime() / 1000));
    expect(request.method).toBe("POST");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["idempotency-key"]).toBe(order.orderId);
    expect(request.headers["x-orderlane-timestamp"]).toBe(timestamp);
    expect(request.headers["x-orderlane-delivery"]).toMatch(/^dlv_[0-9a-f-]{36}$/);
    // The signature, recomputed independently with node:crypto over "<timestamp>.<raw body>".
    const expected = createHmac("sha256", SECRET)
      .update(`${timestamp}.${request.body}`)
      .digest("hex");
    expect(request.headers["x-orderlane-signature"]).toBe(`sha256=${expected}`);
    expect(request.headers["x-orderlane-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);

    expect(JSON.parse(request.body)).toEqual({
      deliveryId: request.headers["x-orderlane-delivery"],
      ...order,
    });
  });

  it("delivers the order once across retries, with a new delivery id per attempt", async () => {
    const order = sampleOrder();
    double.inject("webhook", [{ kind: "accept_then_fail", status: 503 }]);
    const error = await caught(webhookAdapter.createOrder(connection, order, OPTIONS), PosError);
    expect(error.kind).toBe("retryable");
    expect(error.details.status).toBe(503);

    const retried = await webhookAdapter.createOrder(connection, order, OPTIONS);
    expect(retried).toEqual({ posOrderId: "wh_1", alreadyExisted: true });
    const again = await webhookAdapter.createOrder(connection, order, OPTIONS);
    expect(again.posOrderId).toBe("wh_1");

    expect(double.orders("webhook").size).toBe(1);
    const deliveries = received().map((r) => r.headers["x-orderlane-delivery"]);
    expect(deliveries).toHaveLength(3);
    expect(new Set(deliveries).size).toBe(3);
    expect(new Set(received().map((r) => r.headers["idempotency-key"]))).toEqual(
      new Set([order.orderId]),
    );
  });

  it("passes 500, 429 with Retry-After, and slow answers on as retryable", async () => {
    double.inject("webhook", [
      { kind: "status", status: 500 },
      { kind: "status", status: 429, retryAfter: 7 },
      { kind: "delay", ms: 300 },
    ]);
    const server = await caught(
      webhookAdapter.createOrder(connection, sampleOrder(), OPTIONS),
      PosError,
    );
    expect([server.kind, server.code]).toEqual(["retryable", "server_error"]);
    const limited = await caught(
      webhookAdapter.createOrder(connection, sampleOrder(), OPTIONS),
      PosError,
    );
    expect([limited.kind, limited.code, limited.details.retryAfterSeconds]).toEqual([
      "retryable",
      "rate_limited",
      7,
    ]);
    const slow = await caught(
      webhookAdapter.createOrder(connection, sampleOrder(), { timeoutMs: 50 }),
      PosError,
    );
    expect([slow.kind, slow.code]).toEqual(["retryable", "timeout"]);
    // The slow delivery still lands; wait for it so it cannot leak into the next test.
    await until(
      () => double.orders("webhook").size,
      (n) => n === 1,
      3_000,
      "the delayed delivery",
    );
  });

  it("answers a refused signature as auth (the receiver holds another secret)", async () => {
    double.state("webhook").secret = "whsec_other";
    const error = await caught(
      webhookAdapter.createOrder(connection, sampleOrder(), OPTIONS),
      PosError,
    );
    expect(error.kind).toBe("auth");
    expect(double.orders("webhook").size).toBe(0);
  });

  it("accepts `{ id }` as the receiver's answer", async () => {
    double.state("webhook").answerShape = "id";
    const created = await webhookAdapter.createOrder(connection, sampleOrder(), OPTIONS);
    expect(created).toEqual({ posOrderId: "wh_1", alreadyExisted: false });
  });

  it("fails permanently on a 2xx without an id, or without a body", async () => {
    double.state("webhook").answerShape = "none";
    const none = await caught(
      webhookAdapter.createOrder(connection, sampleOrder(), OPTIONS),
      PosError,
    );
    expect([none.kind, none.code]).toEqual(["permanent", "bad_response"]);
    double.state("webhook").answerShape = "empty";
    const empty = await caught(
      webhookAdapter.createOrder(connection, sampleOrder(), OPTIONS),
      PosError,
    );
    expect([empty.kind, empty.code]).toEqual(["permanent", "bad_response"]);
  });

  it("sends customer null when syncCustomerInfo is off", async () => {
    await webhookAdapter.createOrder(
      { ...connection, syncCustomerInfo: false },
      sampleOrder(),
      OPTIONS,
    );
    const body = received()[0]?.body ?? "";
    expect(JSON.parse(body).customer).toBeNull();
    expect(body).not.toContain("Grace");
    expect(body).not.toContain("grace@example.com");
    expect(body).not.toContain("4155550111");
  });

  it("refuses credentials without a secret or with a plain-http remote URL", async () => {
    const noSecret = await caught(
      webhookAdapter.createOrder(
        { ...connection, credentials: { url: connection.credentials.url ?? "" } },
        sampleOrder(),
        OPTIONS,
      ),
      PosError,
    );
    expect([noSecret.kind, noSecret.code]).toEqual(["permanent", "invalid_credentials"]);
    const plain = await caught(
      webhookAdapter.createOrder(
        { ...connection, credentials: { url: "http://pos.example.com/orders", secret: SECRET } },
        sampleOrder(),
        OPTIONS,
      ),
      PosError,
    );
    expect(plain.code).toBe("invalid_credentials");
    expect(received()).toHaveLength(0);
  });
});

describe("Orderlane webhook signatures", () => {
  const rawBody = JSON.stringify({
    eventId: "evt_1",
    orderId: "ord_1",
    posOrderId: "wh_1",
    status: "ready",
    occurredAt: "2025-11-03T18:30:00Z",
  });
  const at = new Date("2025-11-03T18:30:05Z");
  const timestamp = Math.floor(at.getTime() / 1000);

  afterEach(() => {
    vi.useRealTimers();
  });

  it("signs exactly like the receiver double (node:crypto)", async () => {
    const headers = signWebhook(rawBody, SECRET, timestamp);
    expect(await signOrderlanePayload(SECRET, timestamp, rawBody)).toBe(
      headers["x-orderlane-signature"],
    );
  });

  it("verifies a fresh signature and refuses tampering, another secret and malformed headers", async () => {
    const headers = signWebhook(rawBody, SECRET, timestamp);
    const check = (overrides: {
      rawBody?: string;
      timestamp?: string | undefined;
      signature?: string | undefined;
      secret?: string;
    }) =>
      verifyOrderlaneSignature({
        rawBody,
        timestamp: headers["x-orderlane-timestamp"],
        signature: headers["x-orderlane-signature"],
        secret: SECRET,
        now: at,
        ...overrides,
      });
    expect(await check({})).toBe(true);
    expect(await check({ rawBody: rawBody.replace("ready", "completed") })).toBe(false);
    expect(await check({ secret: "whsec_other" })).toBe(false);
    expect(await check({ timestamp: String(timestamp + 1) })).toBe(false);
    expect(await check({ signature: undefined })).toBe(false);
    expect(await check({ timestamp: undefined })).toBe(false);
    expect(
      await check({ signature: headers["x-orderlane-signature"]?.replace("sha256=", "") }),
    ).toBe(false);
    expect(await check({ signature: "sha256=zz" })).toBe(false);
    expect(await check({ timestamp: "-1" })).toBe(false);
    expect(await check({ secret: "" })).toBe(false);
  });

  it("accepts timestamps within five minutes either way, not beyond", async () => {
    const verifyAt = async (signedAt: number) => {
      const headers = signWebhook(rawBody, SECRET, signedAt);
      return verifyOrderlaneSignature({
        rawBody,
        timestamp: headers["x-orderlane-timestamp"],
        signature: headers["x-orderlane-signature"],
        secret: SECRET,
        now: at,
      });
    };
    expect(await verifyAt(timestamp - 300)).toBe(true);
    expect(await verifyAt(timestamp + 300)).toBe(true);
    expect(await verifyAt(timestamp - 301)).toBe(false);
    expect(await verifyAt(timestamp + 301)).toBe(false);
  });

  it("verifyWebhook reads the lower-case headers and the current clock", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(at);
    const headers = signWebhook(rawBody, SECRET, timestamp);
    const request = {
      headers,
      rawBody,
      url: "https://orderlane.example/webhooks/pos/webhook/acme",
    };
    expect(await webhookAdapter.verifyWebhook(request, SECRET)).toBe(true);
    // The same request replayed ten minutes later is refused.
    vi.setSystemTime(new Date(at.getTime() + 10 * 60 * 1000));
    expect(await webhookAdapter.verifyWebhook(request, SECRET)).toBe(false);
  });
});

describe("webhookAdapter status webhooks", () => {
  const request = (body: unknown) => ({
    headers: {},
    rawBody: typeof body === "string" ? body : JSON.stringify(body),
    url: "https://orderlane.example/webhooks/pos/webhook/acme",
  });

  it("parses a status report in our own words", () => {
    expect(
      webhookAdapter.parseWebhook(
        request({
          eventId: "evt_1",
          orderId: "ord_1",
          posOrderId: "wh_1",
          status: "ready",
          occurredAt: "2025-11-03T19:30:05+01:00",
        }),
      ),
    ).toEqual([
      {
        eventId: "evt_1",
        orderId: "ord_1",
        posOrderId: "wh_1",
        vendorStatus: "ready",
        status: "ready",
        occurredAt: "2025-11-03T18:30:05.000Z",
      },
    ]);
  });

  it("keeps an unknown status word for the record without changing anything", () => {
    const [report] = webhookAdapter.parseWebhook(
      request({ eventId: "e", orderId: "o", status: "plated", occurredAt: "2025-11-03T18:30:05Z" }),
    );
    expect(report?.status).toBeNull();
    expect(report?.vendorStatus).toBe("plated");
    expect(report?.posOrderId).toBeNull();
  });

  it("maps only the statuses a POS may report", () => {
    expect(mapWebhookStatus("Out_For_Delivery")).toBe("out_for_delivery");
    expect(mapWebhookStatus("cancelled")).toBe("cancelled");
    expect(mapWebhookStatus("pending_payment")).toBeNull();
  });

  it("refuses bodies that are not status webhooks", () => {
    expect(() => webhookAdapter.parseWebhook(request("{"))).toThrow(PosError);
    expect(() =>
      webhookAdapter.parseWebhook(request({ eventId: "e", orderId: "o", status: "ready" })),
    ).toThrow("not an Orderlane status webhook");
  });

  it("has nothing to refresh and nothing to ask", async () => {
    const connection: PosConnection = {
      provider: "webhook",
      locationId: "",
      credentials: { url: "https://pos.example.com/orders", secret: SECRET },
      session: null,
      baseUrl: "",
      syncCustomerInfo: true,
    };
    expect(await webhookAdapter.refreshSession(connection, OPTIONS)).toEqual({
      accessToken: "",
      expiresAt: null,
      refreshToken: null,
    });
    const error = await caught(
      webhookAdapter.getOrderStatus(connection, "wh_1", OPTIONS),
      PosError,
    );
    expect([error.kind, error.code]).toEqual(["permanent", "not_supported"]);
  });
});
