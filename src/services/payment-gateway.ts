import { createStripeGateway } from "../adapters/payments/stripe";
import type { PaymentGateway } from "../adapters/payments/types";
import { readConfig } from "../config";

/**
 * The payment processor for this deployment, built from configuration.
 */

/** The payment processor for this deployment, or null when no Stripe key is configured. */
export function paymentGateway(env: Env): PaymentGateway | null {
  const stripe = readConfig(env).stripe;
  return stripe
    ? createStripeGateway({ secretKey: stripe.secretKey, apiBase: stripe.apiBase })
    : null;
}
