import { z } from "zod";
import type { OrderStatus } from "../../domain/order-status";
import { parseWebhookBody, readJson, vendorFetch } from "./http";
import {
  type CreatedPosOrder,
  type PosAdapter,
  type PosCallOptions,
  type PosConnection,
  type PosDraftProblem,
  PosError,
  type PosLocationInfo,
  type PosOrder,
  type PosSession,
  type PosStatusReport,
  type WebhookRequest,
} from "./types";

/*
 * The generic webhook POS: for a POS without a public API, Orderlane POSTs
 * each order as signed JSON to a URL the restaurant (or its integrator)
 * runs, and that receiver may POST status changes back. Both directions use
 * one scheme, in the style of Stripe's and Standard Webhooks' signatures:
 *
 *   X-Orderlane-Timestamp: <unix seconds>
 *   X-Orderlane-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * Signing the timestamp with the body lets a receiver refuse replays older
 * than five minutes. Outgoing orders also carry `X-Orderlane-Delivery` (a
 * new id per attempt, for the receiver's logs) and `Idempotency-Key` (our
 * order id, the same on every attempt: the receiver must create the order
 * once per key and answer the same id again).
 *
 * The order body (JSON, camelCase): `deliveryId` plus every `PosOrder`
 * field (`orderId`, `number`, `orderType`, `customer`, `lines`, `currency`,
 * `subtotal`, `discount`, `tax`, `tip`, `total`, `specialInstructions`,
 * `scheduledFor`, `deliveryAddress`, `createdAt`); amounts are integer minor
 * units. The receiver answers 2xx with `{ "posOrderId": "…" }` (or
 * `{ "id": "…" }`), optionally `"alreadyExisted": true` on a repeat.
 *
 * A status webhook back is `{ eventId, orderId, posOrderId?, status,
 * occurredAt }`, `status` being one of our words (`confirmed`, `preparing`,
 * `ready`, `out_for_delivery`, `completed`, `cancelled`).
 *
 * Credentials: `url` (https; plain http only for localhost, for local
 * receivers) and `secret`.
 */

/** Header names (lower-case, as `WebhookRequest.headers` holds them). */
export const ORDERLANE_TIMESTAMP_HEADER = "x-orderlane-timestamp";
export const ORDERLANE_SIGNATURE_HEADER = "x-orderlane-signature";

/** How far a signed timestamp may be from our clock, either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

/** The statuses a receiver may report; `pending_payment` is ours alone. */
const REPORTABLE_STATUSES = [
  "confirmed",
  "preparing",
  "ready",
  "out_for_delivery",
  "completed",
  "cancelled",
] as const satisfies readonly OrderStatus[];

const credentialsSchema = z.object({
  url: z.url().refine(isAllowedReceiverUrl, "must be https (http only for localhost)"),
  secret: z.string().min(1),
});

/** https anywhere; plain http only on the loopback, for a receiver on the developer's machine. */
function isAllowedReceiverUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

const posIdSchema = z.union([
  z.string().min(1),
  z
    .number()
    .int()
    .transform((n) => String(n)),
]);

const receiverAnswerSchema = z.object({
  posOrderId: posIdSchema.optional(),
  id: posIdSchema.optional(),
  alreadyExisted: z.boolean().optional(),
});

/** A status webhook from the receiver; its descriptions are the OpenAPI document's. */
export const statusEventSchema = z
  .object({
    eventId: z
      .string()
      .min(1)
      .max(200)
      .describe("The receiver's id for this event, unique per tenant: a repeat changes nothing."),
    orderId: z
      .string()
      .min(1)
      .max(200)
      .describe("Our order id (`ord_…`), as the order POST carried it."),
    posOrderId: z
      .string()
      .min(1)
      .max(200)
      .nullish()
      .describe("The receiver's own id for the order, if it has one."),
    status: z
      .string()
      .min(1)
      .max(100)
      .describe(
        "The order's status: `confirmed`, `preparing`, `ready`, `out_for_delivery`, `completed` or `cancelled` (a cancelled paid order is refunded); other words are recorded and change nothing. Moves are forward only: a late one is ignored.",
      ),
    occurredAt: z.iso
      .datetime({ offset: true })
      .describe("When it happened: ISO 8601 date and time with `Z` or an offset."),
  })
  .describe("provider `webhook`: Orderlane's own status event.");

/** The body Orderlane POSTs to the receiver for one attempt. */
export interface WebhookOrderPayload extends PosOrder {
  /** New for every attempt; the receiver dedupes by `Idempotency-Key`, not by this. */
  deliveryId: string;
}

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, the `X-Orderlane-Signature` value. */
export async function signOrderlanePayload(
  secret: string,
  timestamp: number,
  rawBody: string,
): Promise<string> {
  const key = await hmacKey(secret, "sign");
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${rawBody}`)),
  );
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Whether `signature` is a valid `X-Orderlane-Signature` for `rawBody` at
 * `timestamp` (the header's text) under `secret`, and the timestamp is
 * within {@link SIGNATURE_TOLERANCE_SECONDS} of `now`.
 */
export async function verifyOrderlaneSignature(input: {
  rawBody: string;
  timestamp: string | undefined;
  signature: string | undefined;
  secret: string;
  now: Date;
}): Promise<boolean> {
  const { rawBody, timestamp, signature, secret, now } = input;
  if (!secret || !timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  const ageSeconds = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (ageSeconds > SIGNATURE_TOLERANCE_SECONDS) return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(signature.trim());
  const hex = match?.[1];
  if (!hex) return false;
  const expected = new Uint8Array(32);
  for (let i = 0; i < 32; i++) expected[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  const key = await hmacKey(secret, "verify");
  // `verify` compares the MACs in constant time (Workers and Node alike).
  return crypto.subtle.verify("HMAC", key, expected, encoder.encode(`${timestamp}.${rawBody}`));
}

function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [usage],
  );
}

function readCredentials(connection: PosConnection): z.infer<typeof credentialsSchema> {
  const parsed = credentialsSchema.safeParse(connection.credentials);
  if (!parsed.success) {
    throw new PosError(
      "permanent",
      "invalid_credentials",
      "the webhook POS needs a `url` (https) and a `secret`",
      { vendorMessage: z.prettifyError(parsed.error).slice(0, 500) },
    );
  }
  return parsed.data;
}

/** The JSON body for one attempt; customer details only when the tenant shares them. */
export function toWebhookPayload(
  order: PosOrder,
  deliveryId: string,
  syncCustomerInfo: boolean,
): WebhookOrderPayload {
  return {
    deliveryId,
    orderId: order.orderId,
    number: order.number,
    orderType: order.orderType,
    customer: syncCustomerInfo ? order.customer : null,
    lines: order.lines,
    currency: order.currency,
    subtotal: order.subtotal,
    discount: order.discount,
    tax: order.tax,
    tip: order.tip,
    total: order.total,
    specialInstructions: order.specialInstructions,
    scheduledFor: order.scheduledFor,
    deliveryAddress: order.deliveryAddress,
    createdAt: order.createdAt,
  };
}

/** Signed JSON to a POS that has no public API of its own. */
export const webhookAdapter: PosAdapter = {
  provider: "webhook",

  async createOrder(
    connection: PosConnection,
    order: PosOrder,
    options: PosCallOptions,
  ): Promise<CreatedPosOrder> {
    const { url, secret } = readCredentials(connection);
    const now = options.now?.() ?? new Date();
    const timestamp = Math.floor(now.getTime() / 1000);
    const deliveryId = `dlv_${crypto.randomUUID()}`;
    const body = JSON.stringify(toWebhookPayload(order, deliveryId, connection.syncCustomerInfo));
    const response = await vendorFetch(
      url,
      {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-Orderlane-Delivery": deliveryId,
          "X-Orderlane-Timestamp": String(timestamp),
          "X-Orderlane-Signature": await signOrderlanePayload(secret, timestamp, body),
          "Idempotency-Key": order.orderId,
        },
        body,
      },
      options,
    );
    // An empty 2xx is a receiver that took the order without saying under
    // which id: retrying cannot fix that, so it is permanent like any 2xx
    // without an id (a body that is not JSON stays retryable, see readJson).
    if ((await response.clone().text()).trim() === "") {
      throw new PosError("permanent", "bad_response", "the receiver answered 2xx without a body", {
        status: response.status,
      });
    }
    const answer = receiverAnswerSchema.safeParse(await readJson(response));
    const posOrderId = answer.success ? (answer.data.posOrderId ?? answer.data.id) : undefined;
    if (!answer.success || posOrderId === undefined) {
      throw new PosError(
        "permanent",
        "bad_response",
        "the receiver answered 2xx without `posOrderId` or `id`",
        { status: response.status },
      );
    }
    return { posOrderId, alreadyExisted: answer.data.alreadyExisted ?? false };
  },

  async getOrderStatus(): Promise<{ vendorStatus: string; status: OrderStatus | null }> {
    // The receiver has no API to ask; it reports by webhook or not at all.
    throw new PosError(
      "permanent",
      "not_supported",
      "the webhook POS reports status by webhook only; it cannot be asked",
    );
  },

  async checkConnection(): Promise<PosLocationInfo> {
    // The receiver has no API to ask; its first order tells whether it answers.
    return { name: null, currency: null, timezone: null, settings: {} };
  },

  draftProblems(): PosDraftProblem[] {
    return [];
  },

  async cancelOrder(): Promise<boolean> {
    // The receiver has no cancel endpoint in Orderlane's webhook protocol: staff void it.
    return false;
  },

  async updateFulfillment(): Promise<boolean> {
    return false;
  },

  async refreshSession(): Promise<PosSession> {
    // A shared signing secret does not expire; there is no token to renew.
    // The empty session keeps the caller's refresh-once-on-auth path uniform.
    return { accessToken: "", expiresAt: null, refreshToken: null };
  },

  async verifyWebhook(request: WebhookRequest, secret: string): Promise<boolean> {
    return verifyOrderlaneSignature({
      rawBody: request.rawBody,
      timestamp: request.headers[ORDERLANE_TIMESTAMP_HEADER],
      signature: request.headers[ORDERLANE_SIGNATURE_HEADER],
      secret,
      now: new Date(),
    });
  },

  parseWebhook(request: WebhookRequest): PosStatusReport[] {
    const { eventId, orderId, posOrderId, status, occurredAt } = parseWebhookBody(
      statusEventSchema,
      request.rawBody,
      "an Orderlane status webhook",
    );
    return [
      {
        eventId,
        orderId,
        posOrderId: posOrderId ?? null,
        vendorStatus: status,
        status: mapWebhookStatus(status),
        occurredAt: new Date(occurredAt).toISOString(),
      },
    ];
  },
};

/** The receiver speaks our words; anything else is kept for the record and changes nothing. */
export function mapWebhookStatus(status: string): OrderStatus | null {
  const word = status.trim().toLowerCase();
  return REPORTABLE_STATUSES.find((s) => s === word) ?? null;
}
