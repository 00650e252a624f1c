import Stripe from "stripe";
import { z } from "zod";
import {
  type CreatedPaymentIntent,
  type CreatePaymentIntentInput,
  PaymentError,
  type PaymentErrorDetails,
  type PaymentGateway,
  type PaymentIntentState,
  PaymentWebhookError,
  type PaymentWebhookEvent,
  type RefundInput,
  type RefundResult,
  type WebhookPaymentIntent,
} from "./types";

/**
 * The Stripe implementation of `PaymentGateway`, on the official `stripe`
 * package with its fetch HTTP client and Web Crypto provider, so the same
 * code runs in workerd and in Node (tests, tools).
 */

export interface StripeGatewayOptions {
  /** `sk_live_…`, `sk_test_…` or a restricted `rk_…` key. Never logged nor returned. */
  secretKey: string;
  /**
   * The API's origin, `https://api.stripe.com` by default; a local double in
   * tests and the demo (`http://127.0.0.1:12111`).
   */
  apiBase?: string;
  /**
   * stripe-node's own retries (same idempotency key, backoff). Default 1;
   * the payments queue retries on top, with its own backoff.
   */
  maxNetworkRetries?: number;
  /** Per request; stripe-node's default of 80 s is longer than a request should wait. Default 20 s. */
  timeoutMs?: number;
  /** For tests: the fetch stripe-node calls. */
  fetch?: typeof fetch;
}

const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Builds the gateway. Throws `PaymentError("permanent", "invalid_config")`
 * when `apiBase` is not an http(s) URL.
 */
export function createStripeGateway(options: StripeGatewayOptions): PaymentGateway {
  const { secretKey } = options;
  // stripe-node README "Configuration": host, port, protocol, httpClient, timeout,
  // maxNetworkRetries; Workers need the fetch client (https://github.com/stripe/stripe-node#configuration).
  const stripe = new Stripe(secretKey, {
    httpClient: Stripe.createFetchHttpClient(options.fetch),
    maxNetworkRetries: options.maxNetworkRetries ?? 1,
    timeout: options.timeoutMs ?? 20_000,
    telemetry: false,
    ...hostOptions(options.apiBase),
  });
  // Workers have no synchronous HMAC: constructEventAsync with the SubtleCrypto
  // provider (stripe-node README "Webhook signing", "constructEventAsync").
  const cryptoProvider = Stripe.createSubtleCryptoProvider();
  const fail = (err: unknown) => toPaymentError(err, secretKey);

  return {
    async createPaymentIntent(input: CreatePaymentIntentInput): Promise<CreatedPaymentIntent> {
      let answer: unknown;
      try {
        // https://docs.stripe.com/api/payment_intents/create
        answer = await stripe.paymentIntents.create(
          {
            amount: input.amount,
            currency: input.currency.toLowerCase(),
            capture_method: input.captureMethod,
            automatic_payment_methods: { enabled: true },
            metadata: { tenant_id: input.tenantId, order_id: input.orderId },
            ...(input.description ? { description: input.description } : {}),
          },
          { idempotencyKey: input.idempotencyKey },
        );
      } catch (err) {
        throw fail(err);
      }
      return toCreatedPaymentIntent(answer);
    },

    async capturePaymentIntent(id, { idempotencyKey }): Promise<PaymentIntentState> {
      let answer: unknown;
      try {
        // https://docs.stripe.com/api/payment_intents/capture
        answer = await stripe.paymentIntents.capture(id, {}, { idempotencyKey });
      } catch (err) {
        throw fail(err);
      }
      return toPaymentIntentState(answer);
    },

    async cancelPaymentIntent(id, { idempotencyKey }): Promise<PaymentIntentState> {
      let answer: unknown;
      try {
        // https://docs.stripe.com/api/payment_intents/cancel
        answer = await stripe.paymentIntents.cancel(id, {}, { idempotencyKey });
      } catch (err) {
        throw fail(err);
      }
      return toPaymentIntentState(answer);
    },

    async refund(input: RefundInput): Promise<RefundResult> {
      let answer: unknown;
      try {
        // https://docs.stripe.com/api/refunds/create
        answer = await stripe.refunds.create(
          {
            payment_intent: input.paymentIntentId,
            ...(input.amount === undefined ? {} : { amount: input.amount }),
            metadata: { order_id: input.orderId },
          },
          { idempotencyKey: input.idempotencyKey },
        );
      } catch (err) {
        throw fail(err);
      }
      return toRefundResult(answer);
    },

    async findRefundForOrder(paymentIntentId, orderId): Promise<RefundResult | null> {
      const found: RefundResult[] = [];
      try {
        // https://docs.stripe.com/api/refunds/list, auto-paginated by stripe-node.
        for await (const refund of stripe.refunds.list({
          payment_intent: paymentIntentId,
          limit: 100,
        })) {
          const mapped = toRefundResult(refund);
          if (mapped.orderId === orderId) found.push(mapped);
        }
      } catch (err) {
        throw err instanceof PaymentError ? err : fail(err);
      }
      // A failed or canceled refund does not count: the money is still with the customer.
      return found.find((r) => r.status !== "failed" && r.status !== "canceled") ?? null;
    },

    async verifyWebhook(
      rawBody,
      signatureHeader,
      secret,
      toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
    ): Promise<PaymentWebhookEvent> {
      if (!signatureHeader) {
        throw new PaymentWebhookError("missing_signature", "no Stripe-Signature header");
      }
      // https://docs.stripe.com/webhooks#verify-manually: `t=<unix>,v1=<hex>[,v1=…]`.
      if (
        !/(^|,)t=\d+(,|$)/.test(signatureHeader) ||
        !/(^|,)v1=[0-9a-f]+(,|$)/.test(signatureHeader)
      ) {
        throw new PaymentWebhookError(
          "malformed_signature",
          "Stripe-Signature lacks a timestamp or a v1 signature",
        );
      }
      let event: unknown;
      try {
        // Raw body text, never re-serialised JSON: the signature covers the exact bytes.
        event = await stripe.webhooks.constructEventAsync(
          rawBody,
          signatureHeader,
          secret,
          toleranceSeconds,
          cryptoProvider,
        );
      } catch (err) {
        throw toWebhookError(err);
      }
      // stripe-node refuses only timestamps older than the tolerance; one
      // dated further in the future is refused alike, so a signed request
      // cannot be held back and replayed later (docs.stripe.com/webhooks#replay-attacks).
      const signedAt = Number(/(?:^|,)t=(\d+)/.exec(signatureHeader)?.[1]);
      if (signedAt - Math.floor(Date.now() / 1000) > toleranceSeconds) {
        throw new PaymentWebhookError(
          "timestamp_outside_tolerance",
          "the signed timestamp is in the future",
        );
      }
      return toPaymentWebhookEvent(event);
    },
  };
}

/** `apiBase` as stripe-node's `host`, `port`, `protocol` options; nothing when absent. */
export function hostOptions(apiBase: string | undefined): {
  host?: string;
  port?: number;
  protocol?: "http" | "https";
} {
  if (!apiBase) return {};
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    throw new PaymentError("permanent", "invalid_config", "Stripe apiBase is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new PaymentError("permanent", "invalid_config", "Stripe apiBase must be http(s)");
  }
  const protocol = url.protocol === "http:" ? "http" : "https";
  const port = url.port ? Number(url.port) : protocol === "http" ? 80 : 443;
  return { host: url.hostname, port, protocol };
}

// ---------------------------------------------------------------- answers

const paymentIntentStatus = z.enum([
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
  "requires_capture",
  "canceled",
  "succeeded",
]);

const metadataSchema = z.record(z.string(), z.string()).nullish();

/** The PaymentIntent fields we read (https://docs.stripe.com/api/payment_intents/object). */
export const stripePaymentIntentSchema = z.object({
  id: z.string().startsWith("pi_"),
  object: z.literal("payment_intent"),
  amount: z.number().int(),
  amount_received: z.number().int().nullish(),
  currency: z.string().length(3),
  status: paymentIntentStatus,
  client_secret: z.string().nullish(),
  metadata: metadataSchema,
  last_payment_error: z.object({ code: z.string().nullish() }).nullish(),
});

/** The refund fields we read (https://docs.stripe.com/api/refunds/object). */
export const stripeRefundSchema = z.object({
  id: z.string().startsWith("re_"),
  object: z.literal("refund"),
  amount: z.number().int(),
  currency: z.string().length(3),
  status: z.enum(["pending", "requires_action", "succeeded", "failed", "canceled"]),
  payment_intent: z.string().nullish(),
  metadata: metadataSchema,
});

/**
 * The event envelope (https://docs.stripe.com/api/events/object); its descriptions are the
 * OpenAPI document's for `POST /webhooks/stripe`.
 */
export const stripeEventSchema = z
  .object({
    id: z.string().describe("Stripe's event id (`evt_…`); an id seen before changes nothing."),
    object: z.literal("event").describe("Always `event`."),
    type: z
      .string()
      .describe(
        "`payment_intent.succeeded`, `.amount_capturable_updated`, `.payment_failed` and `.canceled`, `refund.created`, `refund.updated` and `charge.refunded` are acted on; any other type is acknowledged and ignored.",
      ),
    created: z.number().int().describe("When Stripe created the event, in Unix seconds."),
    livemode: z.boolean().describe("Whether the event is from live mode."),
    data: z
      .object({
        object: z
          .looseObject({
            object: z
              .string()
              .optional()
              .describe("The object's kind: `payment_intent`, `refund` or `charge`."),
          })
          .describe(
            "The PaymentIntent, refund or charge, as Stripe's API returns it; a PaymentIntent names its order in `metadata.order_id` and `metadata.tenant_id`.",
          ),
      })
      .describe("The object the event is about."),
  })
  .describe("A Stripe event, exactly as Stripe sends it.");

/**
 * Parses an answer Stripe gave to a write. A mismatch is `permanent`: the
 * idempotent replay would return the same body.
 */
function parseAnswer<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new PaymentError("permanent", "bad_response", `Stripe answered an unexpected ${what}`, {
      processorMessage: z.prettifyError(result.error).slice(0, 500),
    });
  }
  return result.data;
}

/** Maps a created PaymentIntent. */
export function toCreatedPaymentIntent(data: unknown): CreatedPaymentIntent {
  const pi = parseAnswer(stripePaymentIntentSchema, data, "PaymentIntent");
  if (!pi.client_secret) {
    throw new PaymentError("permanent", "bad_response", "Stripe answered without a client_secret");
  }
  return { id: pi.id, clientSecret: pi.client_secret, status: pi.status };
}

/** Maps a PaymentIntent after capture or cancel. */
export function toPaymentIntentState(data: unknown): PaymentIntentState {
  const pi = parseAnswer(stripePaymentIntentSchema, data, "PaymentIntent");
  return {
    id: pi.id,
    status: pi.status,
    amount: pi.amount,
    amountReceived: pi.amount_received ?? 0,
    currency: pi.currency.toUpperCase(),
  };
}

/** Maps a refund. */
export function toRefundResult(data: unknown): RefundResult {
  const refund = parseAnswer(stripeRefundSchema, data, "refund");
  return {
    id: refund.id,
    status: refund.status,
    amount: refund.amount,
    currency: refund.currency.toUpperCase(),
    orderId: refund.metadata?.order_id ?? null,
  };
}

/** Maps a verified event; a signed event we cannot read is `unreadable_event`. */
export function toPaymentWebhookEvent(data: unknown): PaymentWebhookEvent {
  const parsed = stripeEventSchema.safeParse(data);
  if (!parsed.success) {
    throw new PaymentWebhookError("unreadable_event", "the event is not a Stripe event");
  }
  const event = parsed.data;
  const object = event.data.object;
  let paymentIntent: WebhookPaymentIntent | null = null;
  let refund: PaymentWebhookEvent["refund"] = null;
  if (object.object === "payment_intent") {
    const pi = stripePaymentIntentSchema.safeParse(object);
    if (!pi.success) {
      throw new PaymentWebhookError("unreadable_event", "the event's PaymentIntent is unreadable");
    }
    paymentIntent = {
      id: pi.data.id,
      status: pi.data.status,
      amount: pi.data.amount,
      amountReceived: pi.data.amount_received ?? 0,
      currency: pi.data.currency.toUpperCase(),
      orderId: pi.data.metadata?.order_id ?? null,
      tenantId: pi.data.metadata?.tenant_id ?? null,
      failureCode: pi.data.last_payment_error?.code ?? null,
    };
  } else if (object.object === "refund") {
    const r = stripeRefundSchema.safeParse(object);
    if (!r.success) {
      throw new PaymentWebhookError("unreadable_event", "the event's refund is unreadable");
    }
    refund = {
      ...toRefundResult(r.data),
      paymentIntentId: r.data.payment_intent ?? null,
    };
  }
  let charge: PaymentWebhookEvent["charge"] = null;
  if (object.object === "charge") {
    // Charge object (charge.refunded): https://docs.stripe.com/api/charges/object
    const c = stripeChargeSchema.safeParse(object);
    if (!c.success)
      throw new PaymentWebhookError("unreadable_event", "the event's charge is unreadable");
    charge = {
      id: c.data.id,
      paymentIntentId: c.data.payment_intent ?? null,
      amount: c.data.amount,
      amountRefunded: c.data.amount_refunded,
      refunded: c.data.refunded,
    };
  }
  return {
    id: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode,
    paymentIntent,
    refund,
    charge,
  };
}

const stripeChargeSchema = z.object({
  id: z.string(),
  object: z.literal("charge"),
  amount: z.number().int(),
  amount_refunded: z.number().int(),
  refunded: z.boolean(),
  payment_intent: z.string().nullable().optional(),
});

// ---------------------------------------------------------------- errors

/** The fields of a stripe-node error we read (https://docs.stripe.com/api/errors). */
const stripeErrorSchema = z.object({
  type: z.string(),
  message: z.string().optional(),
  statusCode: z.number().optional(),
  code: z.string().optional(),
  decline_code: z.string().optional(),
  param: z.string().optional(),
  requestId: z.string().optional(),
});

/**
 * Classifies whatever a stripe-node call threw. Follows
 * https://docs.stripe.com/error-handling: connection errors, 429, 5xx and 409
 * (`idempotency_key_in_use`, `lock_timeout`: a concurrent request with the
 * same key) are safe to retry with the same key; the rest will fail again.
 * The secret key is scrubbed from any message kept.
 */
export function toPaymentError(err: unknown, secretKey: string): PaymentError {
  if (err instanceof PaymentError) return err;
  const parsed = stripeErrorSchema.safeParse(err);
  if (!parsed.success || !parsed.data.type.startsWith("Stripe")) {
    return new PaymentError("retryable", "unexpected", "the Stripe call failed unexpectedly", {
      processorMessage: scrub(err instanceof Error ? err.message : String(err), secretKey),
    });
  }
  const e = parsed.data;
  const details: PaymentErrorDetails = {
    ...(e.statusCode === undefined ? {} : { status: e.statusCode }),
    ...(e.code === undefined ? {} : { processorCode: e.code }),
    ...(e.decline_code === undefined ? {} : { declineCode: e.decline_code }),
    ...(e.param === undefined ? {} : { param: e.param }),
    ...(e.requestId === undefined ? {} : { requestId: e.requestId }),
    ...(e.message === undefined ? {} : { processorMessage: scrub(e.message, secretKey) }),
  };
  const status = e.statusCode;
  // stripe-node names its error classes in `type` (StripeCardError, …); see its Error.ts.
  if (e.type === "StripeConnectionError") {
    return new PaymentError("retryable", "network_error", "could not reach Stripe", details);
  }
  if (e.type === "StripeRateLimitError" || status === 429) {
    return new PaymentError("retryable", "rate_limited", "Stripe is rate limiting", details);
  }
  if (status === 409) {
    return new PaymentError(
      "retryable",
      "idempotency_in_progress",
      "a request with the same idempotency key is still running",
      details,
    );
  }
  if (e.type === "StripeIdempotencyError") {
    return new PaymentError(
      "permanent",
      "idempotency_mismatch",
      "the idempotency key was already used with other parameters",
      details,
    );
  }
  if (e.type === "StripeCardError") {
    return new PaymentError("permanent", "card_error", "the card was declined", details);
  }
  if (e.type === "StripeAuthenticationError") {
    return new PaymentError("permanent", "authentication", "Stripe refused the API key", details);
  }
  if (e.type === "StripePermissionError") {
    return new PaymentError("permanent", "permission", "the API key may not do this", details);
  }
  if (e.type === "StripeInvalidRequestError") {
    return new PaymentError("permanent", "invalid_request", "Stripe refused the request", details);
  }
  if (e.type === "StripeAPIError" || (status !== undefined && status >= 500)) {
    return new PaymentError("retryable", "api_error", "Stripe had an internal error", details);
  }
  return new PaymentError("permanent", "stripe_error", "Stripe refused the request", details);
}

function scrub(message: string, secretKey: string): string {
  const cut = message.slice(0, 500);
  return secretKey ? cut.split(secretKey).join("[redacted]") : cut;
}

/** Maps stripe-node's verification failure onto our reasons. */
function toWebhookError(err: unknown): PaymentWebhookError {
  const message = err instanceof Error ? err.message : String(err);
  // stripe-node checks the signature before the timestamp, and says which failed
  // only in its message (Webhooks.ts, validateComputedSignature).
  if (/tolerance/i.test(message)) {
    return new PaymentWebhookError(
      "timestamp_outside_tolerance",
      "the signed timestamp is too old",
    );
  }
  if (/no signatures found matching/i.test(message)) {
    return new PaymentWebhookError("signature_mismatch", "the signature does not match the body");
  }
  if (err instanceof SyntaxError) {
    return new PaymentWebhookError("invalid_payload", "the body is not JSON");
  }
  return new PaymentWebhookError("malformed_signature", "the Stripe-Signature header is unusable");
}
