import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { expect } from "vitest";
import {
  type CallOptions,
  call,
  createMenuItem,
  createTenant,
  placeOrder,
  type TestTenant,
} from "./helpers";

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

/** The options of Stripe's webhook request for `payload`, signed with the stripe package's own helper. */
export async function stripeWebhookOptions(
  payload: string,
  options: { secret?: string; timestamp?: number; body?: string } = {},
): Promise<CallOptions> {
  const header = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? STRIPE_TEST_WEBHOOK_SECRET,
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
  });
  return { rawBody: options.body ?? payload, headers: { "stripe-signature": header } };
}

/**
 * POSTs `payload` to /webhooks/stripe with a `Stripe-Signature` made by the
 * stripe package's own helper; `body` sends other bytes than were signed.
 */
export async function sendStripeWebhook(
  payload: string,
  options: { secret?: string; timestamp?: number; body?: string } = {},
): Promise<Response> {
  return call("/webhooks/stripe", await stripeWebhookOptions(payload, options));
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

/** The Stripe double's control API and what it holds, for Worker tests. */
export const stripeDouble = {
  async control(path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${env.STRIPE_API_BASE}/_control/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return text ? (JSON.parse(text) as unknown) : null;
  },
  async refundsFor(
    intentId: string,
  ): Promise<{ id: string; status: string; metadata: Record<string, string> }[]> {
    const res = await fetch(`${env.STRIPE_API_BASE}/v1/refunds?payment_intent=${intentId}`, {
      headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
    });
    return (
      (await res.json()) as {
        data: { id: string; status: string; metadata: Record<string, string> }[];
      }
    ).data;
  },
};

/** A storefront card order: its PaymentIntent is made, not paid. */
export interface CardOrder {
  tenantId: string;
  orderId: string;
  intentId: string;
  total: number;
}

/** Places a one-item pickup order at the storefront, as a customer about to pay by card. */
export async function placeCardOrder(
  t: { id: string; slug: string },
  menuItemId: string,
): Promise<CardOrder> {
  const placed = await placeOrder(t, menuItemId);
  return {
    tenantId: t.id,
    orderId: placed.order.id,
    intentId: placed.payment?.clientSecret.split("_secret_")[0] ?? "",
    total: placed.order.total.amount,
  };
}

/** Stripe's event for a card order paid (`succeed`) or only authorised (`authorize`). */
export function paymentEvent(order: CardOrder, how: "succeed" | "authorize" = "succeed"): string {
  const common = {
    id: order.intentId,
    object: "payment_intent",
    amount: order.total,
    currency: "usd",
    metadata: { tenant_id: order.tenantId, order_id: order.orderId },
  };
  return how === "succeed"
    ? stripeEvent("payment_intent.succeeded", {
        ...common,
        amount_received: order.total,
        status: "succeeded",
      })
    : stripeEvent("payment_intent.amount_capturable_updated", {
        ...common,
        amount_capturable: order.total,
        amount_received: 0,
        status: "requires_capture",
        capture_method: "manual",
      });
}

/**
 * The customer's card at the double (`succeed` charges it, `authorize` only holds the amount),
 * then Stripe's signed webhook for it; the Worker must take it.
 */
export async function payAtStripe(
  order: CardOrder,
  how: "succeed" | "authorize" = "succeed",
): Promise<void> {
  await stripeDouble.control(`payment_intents/${order.intentId}/${how}`, {});
  const res = await sendStripeWebhook(paymentEvent(order, how));
  expect(res.status).toBe(200);
}

/** A card order the customer paid at the Stripe double, confirmed by its webhook. */
export interface PaidOrder {
  t: TestTenant;
  orderId: string;
  intentId: string;
}

/** Places and pays a card order (a new tenant and item unless given). */
export async function paidOrder(t?: TestTenant, itemId?: string): Promise<PaidOrder> {
  const tenant = t ?? (await createTenant());
  const menuItemId = itemId ?? (await createMenuItem(tenant, { name: "Soup", price: 900 })).id;
  const order = await placeCardOrder(tenant, menuItemId);
  await payAtStripe(order);
  return { t: tenant, orderId: order.orderId, intentId: order.intentId };
}
