import { env } from "cloudflare:workers";
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

/** A PaymentIntent as the Stripe double (or Stripe) holds it now. */
export async function intentAtStripe(id: string): Promise<{
  status: string;
  capture_method: string;
  amount: number;
  currency: string;
  metadata: Record<string, string>;
}> {
  const res = await fetch(`${env.STRIPE_API_BASE}/v1/payment_intents/${id}`, {
    headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
  });
  if (!res.ok) throw new Error(`GET payment_intents/${id}: ${res.status}`);
  return (await res.json()) as Awaited<ReturnType<typeof intentAtStripe>>;
}
