/**
 * What Orderlane needs from a payment processor. The one implementation is
 * `stripe.ts`; code outside `src/adapters` never sees Stripe's field names.
 *
 * Money is integer minor units plus an ISO 4217 currency code, upper-case on
 * our side (`"USD"`); the adapter converts to the processor's own spelling.
 */

/** When the money moves: at confirmation, or later by an explicit capture. */
export type CaptureMethod = "automatic" | "manual";

/** A PaymentIntent's lifecycle state, in Stripe's words (they are also ours). */
export type PaymentIntentStatus =
  | "requires_payment_method"
  | "requires_confirmation"
  | "requires_action"
  | "processing"
  | "requires_capture"
  | "canceled"
  | "succeeded";

/** A refund's state, in Stripe's words. */
export type RefundStatus = "pending" | "requires_action" | "succeeded" | "failed" | "canceled";

/** The idempotency key every refund of an order uses (DESIGN.md, data flow step 5). */
export type RefundIdempotencyKey = `refund:${string}`;

/** The key for an order's refund: one order, at most one refund, however often the saga retries. */
export function refundIdempotencyKey(orderId: string): RefundIdempotencyKey {
  return `refund:${orderId}`;
}

export interface CreatePaymentIntentInput {
  orderId: string;
  tenantId: string;
  /** Minor units, positive. */
  amount: number;
  /** ISO 4217, any case. */
  currency: string;
  captureMethod: CaptureMethod;
  /** The storefront request's Idempotency-Key (scoped by the caller to the tenant). */
  idempotencyKey: string;
  /** Shown in the processor's dashboard; never customer data. */
  description?: string;
}

/** A PaymentIntent just created: what the storefront needs to confirm the payment. */
export interface CreatedPaymentIntent {
  id: string;
  /** Handed to the browser once; never logged. */
  clientSecret: string;
  status: PaymentIntentStatus;
}

/** A PaymentIntent's state after a capture or a cancel. */
export interface PaymentIntentState {
  id: string;
  status: PaymentIntentStatus;
  /** Minor units. */
  amount: number;
  /** Minor units actually collected (0 until captured). */
  amountReceived: number;
  /** ISO 4217, upper-case. */
  currency: string;
}

export interface RefundInput {
  paymentIntentId: string;
  /** Minor units; omitted means the whole remaining amount. */
  amount?: number;
  orderId: string;
  idempotencyKey: RefundIdempotencyKey;
}

export interface RefundResult {
  id: string;
  status: RefundStatus;
  /** Minor units. */
  amount: number;
  /** ISO 4217, upper-case. */
  currency: string;
  /** The order the refund was made for, from its metadata; null when it carries none. */
  orderId: string | null;
}

/** The PaymentIntent a webhook event is about, with the references we put on it. */
export interface WebhookPaymentIntent {
  id: string;
  status: PaymentIntentStatus;
  amount: number;
  amountReceived: number;
  /** ISO 4217, upper-case. */
  currency: string;
  /** From metadata; null when the intent was not made by Orderlane. */
  orderId: string | null;
  tenantId: string | null;
  /** The processor's reason when a payment failed (`card_declined`, …). */
  failureCode: string | null;
}

/** A verified webhook event. */
export interface PaymentWebhookEvent {
  /** The processor's event id: record it, a replay must do nothing. */
  id: string;
  /** `payment_intent.succeeded`, `payment_intent.payment_failed`, `refund.updated`, … */
  type: string;
  /** Seconds since the epoch. */
  created: number;
  livemode: boolean;
  /** Set when `data.object` is a PaymentIntent. */
  paymentIntent: WebhookPaymentIntent | null;
  /** Set when `data.object` is a refund. */
  refund: (RefundResult & { paymentIntentId: string | null }) | null;
  /** Set when `data.object` is a charge (`charge.refunded`). */
  charge: {
    id: string;
    paymentIntentId: string | null;
    /** Minor units. */
    amount: number;
    amountRefunded: number;
    /** True once the charge is refunded in full. */
    refunded: boolean;
  } | null;
}

/**
 * What Orderlane asks of the payment processor. Every call throws
 * `PaymentError` when it fails; `verifyWebhook` throws `PaymentWebhookError`.
 */
export interface PaymentGateway {
  /**
   * Creates a PaymentIntent for an order, tagged with the tenant and order
   * ids. The same `idempotencyKey` with the same input returns the same intent.
   */
  createPaymentIntent(input: CreatePaymentIntentInput): Promise<CreatedPaymentIntent>;
  /** Captures an authorised (`requires_capture`) intent in full. */
  capturePaymentIntent(
    id: string,
    options: { idempotencyKey: string },
  ): Promise<PaymentIntentState>;
  /** Cancels an intent that has not succeeded, releasing any authorisation. */
  cancelPaymentIntent(id: string, options: { idempotencyKey: string }): Promise<PaymentIntentState>;
  /** Refunds a paid intent, at most once per `idempotencyKey` while the processor remembers it. */
  refund(input: RefundInput): Promise<RefundResult>;
  /**
   * The refund already made for `orderId` on this intent, or null. The
   * processor forgets idempotency keys after about 24 h, so a refund retried
   * later must look here before creating another.
   */
  findRefundForOrder(paymentIntentId: string, orderId: string): Promise<RefundResult | null>;
  /**
   * Checks the signature header against the raw body (byte for byte as
   * received) and returns the event. `toleranceSeconds` (default 300) bounds
   * the signed timestamp's age, against replays.
   */
  verifyWebhook(
    rawBody: string,
    signatureHeader: string | null | undefined,
    secret: string,
    toleranceSeconds?: number,
  ): Promise<PaymentWebhookEvent>;
}

/** How the caller should treat a failure: try again later (same idempotency key), or stop. */
export type PaymentErrorKind = "retryable" | "permanent";

export interface PaymentErrorDetails {
  /** HTTP status the processor answered, when it answered. */
  status?: number;
  /** The processor's error code (`card_declined`, `idempotency_key_in_use`, …). */
  processorCode?: string;
  declineCode?: string;
  /** The request parameter the processor blamed. */
  param?: string;
  /** The processor's request id, for its support. */
  requestId?: string;
  /** The processor's message, cut short and scrubbed of the secret key. */
  processorMessage?: string;
}

/**
 * Every gateway call failure. `retryable`: network, timeout, rate limit,
 * 5xx, a concurrent request holding the same idempotency key. `permanent`:
 * card declined, invalid request, bad or unauthorised key, an idempotency
 * key reused with other parameters.
 */
export class PaymentError extends Error {
  constructor(
    readonly kind: PaymentErrorKind,
    readonly code: string,
    message: string,
    readonly details: PaymentErrorDetails = {},
  ) {
    super(message);
    this.name = "PaymentError";
  }
}

/**
 * Why a webhook was refused. Only the signer can tell a tampered body from
 * a wrong secret: both are `signature_mismatch`.
 */
export type PaymentWebhookErrorReason =
  | "missing_signature"
  | "malformed_signature"
  | "signature_mismatch"
  | "timestamp_outside_tolerance"
  | "invalid_payload"
  /** Correctly signed, so Stripe sent it, but not an event this code can read. */
  | "unreadable_event";

/** A webhook that must be answered 400 and not processed. */
export class PaymentWebhookError extends Error {
  constructor(
    readonly reason: PaymentWebhookErrorReason,
    message: string,
  ) {
    super(message);
    this.name = "PaymentWebhookError";
  }
}
