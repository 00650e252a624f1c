import { createServer, type Server } from "node:http";
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createStripeGateway,
  hostOptions,
  toCreatedPaymentIntent,
  toRefundResult,
} from "../../src/adapters/payments/stripe";
import {
  PaymentError,
  type PaymentGateway,
  PaymentWebhookError,
  type PaymentWebhookEvent,
  refundIdempotencyKey,
} from "../../src/adapters/payments/types";
import { startStripeDouble } from "../../tools/stripe-double/server.mjs";
import { caught } from "../caught";
import { until } from "../wait";
import errorCardDeclined from "./fixtures/stripe-error-card-declined.json";
import errorIdempotency from "./fixtures/stripe-error-idempotency.json";
import eventSucceeded from "./fixtures/stripe-event-payment-intent-succeeded.json";
import paymentIntentCreated from "./fixtures/stripe-payment-intent-created.json";
import refundFixture from "./fixtures/stripe-refund.json";

// ---------------------------------------------------------------- helpers

const SECRET_KEY = "sk_test_orderlaneUnitKey4242";
const WEBHOOK_SECRET = "whsec_orderlane_unit_test_secret";

type Double = Awaited<ReturnType<typeof startStripeDouble>>;
let double: Double;
let seq = 0;

/** A unique order id per test, so no test depends on another's state. */
function nextOrderId(): string {
  seq += 1;
  return `ord_${Date.now()}_${seq}`;
}

function gateway(overrides: { secretKey?: string; maxNetworkRetries?: number } = {}) {
  return createStripeGateway({
    secretKey: overrides.secretKey ?? SECRET_KEY,
    apiBase: double.url,
    maxNetworkRetries: overrides.maxNetworkRetries ?? 0,
  });
}

/** Requests the double received for one method and path, oldest first. */
function received(method: string, path: string) {
  return double.requests.filter((r) => r.method === method && r.path === path);
}

async function createIntent(
  gw: PaymentGateway,
  orderId: string,
  overrides: { amount?: number; captureMethod?: "automatic" | "manual" } = {},
) {
  return gw.createPaymentIntent({
    orderId,
    tenantId: "acme",
    amount: overrides.amount ?? 3483,
    currency: "USD",
    captureMethod: overrides.captureMethod ?? "automatic",
    idempotencyKey: `acme:create:${orderId}`,
  });
}

/** A paid intent for `orderId`, ready to refund. */
async function paidIntent(gw: PaymentGateway, orderId: string): Promise<string> {
  const pi = await createIntent(gw, orderId);
  await double.succeed(pi.id);
  return pi.id;
}

/** The port a listening server got. */
function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server is not on TCP");
  return address.port;
}

/** A fetch that always answers `status` with `body`, for mapping Stripe's documented answers. */
function cannedFetch(status: number, body: unknown): typeof fetch {
  return async () =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", "request-id": "req_canned" },
    });
}

beforeAll(async () => {
  double = await startStripeDouble({ webhookSecret: WEBHOOK_SECRET });
});

afterAll(async () => {
  await double.stop();
});

beforeEach(() => {
  double.reset();
  double.setWebhookUrl(undefined);
});

// ---------------------------------------------------------------- configuration

describe("hostOptions", () => {
  it("splits an API base into stripe-node's host, port and protocol", () => {
    expect(hostOptions("http://127.0.0.1:12111")).toEqual({
      host: "127.0.0.1",
      port: 12111,
      protocol: "http",
    });
    expect(hostOptions("https://api.stripe.com")).toEqual({
      host: "api.stripe.com",
      port: 443,
      protocol: "https",
    });
    expect(hostOptions(undefined)).toEqual({});
  });

  it("refuses a base that is not http(s)", () => {
    expect(() => hostOptions("ftp://example.com")).toThrow(PaymentError);
    expect(() => hostOptions("not a url")).toThrow(PaymentError);
  });
});

// ---------------------------------------------------------------- PaymentIntents

describe("createPaymentIntent", () => {
  it("sends Stripe's form encoding with our metadata and idempotency key", async () => {
    const orderId = nextOrderId();
    const pi = await createIntent(gateway(), orderId, { captureMethod: "manual" });

    expect(pi.id).toMatch(/^pi_/);
    expect(pi.clientSecret.startsWith(`${pi.id}_secret_`)).toBe(true);
    expect(pi.status).toBe("requires_payment_method");

    const [request] = received("POST", "/v1/payment_intents");
    expect(request?.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
    expect(request?.headers["idempotency-key"]).toBe(`acme:create:${orderId}`);
    expect(request?.headers["content-type"]).toContain("application/x-www-form-urlencoded");
    const body = new URLSearchParams(request?.body ?? "");
    expect(body.get("amount")).toBe("3483");
    expect(body.get("currency")).toBe("usd");
    expect(body.get("capture_method")).toBe("manual");
    expect(body.get("automatic_payment_methods[enabled]")).toBe("true");
    expect(body.get("metadata[tenant_id]")).toBe("acme");
    expect(body.get("metadata[order_id]")).toBe(orderId);

    const held = double.paymentIntents.get(pi.id);
    expect(held?.metadata).toEqual({ tenant_id: "acme", order_id: orderId });
    expect(held?.capture_method).toBe("manual");
  });

  it("returns the same PaymentIntent for the same idempotency key, and Stripe holds one", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    const first = await createIntent(gw, orderId);
    const second = await createIntent(gw, orderId);

    expect(second).toEqual(first);
    expect(double.paymentIntents.size).toBe(1);
    expect(received("POST", "/v1/payment_intents")).toHaveLength(2);
  });

  it("refuses the same idempotency key with other parameters, permanently", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    await createIntent(gw, orderId, { amount: 1000 });
    const err = await caught(createIntent(gw, orderId, { amount: 2000 }), PaymentError);

    expect(err.kind).toBe("permanent");
    expect(err.code).toBe("idempotency_mismatch");
    expect(err.details.status).toBe(400);
    expect(double.paymentIntents.size).toBe(1);
  });

  it("answers a concurrent request with the same key as retryable (409 in progress)", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    double.inject([{ path: "/v1/payment_intents", delayMs: 150 }]);
    const slow = createIntent(gw, orderId);
    // The first request is at the double (and holds the key) before the second is sent.
    await until(
      () => received("POST", "/v1/payment_intents").length,
      (n) => n === 1,
      3000,
      "the first request",
    );
    const err = await caught(createIntent(gw, orderId), PaymentError);

    expect(err.kind).toBe("retryable");
    expect(err.code).toBe("idempotency_in_progress");
    expect(err.details.status).toBe(409);
    const pi = await slow;
    expect(double.paymentIntents.has(pi.id)).toBe(true);
    expect(double.paymentIntents.size).toBe(1);
  });

  it("maps Stripe's documented PaymentIntent object", async () => {
    const gw = createStripeGateway({
      secretKey: SECRET_KEY,
      fetch: cannedFetch(200, paymentIntentCreated),
    });
    const pi = await createIntent(gw, "ord_01HZX3");
    expect(pi).toEqual({
      id: "pi_3MtwBwLkdIwHu7ix28a3tqPa",
      clientSecret: "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
      status: "requires_payment_method",
    });
    expect(toCreatedPaymentIntent(paymentIntentCreated).id).toBe("pi_3MtwBwLkdIwHu7ix28a3tqPa");
  });

  it("treats an answer that is not a PaymentIntent as a permanent bad_response", async () => {
    const gw = createStripeGateway({
      secretKey: SECRET_KEY,
      fetch: cannedFetch(200, { ...paymentIntentCreated, client_secret: null }),
    });
    const err = await caught(createIntent(gw, "ord_01HZX3"), PaymentError);
    expect(err.kind).toBe("permanent");
    expect(err.code).toBe("bad_response");
  });
});

describe("capturePaymentIntent and cancelPaymentIntent", () => {
  it("captures an authorised intent", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    const pi = await createIntent(gw, orderId, { captureMethod: "manual" });
    await double.authorize(pi.id);

    const captured = await gw.capturePaymentIntent(pi.id, { idempotencyKey: `capture:${orderId}` });
    expect(captured).toEqual({
      id: pi.id,
      status: "succeeded",
      amount: 3483,
      amountReceived: 3483,
      currency: "USD",
    });
    const [request] = received("POST", `/v1/payment_intents/${pi.id}/capture`);
    expect(request?.headers["idempotency-key"]).toBe(`capture:${orderId}`);
  });

  it("refuses to capture an intent that is not authorised, permanently", async () => {
    const gw = gateway();
    const pi = await createIntent(gw, nextOrderId(), { captureMethod: "manual" });
    const err = await caught(
      gw.capturePaymentIntent(pi.id, { idempotencyKey: "capture:x" }),
      PaymentError,
    );
    expect(err.kind).toBe("permanent");
    expect(err.code).toBe("invalid_request");
    expect(err.details.processorCode).toBe("payment_intent_unexpected_state");
  });

  it("cancels an unpaid intent", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    const pi = await createIntent(gw, orderId);
    const canceled = await gw.cancelPaymentIntent(pi.id, { idempotencyKey: `cancel:${orderId}` });
    expect(canceled.status).toBe("canceled");
    expect(canceled.amountReceived).toBe(0);
    expect(double.paymentIntents.get(pi.id)?.status).toBe("canceled");
  });

  it("a cancelled intent can no longer be paid by the customer", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    const pi = await createIntent(gw, orderId);
    await gw.cancelPaymentIntent(pi.id, { idempotencyKey: `cancel:${orderId}` });
    const res = await fetch(`${double.url}/_control/payment_intents/${pi.id}/succeed`, {
      method: "POST",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { type: "invalid_request_error", code: "payment_intent_unexpected_state" },
    });
    expect(double.paymentIntents.get(pi.id)?.status).toBe("canceled");
  });

  it("reports an unknown intent as a permanent invalid request", async () => {
    const err = await caught(
      gateway().cancelPaymentIntent("pi_missing", { idempotencyKey: "k" }),
      PaymentError,
    );
    expect(err.kind).toBe("permanent");
    expect(err.details.status).toBe(404);
    expect(err.details.processorCode).toBe("resource_missing");
  });
});

// ---------------------------------------------------------------- refunds

describe("refund", () => {
  it("refunds once for `refund:<order id>`, however often it is asked", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    const piId = await paidIntent(gw, orderId);
    const input = {
      paymentIntentId: piId,
      orderId,
      idempotencyKey: refundIdempotencyKey(orderId),
    };

    const first = await gw.refund(input);
    const second = await gw.refund(input);

    expect(second).toEqual(first);
    expect(first).toMatchObject({ status: "succeeded", amount: 3483, currency: "USD", orderId });
    expect(double.refunds.size).toBe(1);
    const requests = received("POST", "/v1/refunds");
    expect(requests).toHaveLength(2);
    expect(requests[0]?.headers["idempotency-key"]).toBe(`refund:${orderId}`);
    expect(new URLSearchParams(requests[0]?.body ?? "").get("metadata[order_id]")).toBe(orderId);
    expect(new URLSearchParams(requests[0]?.body ?? "").get("payment_intent")).toBe(piId);
  });

  it("sends a partial amount", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    const piId = await paidIntent(gw, orderId);
    const refund = await gw.refund({
      paymentIntentId: piId,
      amount: 500,
      orderId,
      idempotencyKey: refundIdempotencyKey(orderId),
    });
    expect(refund.amount).toBe(500);
    expect(new URLSearchParams(received("POST", "/v1/refunds")[0]?.body ?? "").get("amount")).toBe(
      "500",
    );
  });

  it("finds the order's refund after Stripe has forgotten the idempotency key", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    const piId = await paidIntent(gw, orderId);
    const made = await gw.refund({
      paymentIntentId: piId,
      amount: 1000,
      orderId,
      idempotencyKey: refundIdempotencyKey(orderId),
    });
    double.expireIdempotencyKeys();

    expect(await gw.findRefundForOrder(piId, orderId)).toEqual(made);
    expect(await gw.findRefundForOrder(piId, "ord_other")).toBeNull();
    const [list] = received("GET", `/v1/refunds?payment_intent=${piId}&limit=100`);
    expect(list?.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
  });

  it("maps Stripe's documented refund object", () => {
    expect(toRefundResult(refundFixture)).toEqual({
      id: "re_1Nispe2eZvKYlo2Cd31jOCgZ",
      status: "succeeded",
      amount: 1000,
      currency: "USD",
      orderId: "ord_01HZX3",
    });
  });

  it("classifies Stripe's documented idempotency error as a permanent mismatch", async () => {
    const gw = createStripeGateway({
      secretKey: SECRET_KEY,
      fetch: cannedFetch(400, errorIdempotency),
    });
    const err = await caught(
      gw.refund({
        paymentIntentId: "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        orderId: "ord_01HZX3",
        idempotencyKey: refundIdempotencyKey("ord_01HZX3"),
      }),
      PaymentError,
    );
    expect(err.kind).toBe("permanent");
    expect(err.code).toBe("idempotency_mismatch");
  });
});

// ---------------------------------------------------------------- failures

describe("error classification", () => {
  it("a 500 is retryable, and the retry with the same key refunds once", async () => {
    const gw = gateway();
    const orderId = nextOrderId();
    const piId = await paidIntent(gw, orderId);
    const input = { paymentIntentId: piId, orderId, idempotencyKey: refundIdempotencyKey(orderId) };
    double.inject([{ path: "/v1/refunds", status: 500 }]);

    const err = await caught(gw.refund(input), PaymentError);
    expect(err.kind).toBe("retryable");
    expect(err.code).toBe("api_error");
    expect(err.details.status).toBe(500);
    expect(double.refunds.size).toBe(0);

    await gw.refund(input);
    expect(double.refunds.size).toBe(1);
  });

  it("stripe-node's own retry absorbs a 500 and reuses our idempotency key", async () => {
    const gw = gateway({ maxNetworkRetries: 1 });
    const orderId = nextOrderId();
    const piId = await paidIntent(gw, orderId);
    double.inject([{ path: "/v1/refunds", status: 500 }]);

    const refund = await gw.refund({
      paymentIntentId: piId,
      orderId,
      idempotencyKey: refundIdempotencyKey(orderId),
    });
    expect(refund.status).toBe("succeeded");
    const keys = received("POST", "/v1/refunds").map((r) => r.headers["idempotency-key"]);
    expect(keys).toEqual([`refund:${orderId}`, `refund:${orderId}`]);
  });

  it("a fault scoped to a form value applies only to requests carrying it", async () => {
    const gw = gateway();
    const mine = nextOrderId();
    const other = nextOrderId();
    double.inject([
      { path: "/v1/payment_intents", status: 500, form: { "metadata[order_id]": mine } },
    ]);
    // Another order's intent passes untouched; the fault waits for its own request.
    expect((await createIntent(gw, other)).status).toBe("requires_payment_method");
    const err = await caught(createIntent(gw, mine), PaymentError);
    expect(err.details.status).toBe(500);
    expect((await createIntent(gw, mine)).status).toBe("requires_payment_method");
  });

  it("a 429 is retryable", async () => {
    double.inject([{ path: "/v1/payment_intents", status: 429 }]);
    const err = await caught(createIntent(gateway(), nextOrderId()), PaymentError);
    expect(err.kind).toBe("retryable");
    expect(err.code).toBe("rate_limited");
  });

  it("a 402 card error is permanent, with the decline code", async () => {
    double.inject([{ path: "/v1/payment_intents", status: 402 }]);
    const err = await caught(createIntent(gateway(), nextOrderId()), PaymentError);
    expect(err.kind).toBe("permanent");
    expect(err.code).toBe("card_error");
    expect(err.details.processorCode).toBe("card_declined");
    expect(err.details.declineCode).toBe("generic_decline");
  });

  it("maps Stripe's documented card error body", async () => {
    const gw = createStripeGateway({
      secretKey: SECRET_KEY,
      fetch: cannedFetch(402, errorCardDeclined),
    });
    const err = await caught(createIntent(gw, "ord_01HZX3"), PaymentError);
    expect(err.kind).toBe("permanent");
    expect(err.code).toBe("card_error");
    expect(err.details).toMatchObject({
      status: 402,
      processorCode: "card_declined",
      declineCode: "insufficient_funds",
      requestId: "req_canned",
    });
  });

  it("a refused key is a permanent authentication error that never shows the key", async () => {
    const badKey = "sk_live_notAcceptedByTheDouble9876";
    const err = await caught(
      createIntent(gateway({ secretKey: badKey }), nextOrderId()),
      PaymentError,
    );
    expect(err.kind).toBe("permanent");
    expect(err.code).toBe("authentication");
    expect(err.details.status).toBe(401);
    expect(JSON.stringify({ message: err.message, details: err.details })).not.toContain(badKey);
    expect(double.paymentIntents.size).toBe(0);
  });

  it("an unreachable API is a retryable network error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", () => resolve()));
    const port = portOf(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const gw = createStripeGateway({
      secretKey: SECRET_KEY,
      apiBase: `http://127.0.0.1:${port}`,
      maxNetworkRetries: 0,
    });
    const err = await caught(createIntent(gw, nextOrderId()), PaymentError);
    expect(err.kind).toBe("retryable");
    expect(err.code).toBe("network_error");
  });
});

// ---------------------------------------------------------------- webhooks

describe("verifyWebhook", () => {
  const payload = JSON.stringify(eventSucceeded, null, 2);
  const now = () => Math.floor(Date.now() / 1000);
  // stripe-node's own test helper makes the header (README "Testing Webhook signing").
  const sign = (body: string, secret: string, timestamp = now()) =>
    Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp });

  it("accepts a correctly signed event and maps it", async () => {
    const event = await gateway().verifyWebhook(
      payload,
      await sign(payload, WEBHOOK_SECRET),
      WEBHOOK_SECRET,
    );
    expect(event).toEqual<PaymentWebhookEvent>({
      id: "evt_3MtwBwLkdIwHu7ix0n5HjFtx",
      type: "payment_intent.succeeded",
      created: 1680800610,
      livemode: false,
      paymentIntent: {
        id: "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        status: "succeeded",
        amount: 2000,
        amountReceived: 2000,
        currency: "USD",
        orderId: "ord_01HZX3",
        tenantId: "acme",
        failureCode: null,
      },
      refund: null,
      charge: null,
    });
  });

  it("refuses a tampered body", async () => {
    const header = await sign(payload, WEBHOOK_SECRET);
    const tampered = payload.replace('"amount": 2000', '"amount": 1');
    expect(tampered).not.toBe(payload);
    const err = await caught(
      gateway().verifyWebhook(tampered, header, WEBHOOK_SECRET),
      PaymentWebhookError,
    );
    expect(err.reason).toBe("signature_mismatch");
  });

  it("refuses a signature made with another secret", async () => {
    const header = await sign(payload, "whsec_someone_else");
    const err = await caught(
      gateway().verifyWebhook(payload, header, WEBHOOK_SECRET),
      PaymentWebhookError,
    );
    expect(err.reason).toBe("signature_mismatch");
  });

  it("refuses a correctly signed event older than the tolerance", async () => {
    const header = await sign(payload, WEBHOOK_SECRET, now() - 301);
    const err = await caught(
      gateway().verifyWebhook(payload, header, WEBHOOK_SECRET),
      PaymentWebhookError,
    );
    expect(err.reason).toBe("timestamp_outside_tolerance");
    // The same header is fine under a wider tolerance: only the age was wrong.
    const event = await gateway().verifyWebhook(payload, header, WEBHOOK_SECRET, 600);
    expect(event.id).toBe("evt_3MtwBwLkdIwHu7ix0n5HjFtx");
  });

  it("refuses a timestamp further ahead than the tolerance, to the second", async () => {
    // The clock stands still, so the boundary is exact: 300 s ahead is inside, 301 s is not.
    vi.useFakeTimers({ toFake: ["Date"], now: 1_800_000_000_500 });
    try {
      const inside = await sign(payload, WEBHOOK_SECRET, now() + 300);
      const event = await gateway().verifyWebhook(payload, inside, WEBHOOK_SECRET);
      expect(event.id).toBe("evt_3MtwBwLkdIwHu7ix0n5HjFtx");
      const ahead = await sign(payload, WEBHOOK_SECRET, now() + 301);
      const err = await caught(
        gateway().verifyWebhook(payload, ahead, WEBHOOK_SECRET),
        PaymentWebhookError,
      );
      expect(err.reason).toBe("timestamp_outside_tolerance");
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a missing or malformed header", async () => {
    const gw = gateway();
    expect(
      (await caught(gw.verifyWebhook(payload, null, WEBHOOK_SECRET), PaymentWebhookError)).reason,
    ).toBe("missing_signature");
    expect(
      (await caught(gw.verifyWebhook(payload, "v1=abc", WEBHOOK_SECRET), PaymentWebhookError))
        .reason,
    ).toBe("malformed_signature");
  });

  it("refuses a signed body that is not a Stripe event, as unreadable rather than forged", async () => {
    const body = JSON.stringify({ hello: "world" });
    const err = await caught(
      gateway().verifyWebhook(body, await sign(body, WEBHOOK_SECRET), WEBHOOK_SECRET),
      PaymentWebhookError,
    );
    expect(err.reason).toBe("unreadable_event");
    // The same body signed with another secret is forged, whatever it says.
    const forged = await caught(
      gateway().verifyWebhook(body, await sign(body, "whsec_other"), WEBHOOK_SECRET),
      PaymentWebhookError,
    );
    expect(forged.reason).toBe("signature_mismatch");
  });
});

describe("the double's webhooks", () => {
  let receiver: Server;
  let deliveries: { status: number; event: PaymentWebhookEvent | null; reason: string | null }[];

  beforeAll(async () => {
    const gw = createStripeGateway({ secretKey: SECRET_KEY });
    receiver = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks).toString("utf8");
      try {
        const header = req.headers["stripe-signature"];
        const event = await gw.verifyWebhook(
          raw,
          typeof header === "string" ? header : null,
          WEBHOOK_SECRET,
        );
        deliveries.push({ status: 200, event, reason: null });
        res.writeHead(200).end("{}");
      } catch (err) {
        const reason = err instanceof PaymentWebhookError ? err.reason : "unexpected";
        deliveries.push({ status: 400, event: null, reason });
        res.writeHead(400).end(reason);
      }
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", () => resolve()));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  beforeEach(() => {
    deliveries = [];
    double.setWebhookUrl(`http://127.0.0.1:${portOf(receiver)}/`);
  });

  it("signs payment_intent.succeeded so that the gateway verifies it", async () => {
    const orderId = nextOrderId();
    const pi = await createIntent(gateway(), orderId);
    const sent = await double.succeed(pi.id);

    expect(sent?.status).toBe(200);
    expect(deliveries).toHaveLength(1);
    const event = deliveries[0]?.event;
    expect(event?.id).toBe(sent?.eventId);
    expect(event?.type).toBe("payment_intent.succeeded");
    expect(event?.paymentIntent).toMatchObject({
      id: pi.id,
      status: "succeeded",
      amountReceived: 3483,
      orderId,
      tenantId: "acme",
    });
  });

  it("sends amount_capturable_updated when authorising", async () => {
    const pi = await createIntent(gateway(), nextOrderId(), { captureMethod: "manual" });
    await double.authorize(pi.id);
    expect(deliveries[0]?.event?.type).toBe("payment_intent.amount_capturable_updated");
    expect(deliveries[0]?.event?.paymentIntent?.status).toBe("requires_capture");
  });

  it("an event signed too long ago is refused by the receiver", async () => {
    const sent = await double.sendEvent("payment_intent.succeeded", paymentIntentCreated, {
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    expect(sent?.status).toBe(400);
    expect(deliveries[0]?.reason).toBe("timestamp_outside_tolerance");
  });
});
