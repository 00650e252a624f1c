import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startStripeDouble, stripeSignatureHeader } from "../../tools/stripe-double/server.mjs";
import { until } from "../wait";

// The customer's side of a payment as Stripe.js sends it (the publishable key and the intent's
// client secret), so a storefront can be tried against the local double with the
// `pk_test_…` key that GET /v1/stores/:tenant hands out.

const SECRET_KEY = "sk_test_confirm";
const PUBLISHABLE_KEY = "pk_test_orderlane_double";
const WEBHOOK_SECRET = "whsec_confirm";

type Double = Awaited<ReturnType<typeof startStripeDouble>>;
let double: Double;
let receiver: Server;
const received: { type: string; signed: boolean }[] = [];

beforeEach(async () => {
  received.length = 0;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const header = String(req.headers["stripe-signature"] ?? "");
      const t = Number(/t=(\d+)/.exec(header)?.[1]);
      received.push({
        type: (JSON.parse(body) as { type: string }).type,
        signed: header === stripeSignatureHeader(body, WEBHOOK_SECRET, t),
      });
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const port = (receiver.address() as AddressInfo).port;
  double = await startStripeDouble({
    webhookSecret: WEBHOOK_SECRET,
    webhookUrl: `http://127.0.0.1:${port}/webhooks/stripe`,
  });
});

afterEach(async () => {
  await double.stop();
  receiver.close();
});

async function stripe(path: string, key: string, form: Record<string, string>) {
  const res = await fetch(`${double.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function intent(captureMethod = "automatic") {
  const created = await stripe("/v1/payment_intents", SECRET_KEY, {
    amount: "1299",
    currency: "usd",
    capture_method: captureMethod,
  });
  expect(created.status).toBe(200);
  return created.body as { id: string; client_secret: string };
}

describe("confirming a PaymentIntent with the publishable key", () => {
  it("pays it and sends the signed payment_intent.succeeded", async () => {
    const pi = await intent();
    const confirmed = await stripe(`/v1/payment_intents/${pi.id}/confirm`, PUBLISHABLE_KEY, {
      client_secret: pi.client_secret,
      payment_method: "pm_card_visa",
    });
    expect(confirmed).toMatchObject({ status: 200, body: { id: pi.id, status: "succeeded" } });
    await until(
      () => received.length,
      (n) => n > 0,
      5000,
      "the webhook",
    );
    expect(received).toEqual([{ type: "payment_intent.succeeded", signed: true }]);
  });

  it("authorises a manual-capture intent, and a declining test card fails it", async () => {
    const held = await intent("manual");
    const authorised = await stripe(`/v1/payment_intents/${held.id}/confirm`, PUBLISHABLE_KEY, {
      client_secret: held.client_secret,
    });
    expect(authorised.body.status).toBe("requires_capture");
    const declined = await intent();
    const failed = await stripe(`/v1/payment_intents/${declined.id}/confirm`, PUBLISHABLE_KEY, {
      client_secret: declined.client_secret,
      payment_method: "pm_card_chargeDeclined",
    });
    expect(failed.body.status).toBe("requires_payment_method");
  });

  it("refuses another intent's client secret, a paid intent, and a publishable key elsewhere", async () => {
    const a = await intent();
    const b = await intent();
    const wrong = await stripe(`/v1/payment_intents/${a.id}/confirm`, PUBLISHABLE_KEY, {
      client_secret: b.client_secret,
    });
    expect(wrong.status).toBe(400);
    expect((double.paymentIntents.get(a.id) as { status: string }).status).toBe(
      "requires_payment_method",
    );
    await stripe(`/v1/payment_intents/${a.id}/confirm`, PUBLISHABLE_KEY, {
      client_secret: a.client_secret,
    });
    const twice = await stripe(`/v1/payment_intents/${a.id}/confirm`, PUBLISHABLE_KEY, {
      client_secret: a.client_secret,
    });
    expect(twice.status).toBe(400);
    const create = await stripe("/v1/payment_intents", PUBLISHABLE_KEY, {
      amount: "100",
      currency: "usd",
    });
    expect(create.status).toBe(401);
  });
});
