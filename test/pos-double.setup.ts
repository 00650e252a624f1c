import type { TestProject } from "vitest/node";
import clover from "../tools/pos-double/clover.mjs";
import { startPosDouble } from "../tools/pos-double/server.mjs";
import square from "../tools/pos-double/square.mjs";
import toast from "../tools/pos-double/toast.mjs";
import webhookReceiver from "../tools/pos-double/webhook-receiver.mjs";
import { startStripeDouble } from "../tools/stripe-double/server.mjs";

// Starts the POS vendor double and the Stripe double for the Worker tests
// (Node side); the Worker reaches them over loopback through the
// POS_*_BASE_URL and STRIPE_API_BASE bindings.
export default async function setup(project: TestProject) {
  const double = await startPosDouble({ vendors: [toast, clover, square, webhookReceiver] });
  const stripe = await startStripeDouble({ webhookSecret: "whsec_test_secret" });
  project.provide("posDoubleUrl", double.url);
  project.provide("stripeDoubleUrl", stripe.url);
  return async () => {
    await Promise.all([double.stop(), stripe.stop()]);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    posDoubleUrl: string;
    stripeDoubleUrl: string;
  }
}
