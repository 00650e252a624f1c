import Stripe from "stripe";
import { call } from "./helpers";

/** The endpoint secret the Worker tests run with (vitest.config.ts). */
export const STRIPE_TEST_WEBHOOK_SECRET = "whsec_test_secret";

let seq = 0;

/** A Stripe event's JSON text, as Stripe sends it, around `object`. */
export function stripeEvent(type: string, object: Record<string, unknown>, id?: string): string {
  return JSON.stringify({
    id: id ?? `evt_test_${Date.now()}_${++seq}`,
    object: "event",
    type,
    api_version: "2026-10-28.endive",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: { object },
  });
}

/**
 * POSTs `payload` to /webhooks/stripe with a `Stripe-Signature` made by the
 * stripe package's own helper; `body` sends other bytes than were signed.
 */
export async function sendStripeWebhook(
  payload: string,
  options: { secret?: string; timestamp?: number; body?: string } = {},
): Promise<Response> {
  const header = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? STRIPE_TEST_WEBHOOK_SECRET,
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
  });
  return call("/webhooks/stripe", {
    rawBody: options.body ?? payload,
    headers: { "stripe-signature": header },
  });
}
