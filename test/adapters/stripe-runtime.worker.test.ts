import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { createStripeGateway } from "../../src/adapters/payments/stripe";

// The gateway's Node tests run against the Stripe double; this one checks the
// same code bundles and verifies signatures inside workerd (fetch client,
// Web Crypto provider), where the Worker will run it.
describe("Stripe gateway in the Workers runtime", () => {
  it("verifies a Stripe-signed webhook and refuses another secret", async () => {
    const gateway = createStripeGateway({ secretKey: "sk_test_runtime" });
    const payload = JSON.stringify({
      id: "evt_runtime_1",
      object: "event",
      type: "payment_intent.succeeded",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      api_version: "2025-10-29.clover",
      data: {
        object: {
          id: "pi_runtime_1",
          object: "payment_intent",
          amount: 1299,
          currency: "usd",
          status: "succeeded",
          metadata: { tenant_id: "ten_1", order_id: "ord_1" },
        },
      },
    });
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload,
      secret: "whsec_runtime",
      cryptoProvider: Stripe.createSubtleCryptoProvider(),
    });
    const event = await gateway.verifyWebhook(payload, header, "whsec_runtime");
    expect(event).toMatchObject({ id: "evt_runtime_1", type: "payment_intent.succeeded" });
    await expect(gateway.verifyWebhook(payload, header, "whsec_other")).rejects.toThrow();
  });
});
