import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { stripeEventSchema } from "../adapters/payments/stripe";
import { PaymentWebhookError, type PaymentWebhookEvent } from "../adapters/payments/types";
import { getPosAdapter } from "../adapters/pos";
import { cloverMessagesByMerchant, cloverVerificationCode } from "../adapters/pos/clover";
import {
  POS_PROVIDERS,
  type PosProvider,
  type PosStatusReport,
  type WebhookRequest,
} from "../adapters/pos/types";
import { statusEventSchema } from "../adapters/pos/webhook";
import { publicUrlOf, readConfig } from "../config";
import { type Db, getDb } from "../db/client";
import {
  findConnectedByLocation,
  findPosIntegration,
  openWebhookSecret,
} from "../db/pos-integrations";
import { findTenantById, findTenantBySlug, type Tenant } from "../db/tenants";
import { PLATFORM_SCOPE, recordWebhookVerification } from "../db/webhook-events";
import { deliverAfterResponse } from "../delivery";
import type { AppEnv } from "../http/app-env";
import { ApiError } from "../http/errors";
import {
  createRouter,
  errorResponses,
  jsonContent,
  publicSecurity,
  TenantParam,
} from "../http/router";
import { logLine } from "../log";
import { combine, type Effects } from "../services/effects";
import { paymentGateway } from "../services/payment-gateway";
import { applyPosReport } from "../services/pos-reports";
import { handleStripeEvent } from "../services/stripe-events";
import { POS_EVENT_EXAMPLES, STRIPE_EVENT_EXAMPLES, STRIPE_SIGNATURE_EXAMPLE } from "./examples";

const ProviderParam = z.enum(POS_PROVIDERS);

const SIGNATURE_REFUSED = "the request is refused and nothing changes";

/*
 * The webhooks are plain routes, not `createRoute` ones: each reads its raw body to verify the
 * signature, which no validator may read first. So they are documented here, beside them.
 */
const webhooks = createRouter();

webhooks.openAPIRegistry.registerPath({
  method: "post",
  path: "/webhooks/stripe",
  tags: ["webhooks"],
  summary: "Stripe's events: payments and refunds",
  description: [
    "Stripe POSTs its events here (configure the endpoint in Stripe's dashboard or with `stripe listen --forward-to`). `Stripe-Signature` is verified on the raw body with the endpoint's signing secret (`STRIPE_WEBHOOK_SECRET`) and must be dated within 5 minutes of now, either way.",
    "`payment_intent.succeeded` (or `.amount_capturable_updated` with capture on POS acceptance) checks the amount and currency against the order, then confirms it, marks it paid and sends it to the POS; `.payment_failed` and `.canceled` cancel an unpaid order; refund events settle a refund. An event id seen before is answered 200 and changes nothing; so is a correctly signed event this endpoint cannot read (so that Stripe does not retry it for days).",
  ].join("\n\n"),
  security: publicSecurity,
  request: {
    headers: z.object({
      "stripe-signature": z.string().openapi({
        example: STRIPE_SIGNATURE_EXAMPLE,
        description:
          '`Stripe-Signature`: `t=<Unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the endpoint secret>` (more `v1=` entries allowed). Required.',
      }),
    }),
    body: {
      required: true,
      content: {
        "application/json": { schema: stripeEventSchema, examples: STRIPE_EVENT_EXAMPLES },
      },
    },
  },
  responses: {
    200: jsonContent(
      z.object({
        received: z.literal(true).describe("Always true: the event was received."),
        applied: z
          .boolean()
          .describe(
            "Whether it changed anything: false for a repeat, an unknown order, an event type not acted on, or an unreadable event.",
          ),
      }),
      "Received; Stripe does not send it again.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: `\`Stripe-Signature\` is missing, malformed, wrong for this body and secret, or dated more than 5 minutes from now: ${SIGNATURE_REFUSED}`,
        message: "Stripe-Signature rejected: timestamp_outside_tolerance",
      },
      {
        code: "not_found",
        when: "payments are not configured on this deployment",
        message: "payments are not configured",
      },
    ),
  },
});

webhooks.openAPIRegistry.registerPath({
  method: "post",
  path: "/webhooks/pos/{provider}/{tenant}",
  tags: ["webhooks"],
  summary: "A POS's order status events",
  description: [
    "The tenant's POS reports order progress here, signed in the provider's own scheme with the tenant's webhook secret (`webhookSecret` of `POST /v1/admin/{tenant}/pos/connect`): Toast `Toast-Signature`; Square `x-square-hmacsha256-signature`; Clover `X-Clover-Auth`; the `webhook` provider `X-Orderlane-Signature` with `X-Orderlane-Timestamp`. The `sandbox` provider never calls back.",
    "Each status is applied through the order's state machine, forward only: a late or repeated event (by its event id) is answered 200 and changes nothing, as is one about an order this tenant does not have. A cancellation of a paid order refunds it. The body is the provider's own event; for the `webhook` provider, Orderlane's status event.",
    "Clover's URL verification (`{\"verificationCode\": …}` without `X-Clover-Auth`, sent when the URL is saved in Clover's dashboard) is answered 200, even before a webhook secret is set; the code is shown to the tenant at `GET /v1/admin/{tenant}/pos/integration` (`webhookVerification`) to be pasted back into Clover.",
  ].join("\n\n"),
  security: publicSecurity,
  request: {
    params: z.object({
      provider: ProviderParam.describe(
        "The tenant's POS provider; it must be the connected one. `sandbox` sends no webhooks.",
      ),
      tenant: TenantParam.shape.tenant,
    }),
    headers: z.object({
      "toast-signature": z
        .string()
        .optional()
        .describe("Toast: Base64 HMAC-SHA256 of the raw body followed by its `timestamp` field."),
      "x-square-hmacsha256-signature": z
        .string()
        .optional()
        .describe(
          "Square: Base64 HMAC-SHA256 of the notification URL registered with Square (`PUBLIC_BASE_URL` followed by this path and query; the request's own URL when `PUBLIC_BASE_URL` is not set) followed by the raw body.",
        ),
      "x-clover-auth": z
        .string()
        .optional()
        .describe("Clover: the app's auth code, equal to the webhook secret."),
      "x-orderlane-timestamp": z
        .string()
        .optional()
        .describe(
          "provider `webhook`: when it was signed, in Unix seconds; within 5 minutes of now.",
        ),
      "x-orderlane-signature": z
        .string()
        .optional()
        .describe(
          'provider `webhook`: `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" under the webhook secret>`.',
        ),
    }),
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .union([
              statusEventSchema,
              z
                .record(z.string(), z.unknown())
                .describe("provider `toast`, `square` or `clover`: the vendor's own event."),
            ])
            .describe("The provider's event."),
          examples: POS_EVENT_EXAMPLES,
        },
      },
    },
  },
  responses: {
    200: jsonContent(
      z.object({
        received: z.literal(true).describe("Always true: the events were received."),
        events: z.number().int().describe("How many order events the body held."),
        applied: z
          .number()
          .int()
          .describe("How many of them changed an order (repeats, late and unknown ones do not)."),
      }),
      "Received.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: `the signature is missing or invalid, the connection has no webhook secret, or the body is not an event of this provider: ${SIGNATURE_REFUSED}`,
        message: "webhook signature is missing or invalid",
      },
      {
        code: "not_found",
        when: "the provider is unknown, no tenant has this slug, or the tenant's connected POS is another provider or none",
        message: "no such POS connection",
      },
    ),
  },
});

webhooks.openAPIRegistry.registerPath({
  method: "post",
  path: "/webhooks/pos/clover",
  tags: ["webhooks"],
  summary: "Clover's app-wide webhook URL: every merchant's events, routed by merchant id",
  description: [
    "Clover configures one webhook URL per app. Messages carry the app's auth code in `X-Clover-Auth` (`CLOVER_WEBHOOK_AUTH_CODE`) and name merchants: each merchant's updates go to the tenants connected to that Clover merchant (`locationId`), as on the per-tenant URL; merchants no tenant is connected to are ignored.",
    "Clover's URL verification (`{\"verificationCode\": …}` without `X-Clover-Auth`) is answered 200 and its code kept for the operator at `GET /v1/platform/webhooks/clover/verification`, once `CLOVER_WEBHOOK_AUTH_CODE` is set (a placeholder while verifying, then the app's auth code); without it the URL answers 404 to everything.",
  ].join("\n\n"),
  security: publicSecurity,
  request: {
    headers: z.object({
      "x-clover-auth": z
        .string()
        .optional()
        .describe("The app's auth code; absent only on the URL verification request."),
    }),
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.record(z.string(), z.unknown()).describe("Clover's webhook message."),
        },
      },
    },
  },
  responses: {
    200: jsonContent(
      z.object({
        received: z.literal(true).describe("Always true: the events were received."),
        events: z.number().int().describe("How many order events reached a tenant."),
        applied: z.number().int().describe("How many of them changed an order."),
      }),
      "Received.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: `\`X-Clover-Auth\` is missing or wrong, or the body is not a Clover message: ${SIGNATURE_REFUSED}`,
        message: "webhook signature is missing or invalid",
      },
      {
        code: "not_found",
        when: "this deployment does not use the app-wide URL (no `CLOVER_WEBHOOK_AUTH_CODE`)",
        message: "the app-wide Clover webhook is not in use here",
      },
    ),
  },
});

/**
 * Vendor webhooks. No bearer: each request proves itself with its sender's
 * signature scheme. A bad signature is 400 and changes nothing; an event
 * seen before is 200 and changes nothing.
 */
export const webhookRoutes = webhooks
  .post("/webhooks/stripe", async (c) => {
    const gateway = paymentGateway(c.env);
    const secret = readConfig(c.env).stripeWebhookSecret;
    if (!gateway || !secret) throw new ApiError("not_found", "payments are not configured");
    let event: PaymentWebhookEvent;
    try {
      // Verified on the raw text, as received: re-serialising would break the signature.
      event = await gateway.verifyWebhook(
        await c.req.text(),
        c.req.header("stripe-signature"),
        secret,
        300,
      );
    } catch (err) {
      if (err instanceof PaymentWebhookError && err.reason === "unreadable_event") {
        // Stripe sent it: a 4xx would have it retried for days and the endpoint disabled.
        console.error(
          logLine({
            level: "error",
            msg: "unreadable Stripe event ignored",
            error: err.message,
          }),
        );
        return c.json({ received: true, applied: false }, 200);
      }
      if (err instanceof PaymentWebhookError) {
        throw new ApiError("validation_failed", `Stripe-Signature rejected: ${err.reason}`);
      }
      throw err;
    }
    const { changed, effects } = await handleStripeEvent(c.env, event, new Date());
    deliverAfterResponse(c, effects);
    return c.json({ received: true, applied: changed }, 200);
  })
  .post("/webhooks/pos/clover", async (c) => {
    const db = getDb(c.env);
    // Not in use here: nothing is answered, not even a verification (anyone can send one).
    const secret = readConfig(c.env).cloverWebhookAuthCode;
    if (!secret) {
      throw new ApiError("not_found", "the app-wide Clover webhook is not in use here");
    }
    const request = await webhookRequest(c);
    if (await answeredVerification(db, request, PLATFORM_SCOPE)) {
      return c.json({ received: true, events: 0, applied: 0 }, 200);
    }
    const adapter = getPosAdapter("clover");
    if (!(await adapter.verifyWebhook(request, secret))) {
      throw new ApiError("validation_failed", "webhook signature is missing or invalid");
    }
    const parts = cloverMessagesByMerchant(request.rawBody);
    if (parts.length === 0) {
      throw new ApiError("validation_failed", "webhook body is not a Clover webhook message");
    }
    let events = 0;
    let applied = 0;
    // Each merchant's updates go to the tenants connected to that merchant; others are not ours.
    // Each tenant's effects are delivered to its own hub.
    for (const part of parts) {
      for (const integration of await findConnectedByLocation(db, "clover", part.merchantId)) {
        const tenant = await findTenantById(db, integration.tenantId);
        if (!tenant) continue;
        const result = await applyReports(c.env, db, tenant, "clover", {
          ...request,
          rawBody: part.rawBody,
        });
        events += result.events;
        applied += result.applied;
        deliverAfterResponse(c, result.effects);
      }
    }
    return c.json({ received: true, events, applied }, 200);
  })
  .post("/webhooks/pos/:provider/:tenant", async (c) => {
    const provider = ProviderParam.safeParse(c.req.param("provider"));
    if (!provider.success) throw new ApiError("not_found", "unknown POS provider");
    const db = getDb(c.env);
    const tenant = await findTenantBySlug(db, c.req.param("tenant"));
    const integration = tenant ? await findPosIntegration(db, tenant.id) : undefined;
    // A disconnected POS no longer speaks for the tenant's orders.
    if (!tenant || integration?.status !== "connected" || integration.provider !== provider.data) {
      throw new ApiError("not_found", "no such POS connection");
    }
    const request = await webhookRequest(c);
    if (provider.data === "clover" && (await answeredVerification(db, request, tenant.id))) {
      return c.json({ received: true, events: 0, applied: 0 }, 200);
    }
    const secret = await openWebhookSecret(readConfig(c.env).credentialsKey, integration);
    if (!secret)
      throw new ApiError(
        "validation_failed",
        "this POS connection has no webhook secret configured",
      );
    if (!(await getPosAdapter(provider.data).verifyWebhook(request, secret))) {
      throw new ApiError("validation_failed", "webhook signature is missing or invalid");
    }
    const result = await applyReports(c.env, db, tenant, provider.data, request);
    deliverAfterResponse(c, result.effects);
    return c.json({ received: true, events: result.events, applied: result.applied }, 200);
  });

/** The request as the adapters verify it: lower-case headers, the raw body, the public URL. */
async function webhookRequest(c: Context<AppEnv>): Promise<WebhookRequest> {
  return {
    headers: Object.fromEntries([...c.req.raw.headers].map(([k, v]) => [k.toLowerCase(), v])),
    rawBody: await c.req.text(),
    // Square signs the notification URL it was given (PUBLIC_BASE_URL), not the one we see.
    url: publicUrlOf(readConfig(c.env), c.req.url),
  };
}

// Clover verifies a webhook URL by POSTing `{"verificationCode": …}` without X-Clover-Auth; the
// code must be pasted into Clover's dashboard, so it is kept for whoever does that (the owner for
// the tenant's URL, the operator for the app-wide one): https://docs.clover.com/docs/webhooks
/** Whether the request was Clover's URL verification, now recorded. */
async function answeredVerification(
  db: Db,
  request: WebhookRequest,
  tenantId: string,
): Promise<boolean> {
  if (request.headers["x-clover-auth"]) return false;
  const code = cloverVerificationCode(request.rawBody);
  if (!code) return false;
  await recordWebhookVerification(db, { provider: "clover", tenantId }, code, new Date());
  return true;
}

/** Applies the status reports of a verified body; a body the adapter cannot read is a 400. */
async function applyReports(
  env: Env,
  db: Db,
  tenant: Tenant,
  provider: PosProvider,
  request: WebhookRequest,
): Promise<{ events: number; applied: number; effects: Effects }> {
  let reports: PosStatusReport[];
  try {
    reports = getPosAdapter(provider).parseWebhook(request);
  } catch {
    throw new ApiError(
      "validation_failed",
      "webhook body is not an event this endpoint understands",
    );
  }
  let applied = 0;
  const decided: Effects[] = [];
  for (const report of reports) {
    const result = await applyPosReport(env, db, tenant, provider, report, new Date());
    if (result.applied) applied += 1;
    decided.push(result.effects);
  }
  return { events: reports.length, applied, effects: combine(...decided) };
}
