import { z } from "zod";
import type { OrderStatus } from "../../domain/order-status";
import {
  parseVendorAnswer,
  parseWebhookBody,
  readJson,
  vendorFetch,
  withRateLimitRetries,
} from "./http";
import {
  type CreatedPosOrder,
  type PosAdapter,
  type PosCallOptions,
  type PosCatalog,
  type PosCatalogItem,
  type PosCatalogModifier,
  type PosCatalogModifierGroup,
  type PosConnection,
  type PosDraftProblem,
  PosError,
  type PosFulfillmentStatus,
  type PosLocationInfo,
  type PosMenuSignal,
  type PosOAuth,
  type PosOAuthApp,
  type PosOrder,
  type PosSession,
  type PosStatusReport,
  type WebhookRequest,
} from "./types";

/*
 * Square POS adapter (Orders API, Payments API, OAuth API; Catalog API for the menu import).
 *
 * One order is two calls, both idempotent under keys derived from our order
 * id, so a retry after any failure replays rather than duplicates:
 * 1. CreateOrder with `idempotency_key` = our order id (and `reference_id` =
 *    our order id, for staff and reports).
 * 2. CreatePayment with `source_id: "EXTERNAL"` for what the customer already
 *    paid through Stripe. Square shows API orders in the seller's Point of
 *    Sale only once they have a fulfillment and are paid, so without this the
 *    kitchen would never see the order.
 *
 * Money: Square computes every total itself, so the order is built to come
 * out at exactly our numbers (minor units, as Square's `amount` is):
 * - each line's `base_price_money` is our unit price minus its modifiers,
 *   and each modifier carries its own price, overriding catalog prices;
 * - our discount is one order-scoped FIXED_AMOUNT discount;
 * - our tax is one non-taxable TOTAL_PHASE service charge named "Tax".
 *   Square taxes (OrderLineItemTax) take only a percentage and Square rounds
 *   per line, so no tax object can reproduce an amount we already rounded;
 *   the service charge is exact. The price: Square's reports list it as a
 *   service charge, not tax; Orderlane stays the record of the tax collected;
 * - the tip is the payment's `tip_money`, where Square keeps tips (the order's
 *   `total_tip_money` comes from its tenders), so the order's own total is our
 *   total less the tip and the tip lands in Square's tip reporting.
 * Catalog taxes and discounts are never auto-applied (`pricing_options`),
 * and a created order whose total differs from ours is not paid: that fails
 * permanently, for staff to look at, rather than record a wrong payment.
 *
 * Fulfillment: always one PICKUP (see `toSquareCreateOrderRequest`); a
 * delivery's address and a dine-in marker go in its note.
 *
 * Credentials: `accessToken`; for refresh `clientId`, `clientSecret`,
 * `refreshToken`. `locationId` is the Square location id.
 */

/** The Square API version every request pins. */
// Square versioning: a `Square-Version: YYYY-MM-DD` header selects the API version: https://developer.squareup.com/docs/build-basics/versioning-overview
export const SQUARE_VERSION = "2025-10-16";

const encoder = new TextEncoder();

/** Hex SHA-256 (local: src/crypto.ts does not type-check under the Node config the adapter tests use). */
async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------- wire shapes

const moneySchema = z.object({ amount: z.number().int(), currency: z.string() });

// Square Order object (the fields read here): https://developer.squareup.com/reference/square/objects/Order
const squareOrderSchema = z.object({
  id: z.string().min(1),
  state: z.string().nullish(),
  // The order's version, which UpdateOrder must be given (optimistic concurrency).
  version: z.number().int().nullish(),
  reference_id: z.string().nullish(),
  total_money: moneySchema.nullish(),
  net_amount_due_money: moneySchema.nullish(),
  tenders: z.array(z.object({ id: z.string().nullish() })).nullish(),
  fulfillments: z
    .array(
      z.object({
        uid: z.string().nullish(),
        type: z.string().nullish(),
        state: z.string().nullish(),
        // FulfillmentPickupDetails.pickup_at: for ASAP, Square sets it to now plus the prep time: https://developer.squareup.com/reference/square/objects/FulfillmentPickupDetails
        pickup_details: z.object({ pickup_at: z.string().nullish() }).nullish(),
      }),
    )
    .nullish(),
});

type SquareOrder = z.infer<typeof squareOrderSchema>;

// RetrieveLocation answers `{ location }`; Location.status is ACTIVE or INACTIVE, currency ISO 4217,
// timezone IANA: https://developer.squareup.com/reference/square/locations-api/retrieve-location
// and https://developer.squareup.com/reference/square/objects/Location
const locationResponseSchema = z.object({
  location: z.object({
    id: z.string().min(1),
    name: z.string().nullish(),
    business_name: z.string().nullish(),
    status: z.string().nullish(),
    currency: z.string().nullish(),
    timezone: z.string().nullish(),
  }),
});

// CreateOrder and RetrieveOrder answer `{ order }`: https://developer.squareup.com/reference/square/orders/create-order
const orderResponseSchema = z.object({ order: squareOrderSchema });

// CreatePayment answers `{ payment }`: https://developer.squareup.com/reference/square/payments/create-payment
const paymentResponseSchema = z.object({
  payment: z.object({ id: z.string().min(1), status: z.string().nullish() }),
});

// ObtainToken answer; `expires_at` is an ISO 8601 string: https://developer.squareup.com/reference/square/objects/ObtainTokenResponse
const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_at: z.string().nullish(),
  refresh_token: z.string().nullish(),
  merchant_id: z.string().nullish(),
});

// Square error envelope `{ errors: [{ category, code, detail, field }] }`: https://developer.squareup.com/docs/build-basics/handling-errors
const errorResponseSchema = z.object({
  errors: z
    .array(
      z.object({
        category: z.string(),
        code: z.string(),
        detail: z.string().nullish(),
        field: z.string().nullish(),
      }),
    )
    .min(1),
});

// Webhook event envelope; order events carry `data.object.order_created | order_updated |
// order_fulfillment_updated`: https://developer.squareup.com/reference/square/webhooks/order.fulfillment.updated
const webhookEventSchema = z.object({
  merchant_id: z.string().nullish(),
  type: z.string().min(1),
  event_id: z.string().min(1),
  created_at: z.string().nullish(),
  data: z
    .object({
      type: z.string().nullish(),
      id: z.string().nullish(),
      object: z.record(z.string(), z.unknown()).nullish(),
    })
    .nullish(),
});

const orderEventObjectSchema = z.object({
  order_id: z.string().min(1),
  state: z.string().nullish(),
  updated_at: z.string().nullish(),
  created_at: z.string().nullish(),
  // OrderFulfillmentUpdatedUpdate: https://developer.squareup.com/reference/square/objects/OrderFulfillmentUpdatedUpdate
  fulfillment_update: z
    .array(
      z.object({
        fulfillment_uid: z.string().nullish(),
        old_state: z.string().nullish(),
        new_state: z.string().nullish(),
      }),
    )
    .nullish(),
});

/** Which `data.object` key holds the order for each order event type. */
const ORDER_EVENT_OBJECT_KEYS: Readonly<Record<string, string>> = {
  "order.created": "order_created",
  "order.updated": "order_updated",
  "order.fulfillment.updated": "order_fulfillment_updated",
};

// ---------------------------------------------------------------- request shapes

interface SquareMoney {
  amount: number;
  currency: string;
}

interface SquareRecipient {
  display_name: string;
  email_address?: string;
  phone_number?: string;
}

/** The CreateOrder body this adapter sends. */
export interface SquareCreateOrderRequest {
  idempotency_key: string;
  order: {
    location_id: string;
    reference_id: string;
    source: { name: string };
    ticket_name: string;
    pricing_options: { auto_apply_taxes: boolean; auto_apply_discounts: boolean };
    line_items: Array<{
      quantity: string;
      catalog_object_id?: string;
      name?: string;
      base_price_money: SquareMoney;
      modifiers?: Array<{
        catalog_object_id?: string;
        name?: string;
        base_price_money: SquareMoney;
      }>;
      note?: string;
    }>;
    discounts?: Array<{
      uid: string;
      name: string;
      type: "FIXED_AMOUNT";
      amount_money: SquareMoney;
      scope: "ORDER";
    }>;
    service_charges?: Array<{
      uid: string;
      name: string;
      amount_money: SquareMoney;
      calculation_phase: "TOTAL_PHASE";
      taxable: false;
    }>;
    fulfillments: Array<{
      type: "PICKUP";
      state: "PROPOSED";
      pickup_details: {
        recipient: SquareRecipient;
        schedule_type: "ASAP" | "SCHEDULED";
        pickup_at?: string;
        note?: string;
      };
    }>;
  };
}

/** The CreatePayment body this adapter sends. */
export interface SquareCreatePaymentRequest {
  idempotency_key: string;
  source_id: "EXTERNAL";
  amount_money: SquareMoney;
  tip_money?: SquareMoney;
  order_id: string;
  location_id: string;
  reference_id: string;
  autocomplete: true;
  external_details: { type: "OTHER"; source: string };
}

// Field limits from the Square reference, cut rather than refused: a long note must not block an order.
// OrderLineItem.name max 512, note max 2000: https://developer.squareup.com/reference/square/objects/OrderLineItem
const LINE_NAME_MAX = 512;
const LINE_NOTE_MAX = 2000;
// FulfillmentPickupDetails.note max 500 (cited below).
const FULFILLMENT_NOTE_MAX = 500;
// Order.ticket_name max 30: https://developer.squareup.com/reference/square/objects/Order
const TICKET_NAME_MAX = 30;
// CreatePayment.idempotency_key max 45: https://developer.squareup.com/reference/square/payments/create-payment
const PAYMENT_KEY_MAX = 45;

// ---------------------------------------------------------------- mapping

/**
 * The CreateOrder request for `order`, pure. Customer name, phone and email
 * appear only when `syncCustomerInfo` is on and the order has a customer;
 * otherwise the recipient (which Square requires) is `Order #<number>`.
 */
export function toSquareCreateOrderRequest(
  order: PosOrder,
  locationId: string,
  syncCustomerInfo: boolean,
): SquareCreateOrderRequest {
  const money = (amount: number): SquareMoney => ({ amount, currency: order.currency });
  const lineItems = order.lines.map((line) => {
    const modifierTotal = line.modifiers.reduce((sum, m) => sum + m.price, 0);
    // Square adds modifier prices to the base price itself; deriving the base
    // from our unit price keeps each line exactly at our unit price × quantity.
    // OrderLineItem: base_price_money overrides the catalog price when both are set: https://developer.squareup.com/reference/square/objects/OrderLineItem
    return {
      quantity: String(line.quantity),
      ...(line.posItemId
        ? { catalog_object_id: line.posItemId }
        : { name: line.name.slice(0, LINE_NAME_MAX) }),
      base_price_money: money(line.unitPrice - modifierTotal),
      ...(line.modifiers.length > 0
        ? {
            // OrderLineItemModifier: ad hoc modifiers need base_price_money, which also overrides a catalog price: https://developer.squareup.com/reference/square/objects/OrderLineItemModifier
            modifiers: line.modifiers.map((m) => ({
              ...(m.posModifierId ? { catalog_object_id: m.posModifierId } : { name: m.name }),
              base_price_money: money(m.price),
            })),
          }
        : {}),
      ...(line.specialInstructions
        ? { note: line.specialInstructions.slice(0, LINE_NOTE_MAX) }
        : {}),
    };
  });

  const customer = syncCustomerInfo ? order.customer : null;
  // FulfillmentRecipient: display_name is required, so without customer details the order number stands in: https://developer.squareup.com/reference/square/objects/OrderFulfillmentRecipient
  const recipient: SquareRecipient = {
    display_name: customer?.name.trim() || `Order #${order.number}`,
    ...(customer?.email ? { email_address: customer.email } : {}),
    ...(customer?.phone ? { phone_number: customer.phone } : {}),
  };
  const noteParts = [
    order.orderType === "dine_in" ? "Dine in" : null,
    order.orderType === "delivery"
      ? `Delivery to ${order.deliveryAddress ? oneLineAddress(order.deliveryAddress) : "(no address)"}`
      : null,
    order.specialInstructions,
  ].filter((part): part is string => Boolean(part));

  // Every order type goes as one PICKUP fulfillment. Square Point of Sale
  // lists an API order only with a fulfillment (so dine-in needs one too),
  // and shows DELIVERY fulfillments only to Square delivery partners; a
  // restaurant delivering itself hands the order to its driver at the
  // counter, so the address travels in the note.
  // Fulfillments: one per API order, PROPOSED on creation, DELIVERY hidden from the POS without a partnership,
  // only paid orders visible: https://developer.squareup.com/docs/orders-api/fulfillments
  const fulfillment: SquareCreateOrderRequest["order"]["fulfillments"][number] = {
    type: "PICKUP",
    state: "PROPOSED",
    // FulfillmentPickupDetails: ASAP sets pickup_at itself, SCHEDULED needs it; note max 500: https://developer.squareup.com/reference/square/objects/FulfillmentPickupDetails
    pickup_details: {
      recipient,
      schedule_type: order.scheduledFor ? "SCHEDULED" : "ASAP",
      ...(order.scheduledFor ? { pickup_at: order.scheduledFor } : {}),
      ...(noteParts.length > 0
        ? { note: noteParts.join(". ").slice(0, FULFILLMENT_NOTE_MAX) }
        : {}),
    },
  };

  return {
    // CreateOrder: a repeated idempotency_key returns the order created the first time: https://developer.squareup.com/docs/working-with-apis/idempotency
    idempotency_key: order.orderId,
    order: {
      location_id: locationId,
      reference_id: order.orderId,
      source: { name: "Orderlane" },
      ticket_name: `Orderlane #${order.number}`.slice(0, TICKET_NAME_MAX),
      // OrderPricingOptions: without auto-applied catalog taxes/discounts Square's total is ours: https://developer.squareup.com/reference/square/objects/OrderPricingOptions
      pricing_options: { auto_apply_taxes: false, auto_apply_discounts: false },
      line_items: lineItems,
      ...(order.discount > 0
        ? {
            // OrderLineItemDiscount, FIXED_AMOUNT with ORDER scope, apportioned by Square: https://developer.squareup.com/docs/orders-api/apply-taxes-and-discounts
            discounts: [
              {
                uid: "orderlane-discount",
                name: "Discount",
                type: "FIXED_AMOUNT" as const,
                amount_money: money(order.discount),
                scope: "ORDER" as const,
              },
            ],
          }
        : {}),
      ...(order.tax > 0
        ? {
            // Service charges: an amount-based TOTAL_PHASE charge is added after discounts and cannot be taxable: https://developer.squareup.com/docs/orders-api/service-charges
            service_charges: [
              {
                uid: "orderlane-tax",
                name: "Tax",
                amount_money: money(order.tax),
                calculation_phase: "TOTAL_PHASE" as const,
                taxable: false as const,
              },
            ],
          }
        : {}),
      fulfillments: [fulfillment],
    },
  };
}

function oneLineAddress(address: NonNullable<PosOrder["deliveryAddress"]>): string {
  return [
    address.line1,
    address.line2,
    address.city,
    address.region,
    address.postalCode,
    address.country,
  ]
    .filter((part): part is string => Boolean(part?.trim()))
    .join(", ");
}

/** The idempotency key of the payment recorded for our order (CreatePayment allows 45 characters). */
export async function squarePaymentKey(orderId: string): Promise<string> {
  const key = `pay:${orderId}`;
  return key.length <= PAYMENT_KEY_MAX ? key : `pay:${(await sha256Hex(orderId)).slice(0, 40)}`;
}

/**
 * The CreatePayment request that records the customer's online payment
 * against the Square order: the order's total as the amount, our tip as the tip.
 */
export async function toSquareCreatePaymentRequest(
  order: PosOrder,
  squareOrderId: string,
  locationId: string,
): Promise<SquareCreatePaymentRequest> {
  return {
    idempotency_key: await squarePaymentKey(order.orderId),
    // External payments: source_id EXTERNAL with external_details { type, source }: https://developer.squareup.com/docs/payments-api/take-payments/external-payments
    source_id: "EXTERNAL",
    amount_money: { amount: order.total - order.tip, currency: order.currency },
    ...(order.tip > 0 ? { tip_money: { amount: order.tip, currency: order.currency } } : {}),
    order_id: squareOrderId,
    location_id: locationId,
    reference_id: order.orderId,
    autocomplete: true,
    external_details: { type: "OTHER", source: "Orderlane online payment" },
  };
}

/**
 * Square's order state, and the fulfillment state when there is one, in our
 * words. A final order state wins over its fulfillment; within an OPEN order
 * the fulfillment tells how far the kitchen is.
 */
// OrderState OPEN/COMPLETED/CANCELED/DRAFT: https://developer.squareup.com/reference/square/enums/OrderState
// FulfillmentState PROPOSED/RESERVED/PREPARED/COMPLETED/CANCELED/FAILED: https://developer.squareup.com/reference/square/enums/FulfillmentState
export function mapSquareStatus(
  orderState: string | null,
  fulfillmentState: string | null,
): OrderStatus | null {
  switch (orderState) {
    case "CANCELED":
      return "cancelled";
    case "COMPLETED":
      return "completed";
    case "DRAFT":
      // A draft is not in the kitchen's queue yet: nothing to report.
      return null;
    case "OPEN":
      break;
    default:
      return null;
  }
  switch (fulfillmentState) {
    case null:
    case "PROPOSED":
      // Open in the POS and not started: the order is accepted, i.e. confirmed.
      return "confirmed";
    case "RESERVED":
      // "The fulfillment has been acknowledged and is being prepared."
      return "preparing";
    case "PREPARED":
      return "ready";
    case "COMPLETED":
      return "completed";
    case "CANCELED":
      return "cancelled";
    default:
      // FAILED is "failed to be completed, but was not explicitly canceled":
      // staff decide what happens, no automatic move for us. Unknown states likewise.
      return null;
  }
}

/** `OPEN` or `OPEN:RESERVED`: the vendor status kept for the record. */
function vendorStatusOf(orderState: string | null, fulfillmentState: string | null): string {
  const order = orderState ?? "UNKNOWN";
  return fulfillmentState ? `${order}:${fulfillmentState}` : order;
}

// ---------------------------------------------------------------- HTTP

function apiUrl(connection: PosConnection, path: string): string {
  return `${connection.baseUrl.replace(/\/+$/, "")}${path}`;
}

function accessTokenOf(connection: PosConnection): string {
  const token = connection.session?.accessToken || connection.credentials.accessToken;
  if (!token) {
    // `auth`, so the caller refreshes once: a connection may start with only a refresh token.
    throw new PosError("auth", "no_access_token", "no Square access token: refresh the session");
  }
  return token;
}

/** A Square API call, its failure message completed with Square's own error code and field. */
async function squareFetch(
  url: string,
  init: { method: "GET" | "POST" | "PUT"; token?: string; body?: unknown },
  options: PosCallOptions,
): Promise<Response> {
  const headers: Record<string, string> = {
    "Square-Version": SQUARE_VERSION,
    Accept: "application/json",
  };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  try {
    return await vendorFetch(
      url,
      {
        method: init.method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      },
      options,
    );
  } catch (err) {
    throw withSquareDetail(err);
  }
}

/** Square explains refusals in `errors[]`; that explanation is what staff need in the sync history. */
function withSquareDetail(err: unknown): unknown {
  if (!(err instanceof PosError) || !err.details.vendorMessage) return err;
  let json: unknown;
  try {
    json = JSON.parse(err.details.vendorMessage) as unknown;
  } catch {
    return err;
  }
  const parsed = errorResponseSchema.safeParse(json);
  if (!parsed.success) return err;
  const described = parsed.data.errors
    .map(
      (e) =>
        `${e.category}/${e.code}${e.field ? ` at ${e.field}` : ""}${e.detail ? `: ${e.detail}` : ""}`,
    )
    .join("; ");
  // IDEMPOTENCY_KEY_REUSED: the same key came with a different body, so the
  // order changed between attempts; it needs a person, not another retry.
  const reused = parsed.data.errors.some((e) => e.code === "IDEMPOTENCY_KEY_REUSED");
  return new PosError(
    reused ? "permanent" : err.kind,
    reused ? "idempotency_key_reused" : err.code,
    `${err.message}: ${described}`.slice(0, 500),
    err.details,
  );
}

/** A 2xx Square answer in its documented shape, or a `bad_response` (permanent). */
function parseAnswer<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  return parseVendorAnswer(schema, data, { vendor: "Square", what, kind: "permanent" });
}

// ---------------------------------------------------------------- webhooks

/**
 * Verifies `x-square-hmacsha256-signature`: Base64 of HMAC-SHA256 under the
 * subscription's signature key, over the notification URL followed by the
 * raw body. `url` must be exactly the notification URL registered with
 * Square (scheme, host, path and query), so a proxy in front must pass it on.
 */
// Validate notifications: HMAC-SHA256(signature key, notification URL + raw body), Base64: https://developer.squareup.com/docs/webhooks/step3validate
export async function verifySquareSignature(
  request: WebhookRequest,
  signatureKey: string,
): Promise<boolean> {
  const signature = request.headers["x-square-hmacsha256-signature"];
  if (!signature || !signatureKey) return false;
  const expected = decodeBase64(signature.trim());
  if (expected?.length !== 32) return false;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(signatureKey),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  // `verify` compares in constant time, unlike comparing Base64 strings.
  return crypto.subtle.verify("HMAC", key, expected, encoder.encode(request.url + request.rawBody));
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

function isoOrNull(value: string | null | undefined): string | null {
  if (!value) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

// ---------------------------------------------------------------- order updates

/** Where our fulfillment status lands in Square's FulfillmentState. */
// FulfillmentState PROPOSED/RESERVED/PREPARED/COMPLETED/CANCELED/FAILED: https://developer.squareup.com/reference/square/enums/FulfillmentState
export const SQUARE_FULFILLMENT_STATE: Readonly<Record<PosFulfillmentStatus, string>> = {
  preparing: "RESERVED",
  ready: "PREPARED",
  completed: "COMPLETED",
};

/** The forward path of a fulfillment; CANCELED and FAILED are final and off it. */
const FULFILLMENT_PATH = ["PROPOSED", "RESERVED", "PREPARED", "COMPLETED"] as const;
const FINAL_FULFILLMENT_STATES = new Set(["COMPLETED", "CANCELED", "FAILED"]);

/**
 * The states to move a fulfillment through, one UpdateOrder each, from `current` to `target`:
 * empty when it is already there or past it, or final (CANCELED, FAILED). Square's reference does
 * not say whether a state may be skipped; stepping is valid either way, and Square, its webhooks
 * and the POS then see the order advance as it would from the POS itself.
 */
export function fulfillmentSteps(current: string | null, target: string): string[] {
  const from = FULFILLMENT_PATH.indexOf(
    (current ?? "PROPOSED") as (typeof FULFILLMENT_PATH)[number],
  );
  const to = FULFILLMENT_PATH.indexOf(target as (typeof FULFILLMENT_PATH)[number]);
  if (from < 0 || to < 0 || from >= to) return [];
  return FULFILLMENT_PATH.slice(from + 1, to + 1);
}

/** The fulfillment Orderlane created: the first PICKUP (Square allows one per API order), else the first. */
function ourFulfillment(order: SquareOrder) {
  const fulfillments = order.fulfillments ?? [];
  return fulfillments.find((f) => f.type === "PICKUP") ?? fulfillments[0] ?? null;
}

/** When the created order's pickup is expected, as ISO; null when Square does not say. */
export function estimatedReadyAtOf(order: SquareOrder): string | null {
  return isoOrNull(ourFulfillment(order)?.pickup_details?.pickup_at);
}

/** The Square error codes in a failed call's answer (`VERSION_MISMATCH`, …). */
function squareErrorCodes(err: unknown): string[] {
  if (!(err instanceof PosError) || !err.details.vendorMessage) return [];
  try {
    const parsed = errorResponseSchema.safeParse(JSON.parse(err.details.vendorMessage));
    return parsed.success ? parsed.data.errors.map((e) => e.code) : [];
  } catch {
    return [];
  }
}

/** RetrieveOrder: the order as Square holds it now. */
async function retrieveSquareOrder(
  connection: PosConnection,
  posOrderId: string,
  options: PosCallOptions,
): Promise<SquareOrder> {
  // Orders API, RetrieveOrder `GET /v2/orders/{order_id}`: https://developer.squareup.com/reference/square/orders/retrieve-order
  const response = await squareFetch(
    apiUrl(connection, `/v2/orders/${encodeURIComponent(posOrderId)}`),
    { method: "GET", token: accessTokenOf(connection) },
    options,
  );
  return parseAnswer(orderResponseSchema, await readJson(response), "RetrieveOrder answer").order;
}

/** The sparse order of an UpdateOrder: what changes, at the version it was read at. */
interface SquareOrderChange {
  state?: "CANCELED" | "COMPLETED";
  fulfillments: Array<{ uid: string; state: string }>;
}

/**
 * One UpdateOrder of `order` as read. The idempotency key names the order, the action and
 * the version it applies to: a retry of a call whose answer was lost replays it instead of
 * changing the order twice, and the next change (a new version) gets a new key, which Square
 * requires (a reused key answers 200 without applying anything).
 */
// UpdateOrder `PUT /v2/orders/{order_id}`: the sparse order with the current version; COMPLETED and
// CANCELED orders cannot be updated; a reattempt with the same key returns the latest order:
// https://developer.squareup.com/reference/square/orders/update-order
// A new idempotency key per update, or the update is not applied; version required:
// https://developer.squareup.com/docs/orders-api/manage-orders/update-orders
async function updateSquareOrder(
  connection: PosConnection,
  order: SquareOrder,
  action: string,
  change: SquareOrderChange,
  options: PosCallOptions,
): Promise<SquareOrder> {
  const version = order.version ?? 0;
  const response = await squareFetch(
    apiUrl(connection, `/v2/orders/${encodeURIComponent(order.id)}`),
    {
      method: "PUT",
      token: accessTokenOf(connection),
      body: {
        idempotency_key: await updateKey(order.id, action, version),
        order: {
          location_id: connection.locationId,
          version,
          ...(change.state ? { state: change.state } : {}),
          fulfillments: change.fulfillments,
        },
      },
    },
    options,
  );
  return parseAnswer(orderResponseSchema, await readJson(response), "UpdateOrder answer").order;
}

// UpdateOrder.idempotency_key max 192 characters: https://developer.squareup.com/reference/square/orders/update-order
const UPDATE_KEY_MAX = 192;

/** `<action>:<order id>:v<version>`, hashed if it would exceed Square's limit. */
export async function updateKey(
  posOrderId: string,
  action: string,
  version: number,
): Promise<string> {
  const key = `${action}:${posOrderId}:v${version}`;
  return key.length <= UPDATE_KEY_MAX ? key : `${action}:${await sha256Hex(key)}`;
}

/**
 * Reads the order and applies `decide`'s change to it, reading again and retrying once when
 * someone else (the kitchen, Square itself) changed the order in between: Square answers such
 * a write VERSION_MISMATCH. `decide` answers a result for "nothing to do", or the change.
 */
// Optimistic concurrency: on a version mismatch, retrieve the object again and then update it:
// https://developer.squareup.com/docs/working-with-apis/optimistic-concurrency
async function changeOrder<T>(
  connection: PosConnection,
  posOrderId: string,
  options: PosCallOptions,
  decide: (
    order: SquareOrder,
  ) => { done: T } | { action: string; change: SquareOrderChange; result: T },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const order = await retrieveSquareOrder(connection, posOrderId, options);
    const decision = decide(order);
    if ("done" in decision) return decision.done;
    try {
      await updateSquareOrder(connection, order, decision.action, decision.change, options);
      return decision.result;
    } catch (err) {
      if (attempt === 0 && squareErrorCodes(err).includes("VERSION_MISMATCH")) continue;
      throw err;
    }
  }
}

/**
 * OAuth API, ObtainToken `POST /oauth2/token`, for either grant:
 * https://developer.squareup.com/reference/square/o-auth/obtain-token. A refusal (a used,
 * expired or foreign code; a revoked refresh token) stays refused: `permanent`, with `refused.code`.
 */
async function obtainToken(
  baseUrl: string,
  body: Record<string, string>,
  options: PosCallOptions,
  refused: { code: string; what: string },
): Promise<z.infer<typeof tokenResponseSchema>> {
  let response: Response;
  try {
    response = await squareFetch(
      `${baseUrl.replace(/\/+$/, "")}/oauth2/token`,
      { method: "POST", body },
      options,
    );
  } catch (err) {
    if (err instanceof PosError && (err.kind === "auth" || err.kind === "permanent")) {
      throw new PosError(
        "permanent",
        refused.code,
        `Square refused ${refused.what}: ${err.message}`,
        err.details,
      );
    }
    throw err;
  }
  return parseAnswer(tokenResponseSchema, await readJson(response), "ObtainToken answer");
}

// ---------------------------------------------------------------- catalog

// Presence at locations, shared by every CatalogObject: present_at_all_locations defaults to true,
// absent_at_location_ids then lists the exceptions; when false, present_at_location_ids lists where
// it is: https://developer.squareup.com/reference/square/objects/CatalogObject
const catalogObjectBase = {
  id: z.string().min(1),
  is_deleted: z.boolean().nullish(),
  present_at_all_locations: z.boolean().nullish(),
  present_at_location_ids: z.array(z.string()).nullish(),
  absent_at_location_ids: z.array(z.string()).nullish(),
};

const catalogMoneySchema = z.object({
  amount: z.number().int().nullish(),
  currency: z.string().nullish(),
});

// CatalogItemVariation, with its per-location price and sold-out overrides
// (ItemVariationLocationOverrides): https://developer.squareup.com/reference/square/objects/CatalogItemVariation
// and https://developer.squareup.com/reference/square/objects/ItemVariationLocationOverrides
const catalogVariationSchema = z.object({
  ...catalogObjectBase,
  item_variation_data: z
    .object({
      name: z.string().nullish(),
      ordinal: z.number().nullish(),
      pricing_type: z.string().nullish(),
      price_money: catalogMoneySchema.nullish(),
      sellable: z.boolean().nullish(),
      location_overrides: z
        .array(
          z.object({
            location_id: z.string().nullish(),
            pricing_type: z.string().nullish(),
            price_money: catalogMoneySchema.nullish(),
            sold_out: z.boolean().nullish(),
            sold_out_valid_until: z.string().nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
});

// CatalogModifier, with ModifierLocationOverrides (price, sold_out):
// https://developer.squareup.com/reference/square/objects/CatalogModifier
const catalogModifierSchema = z.object({
  ...catalogObjectBase,
  modifier_data: z
    .object({
      name: z.string().nullish(),
      ordinal: z.number().nullish(),
      price_money: catalogMoneySchema.nullish(),
      location_overrides: z
        .array(
          z.object({
            location_id: z.string().nullish(),
            price_money: catalogMoneySchema.nullish(),
            sold_out: z.boolean().nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
});

const catalogObjectSchema = z.object({
  ...catalogObjectBase,
  type: z.string(),
  // CatalogItem: `categories` replaces the deprecated `category_id`; `description_plaintext` is the
  // server's plain text of `description_html`: https://developer.squareup.com/reference/square/objects/CatalogItem
  item_data: z
    .object({
      name: z.string().nullish(),
      description: z.string().nullish(),
      description_plaintext: z.string().nullish(),
      is_archived: z.boolean().nullish(),
      category_id: z.string().nullish(),
      categories: z.array(z.object({ id: z.string().nullish() })).nullish(),
      // CatalogItemModifierListInfo: https://developer.squareup.com/reference/square/objects/CatalogItemModifierListInfo
      modifier_list_info: z
        .array(
          z.object({
            modifier_list_id: z.string().min(1),
            min_selected_modifiers: z.number().int().nullish(),
            max_selected_modifiers: z.number().int().nullish(),
            enabled: z.boolean().nullish(),
            ordinal: z.number().nullish(),
            allow_quantities: z.string().nullish(),
          }),
        )
        .nullish(),
      variations: z.array(catalogVariationSchema).nullish(),
    })
    .nullish(),
  // CatalogModifierList: https://developer.squareup.com/reference/square/objects/CatalogModifierList
  modifier_list_data: z
    .object({
      name: z.string().nullish(),
      ordinal: z.number().nullish(),
      selection_type: z.string().nullish(),
      min_selected_modifiers: z.number().int().nullish(),
      max_selected_modifiers: z.number().int().nullish(),
      allow_quantities: z.boolean().nullish(),
      modifier_type: z.string().nullish(),
      modifiers: z.array(catalogModifierSchema).nullish(),
    })
    .nullish(),
  // CatalogCategory; its place among its siblings is `parent_category.ordinal`:
  // https://developer.squareup.com/reference/square/objects/CatalogCategory
  category_data: z
    .object({
      name: z.string().nullish(),
      parent_category: z.object({ ordinal: z.number().nullish() }).nullish(),
    })
    .nullish(),
});

/** One object of ListCatalog's answer, in the fields the menu import reads. */
export type SquareCatalogObject = z.infer<typeof catalogObjectSchema>;
type SquareModifierListInfo = NonNullable<
  NonNullable<SquareCatalogObject["item_data"]>["modifier_list_info"]
>[number];
type SquareModifierList = NonNullable<SquareCatalogObject["modifier_list_data"]>;

// ListCatalog answers `{ objects, cursor }`; no cursor (or an empty one) is the last page:
// https://developer.squareup.com/reference/square/catalog-api/list-catalog
const listCatalogResponseSchema = z.object({
  objects: z.array(catalogObjectSchema).nullish(),
  cursor: z.string().nullish(),
});

// ListCatalog returns variations inside their ITEM and modifiers inside their MODIFIER_LIST, so
// these three top-level types are the whole sellable menu.
const CATALOG_TYPES = "ITEM,MODIFIER_LIST,CATEGORY";

// 429s while paging: at most this many waits, each at most this long (longer ones go back to the
// caller's own retry schedule).
const CATALOG_RATE_LIMIT_RETRIES = 3;
const CATALOG_MAX_WAIT_SECONDS = 10;

/**
 * With `allow_quantities` Square bounds a modifier's quantity only by the list's maximum; without
 * one, this is the most one line may take of it.
 */
export const SQUARE_MODIFIER_QUANTITY_CAP = 10;

type Presence = Pick<
  SquareCatalogObject,
  "is_deleted" | "present_at_all_locations" | "present_at_location_ids" | "absent_at_location_ids"
>;

/** Whether a catalog object is live at the location (see `catalogObjectBase`). */
function presentAt(object: Presence, locationId: string): boolean {
  if (object.is_deleted) return false;
  if (object.present_at_all_locations === false) {
    return (object.present_at_location_ids ?? []).includes(locationId);
  }
  return !(object.absent_at_location_ids ?? []).includes(locationId);
}

/** Square ordinals may be absent; those sort last, in the order Square listed them. */
function byOrdinal<T>(list: readonly T[], ordinal: (t: T) => number | null | undefined): T[] {
  return list
    .map((value, index) => ({ value, index, key: ordinal(value) ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => a.key - b.key || a.index - b.index)
    .map((entry) => entry.value);
}

/** A bound one level of the catalog sets, or leaves to the next (`set: false`). */
type Bound = { set: false } | { set: true; value: number | null };

/**
 * One side of a selection bound. Square's `-1` (and absence) means unset, so the next level
 * decides; below -1 is invalid and treated as no bound; a maximum of 0 means no maximum:
 * https://developer.squareup.com/reference/square/objects/CatalogItemModifierListInfo
 */
function readBound(value: number | null | undefined, side: "min" | "max"): Bound {
  if (value === null || value === undefined || value === -1) return { set: false };
  if (value < -1) return { set: true, value: side === "min" ? 0 : null };
  if (side === "max" && value === 0) return { set: true, value: null };
  return { set: true, value };
}

/**
 * How many modifiers of the list one line of the item must and may take: the item's own
 * `modifier_list_info` bounds, else the list's, else the deprecated `selection_type` (SINGLE: at
 * most one): https://developer.squareup.com/reference/square/objects/CatalogModifierList
 */
export function squareSelectionBounds(
  info: Pick<SquareModifierListInfo, "min_selected_modifiers" | "max_selected_modifiers">,
  list: Pick<
    SquareModifierList,
    "min_selected_modifiers" | "max_selected_modifiers" | "selection_type"
  >,
): { minSelections: number; maxSelections: number | null } {
  const pick = (
    side: "min" | "max",
    item: number | null | undefined,
    own: number | null | undefined,
  ) => {
    const fromItem = readBound(item, side);
    return fromItem.set ? fromItem : readBound(own, side);
  };
  const min = pick("min", info.min_selected_modifiers, list.min_selected_modifiers);
  const max = pick("max", info.max_selected_modifiers, list.max_selected_modifiers);
  return {
    minSelections: min.set ? (min.value ?? 0) : 0,
    maxSelections: max.set ? max.value : list.selection_type === "SINGLE" ? 1 : null,
  };
}

/** The variation's override for the location, where it has one. */
function overrideAt<T extends { location_id?: string | null }>(
  overrides: readonly T[] | null | undefined,
  locationId: string,
): T | undefined {
  return (overrides ?? []).find((o) => o.location_id === locationId);
}

function modifierGroupsOf(
  infos: readonly SquareModifierListInfo[],
  lists: ReadonlyMap<string, SquareCatalogObject>,
  locationId: string,
): PosCatalogModifierGroup[] {
  const groups: PosCatalogModifierGroup[] = [];
  for (const info of byOrdinal(infos, (i) => i.ordinal)) {
    if (info.enabled === false) continue;
    const list = lists.get(info.modifier_list_id);
    const data = list?.modifier_list_data;
    // A TEXT list is a free-text field (an engraving, a name), not modifiers to choose from:
    // https://developer.squareup.com/reference/square/enums/CatalogModifierListModifierType
    if (!list || !data || data.modifier_type === "TEXT") continue;
    const { minSelections, maxSelections } = squareSelectionBounds(info, data);
    // The item may allow or forbid quantities for the list (YES/NO); NOT_SET obeys the list.
    const quantities =
      info.allow_quantities === "YES" ||
      (info.allow_quantities !== "NO" && data.allow_quantities === true);
    const maxQuantity = quantities ? (maxSelections ?? SQUARE_MODIFIER_QUANTITY_CAP) : 1;
    const modifiers = byOrdinal(
      (data.modifiers ?? []).filter((m) => presentAt(m, locationId)),
      (m) => m.modifier_data?.ordinal,
    ).map((modifier): PosCatalogModifier => {
      const override = overrideAt(modifier.modifier_data?.location_overrides, locationId);
      return {
        posModifierId: modifier.id,
        posStockId: modifier.id,
        name: modifier.modifier_data?.name ?? "",
        price: override?.price_money?.amount ?? modifier.modifier_data?.price_money?.amount ?? 0,
        available: override?.sold_out !== true,
        maxQuantity,
      };
    });
    if (modifiers.length === 0) continue;
    groups.push({
      posGroupId: list.id,
      name: data.name ?? "",
      minSelections,
      maxSelections,
      modifiers,
    });
  }
  return groups;
}

/**
 * The sellable menu of `locationId` in ListCatalog's objects, pure. One item per variation present
 * there (named "Item (Variation)" when the item has several), with the variation id as
 * `posItemId`, the id CreateOrder takes as a line's `catalog_object_id`; deleted, archived and
 * unsellable objects and those absent from the location left out. A variation sold out at the
 * location (until `sold_out_valid_until`, if set, has passed by `now`) is unavailable.
 */
export function toPosCatalog(
  objects: readonly SquareCatalogObject[],
  locationId: string,
  now: Date,
): PosCatalog {
  const live = objects.filter((o) => presentAt(o, locationId));
  const lists = new Map(
    live.filter((o) => o.type === "MODIFIER_LIST" && o.modifier_list_data).map((o) => [o.id, o]),
  );
  const categories = byOrdinal(
    live.filter((o) => o.type === "CATEGORY" && o.category_data),
    (o) => o.category_data?.parent_category?.ordinal,
  ).map((o, sortOrder) => ({ posCategoryId: o.id, name: o.category_data?.name ?? "", sortOrder }));
  const categoryIds = new Set(categories.map((c) => c.posCategoryId));

  let currency: string | null = null;
  const items: PosCatalogItem[] = [];
  for (const item of live) {
    const data = item.item_data;
    if (item.type !== "ITEM" || !data || data.is_archived) continue;
    const variations = byOrdinal(
      (data.variations ?? []).filter(
        (v) => presentAt(v, locationId) && v.item_variation_data?.sellable !== false,
      ),
      (v) => v.item_variation_data?.ordinal,
    );
    const posCategoryId =
      [...(data.categories ?? []).map((c) => c.id), data.category_id].find(
        (id): id is string => typeof id === "string" && categoryIds.has(id),
      ) ?? null;
    const modifierGroups = modifierGroupsOf(data.modifier_list_info ?? [], lists, locationId);
    const itemName = data.name ?? "";
    for (const variation of variations) {
      const v = variation.item_variation_data;
      const override = overrideAt(v?.location_overrides, locationId);
      const pricingType = override?.pricing_type ?? v?.pricing_type;
      const money = override?.price_money ?? v?.price_money;
      // VARIABLE_PRICING: the price is entered at the sale, so there is none to import:
      // https://developer.squareup.com/reference/square/enums/CatalogPricingType
      const price = pricingType === "VARIABLE_PRICING" ? 0 : (money?.amount ?? 0);
      if (pricingType !== "VARIABLE_PRICING" && money?.currency) currency ??= money.currency;
      const soldOutUntil = override?.sold_out_valid_until
        ? Date.parse(override.sold_out_valid_until)
        : Number.NaN;
      const soldOut = override?.sold_out === true && !(soldOutUntil <= now.getTime());
      items.push({
        posItemId: variation.id,
        posStockId: variation.id,
        name: variations.length > 1 ? `${itemName} (${v?.name ?? ""})` : itemName,
        description: data.description_plaintext ?? data.description ?? null,
        price,
        posCategoryId,
        available: !soldOut,
        modifierGroups,
      });
    }
  }
  return { categories, items, currency: currency ? currency.toUpperCase() : null };
}

// inventory.count.updated carries `data.object.inventory_counts`, InventoryCount objects whose
// quantity is a decimal string: https://developer.squareup.com/docs/inventory-api/webhooks and
// https://developer.squareup.com/reference/square/objects/InventoryCount
const inventoryCountsSchema = z.array(
  z.object({
    catalog_object_id: z.string().nullish(),
    catalog_object_type: z.string().nullish(),
    state: z.string().nullish(),
    location_id: z.string().nullish(),
    quantity: z.string().nullish(),
  }),
);

/** The menu signals in a Square webhook body; anything else, or not a Square event, is none. */
export function squareMenuSignals(rawBody: string): PosMenuSignal[] {
  let json: unknown;
  try {
    json = JSON.parse(rawBody) as unknown;
  } catch {
    return [];
  }
  const event = webhookEventSchema.safeParse(json);
  if (!event.success) return [];
  const { type, event_id: eventId, data } = event.data;
  // catalog.version.updated names no object, only the time the catalog changed: the whole catalog
  // is read again: https://developer.squareup.com/reference/square/webhooks/catalog.version.updated
  if (type === "catalog.version.updated") return [{ kind: "catalog_changed", eventId }];
  if (type !== "inventory.count.updated") return [];
  const counts = inventoryCountsSchema.safeParse(data?.object?.inventory_counts);
  if (!counts.success) return [];
  // A state adjustment (say IN_STOCK to WASTE) sends a count for each state; only IN_STOCK is the
  // stock that can be sold, the others say nothing of availability.
  return counts.data.flatMap((count): PosMenuSignal[] =>
    count.catalog_object_type === "ITEM_VARIATION" &&
    count.catalog_object_id &&
    count.state === "IN_STOCK"
      ? [
          {
            kind: "stock",
            eventId,
            target: "item",
            posStockId: count.catalog_object_id,
            available: Number(count.quantity ?? "0") > 0,
          },
        ]
      : [],
  );
}

/** Every page of ListCatalog for the menu's types, each page's 429s waited out a few times. */
async function listSquareCatalog(
  connection: PosConnection,
  options: PosCallOptions,
): Promise<SquareCatalogObject[]> {
  const token = accessTokenOf(connection);
  const objects: SquareCatalogObject[] = [];
  const cursors = new Set<string>();
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ types: CATALOG_TYPES });
    if (cursor) query.set("cursor", cursor);
    // Catalog API, ListCatalog `GET /v2/catalog/list?types=…&cursor=…`, 100 objects a page:
    // https://developer.squareup.com/reference/square/catalog-api/list-catalog
    const url = apiUrl(connection, `/v2/catalog/list?${query}`);
    const response = await withRateLimitRetries(
      () => squareFetch(url, { method: "GET", token }, options),
      { retries: CATALOG_RATE_LIMIT_RETRIES, maxWaitSeconds: CATALOG_MAX_WAIT_SECONDS },
    );
    const page = parseAnswer(
      listCatalogResponseSchema,
      await readJson(response),
      "ListCatalog answer",
    );
    objects.push(...(page.objects ?? []));
    cursor = page.cursor || null;
    // A cursor seen before would page forever.
    if (cursor !== null) {
      if (cursors.has(cursor)) {
        throw new PosError("permanent", "bad_response", "Square repeated a ListCatalog cursor");
      }
      cursors.add(cursor);
    }
  } while (cursor !== null);
  return objects;
}

// ---------------------------------------------------------------- OAuth

// OAuthPermission: https://developer.squareup.com/reference/square/enums/OAuthPermission. Orders and
// the EXTERNAL payment recorded on them (ORDERS_*, PAYMENTS_WRITE), RetrieveLocation
// (MERCHANT_PROFILE_READ), and the catalog and stock the menu sync reads (ITEMS_READ, INVENTORY_READ),
// so an owner does not have to grant access twice.
const SQUARE_SCOPES = [
  "ORDERS_READ",
  "ORDERS_WRITE",
  "PAYMENTS_WRITE",
  "MERCHANT_PROFILE_READ",
  "ITEMS_READ",
  "INVENTORY_READ",
];

/** Square's authorization-code flow (OAuth API). */
export const squareOAuth: PosOAuth = {
  // Authorize `GET /oauth2/authorize` with client_id, scope (space separated), session, state and
  // redirect_uri: https://developer.squareup.com/reference/square/oauth-api/authorize (the
  // AuthorizeOAuthParameters of Square's SDKs). `session=false` makes the seller sign in, so the
  // account granting access is the one they mean, not whichever was signed in.
  authorizeUrl(app: PosOAuthApp, state: string): string {
    const query = new URLSearchParams({
      client_id: app.clientId,
      scope: SQUARE_SCOPES.join(" "),
      session: "false",
      state,
      redirect_uri: app.redirectUri,
    });
    return `${app.authorizeBaseUrl.replace(/\/+$/, "")}/oauth2/authorize?${query}`;
  },

  async exchangeCode(app, callback, options) {
    const code = callback.get("code");
    if (!code) {
      // Square redirects with `error` and `error_description` when the seller declines.
      const reason = callback.get("error_description") ?? callback.get("error") ?? "no code";
      throw new PosError(
        "permanent",
        "authorization_denied",
        `Square did not grant access: ${reason}`,
      );
    }
    // ObtainToken with grant_type authorization_code; the answer names the seller (merchant_id).
    const token = await obtainToken(
      app.apiBaseUrl,
      {
        client_id: app.clientId,
        client_secret: app.clientSecret,
        code,
        grant_type: "authorization_code",
        redirect_uri: app.redirectUri,
      },
      options,
      { code: "code_refused", what: "the code" },
    );
    return {
      session: {
        accessToken: token.access_token,
        expiresAt: isoOrNull(token.expires_at),
        refreshToken: token.refresh_token ?? null,
      },
      merchantId: token.merchant_id ?? null,
      credentials: {
        accessToken: token.access_token,
        ...(token.refresh_token ? { refreshToken: token.refresh_token } : {}),
        clientId: app.clientId,
        clientSecret: app.clientSecret,
      },
    };
  },
};

// ---------------------------------------------------------------- adapter

/**
 * Square: Orders API for the order, an EXTERNAL payment so the POS shows it, OAuth refresh; the
 * Catalog API for the menu, catalog and inventory webhooks for its changes.
 */
export const squareAdapter: PosAdapter = {
  provider: "square",
  oauth: squareOAuth,

  async createOrder(
    connection: PosConnection,
    order: PosOrder,
    options: PosCallOptions,
  ): Promise<CreatedPosOrder> {
    const token = accessTokenOf(connection);
    const request = toSquareCreateOrderRequest(
      order,
      connection.locationId,
      connection.syncCustomerInfo,
    );
    // Orders API, CreateOrder `POST /v2/orders`: https://developer.squareup.com/reference/square/orders/create-order
    const created = await squareFetch(
      apiUrl(connection, "/v2/orders"),
      { method: "POST", token, body: request },
      options,
    );
    const squareOrder = parseAnswer(
      orderResponseSchema,
      await readJson(created),
      "CreateOrder answer",
    ).order;

    const expected = order.total - order.tip;
    const computed = squareOrder.total_money?.amount;
    if (computed !== undefined && computed !== expected) {
      throw new PosError(
        "permanent",
        "total_mismatch",
        `Square computed ${computed} for order ${squareOrder.id}, Orderlane ${expected} (total less tip); the order was not marked paid`,
      );
    }
    // A zero total has nothing to pay (Square refuses zero payments), and
    // Square lists such an order without one.
    if (expected > 0) {
      const payment = await toSquareCreatePaymentRequest(
        order,
        squareOrder.id,
        connection.locationId,
      );
      // Payments API, CreatePayment `POST /v2/payments`: https://developer.squareup.com/reference/square/payments/create-payment
      const paid = await squareFetch(
        apiUrl(connection, "/v2/payments"),
        { method: "POST", token, body: payment },
        options,
      );
      parseAnswer(paymentResponseSchema, await readJson(paid), "CreatePayment answer");
    }
    // Square replays the first answer for a repeated key, indistinguishable
    // from a first creation, so a replay cannot be reported as such.
    return {
      posOrderId: squareOrder.id,
      alreadyExisted: false,
      estimatedReadyAt: estimatedReadyAtOf(squareOrder),
    };
  },

  async getOrderStatus(
    connection: PosConnection,
    posOrderId: string,
    options: PosCallOptions,
  ): Promise<{ vendorStatus: string; status: OrderStatus | null }> {
    const order = await retrieveSquareOrder(connection, posOrderId, options);
    const orderState = order.state ?? null;
    const fulfillmentState = ourFulfillment(order)?.state ?? null;
    return {
      vendorStatus: vendorStatusOf(orderState, fulfillmentState),
      status: mapSquareStatus(orderState, fulfillmentState),
    };
  },

  async checkConnection(
    connection: PosConnection,
    options: PosCallOptions,
  ): Promise<PosLocationInfo> {
    let response: Response;
    try {
      // Locations API, RetrieveLocation `GET /v2/locations/{location_id}`; NOT_FOUND (404) for an id the
      // seller does not have: https://developer.squareup.com/reference/square/locations-api/retrieve-location
      response = await squareFetch(
        apiUrl(connection, `/v2/locations/${encodeURIComponent(connection.locationId)}`),
        { method: "GET", token: accessTokenOf(connection) },
        options,
      );
    } catch (err) {
      if (
        err instanceof PosError &&
        (err.details.status === 404 || squareErrorCodes(err).includes("NOT_FOUND"))
      ) {
        throw new PosError(
          "permanent",
          "unknown_location",
          `Square has no location ${connection.locationId} for these credentials`,
          err.details,
        );
      }
      throw err;
    }
    const { location } = parseAnswer(
      locationResponseSchema,
      await readJson(response),
      "RetrieveLocation answer",
    );
    // Location.status is ACTIVE or INACTIVE (https://developer.squareup.com/reference/square/objects/Location);
    // orders are only sent to an active location, so anything else is refused at connect.
    if (location.status !== "ACTIVE") {
      throw new PosError(
        "permanent",
        "location_inactive",
        `Square location ${location.id} is ${location.status ?? "of unknown status"}, not ACTIVE: reactivate it in the Square Dashboard`,
      );
    }
    return {
      // The id itself, so a connection made with the alias `main` is stored under the real one.
      id: location.id,
      name: location.name ?? location.business_name ?? null,
      currency: location.currency ? location.currency.toUpperCase() : null,
      timezone: location.timezone ?? null,
      settings: {},
    };
  },

  draftProblems(): PosDraftProblem[] {
    // Every order goes to Square as one PICKUP fulfillment (see toSquareCreateOrderRequest),
    // whose recipient needs only a display name, and that always has one (the order number
    // stands in). DELIVERY fulfillments, whose recipient would need an address and a phone,
    // are never sent: Square shows them to delivery partners only.
    return [];
  },

  async cancelOrder(
    connection: PosConnection,
    posOrderId: string,
    options: PosCallOptions,
  ): Promise<boolean> {
    return changeOrder<boolean>(connection, posOrderId, options, (order) => {
      // OrderState: COMPLETED and CANCELED are terminal, and UpdateOrder refuses both: https://developer.squareup.com/reference/square/enums/OrderState
      if (order.state === "CANCELED") return { done: true };
      if (order.state === "COMPLETED") return { done: false };
      const open = (order.fulfillments ?? []).filter(
        (f): f is typeof f & { uid: string } =>
          Boolean(f.uid) && !FINAL_FULFILLMENT_STATES.has(f.state ?? ""),
      );
      // Square refuses to cancel an order once a payment was processed for it ("Orders cannot be
      // canceled after payments have been processed"), and every Orderlane order with a total
      // carries the EXTERNAL payment createOrder recorded. Canceling its fulfillment still takes it
      // off the POS and the kitchen's queue, but the sale stays on Square's books for staff to
      // refund there, so the answer is false (pos_void_needed):
      // https://developer.squareup.com/forums/t/best-method-to-cancel-order-after-refund/922
      const paid = (order.tenders ?? []).length > 0;
      if (paid && open.length === 0) return { done: false };
      return {
        action: "cancel",
        // Square refuses CANCELED for an order whose fulfillments are still open, so they are
        // canceled in the same update, each by uid (https://developer.squareup.com/docs/orders-api/fulfillments,
        // https://developer.squareup.com/forums/t/api-put-v2-orders-order-id-cant-set-fulfillment-state-or-order-state/1259).
        change: {
          ...(paid ? {} : { state: "CANCELED" as const }),
          fulfillments: open.map((f) => ({ uid: f.uid, state: "CANCELED" })),
        },
        result: !paid,
      };
    });
  },

  async updateFulfillment(
    connection: PosConnection,
    posOrderId: string,
    status: PosFulfillmentStatus,
    options: PosCallOptions,
  ): Promise<boolean> {
    const target = SQUARE_FULFILLMENT_STATE[status];
    // At most one UpdateOrder per state on the way (PROPOSED → RESERVED → PREPARED → COMPLETED).
    for (let step = 0; step < FULFILLMENT_PATH.length; step++) {
      const outcome = await changeOrder<"there" | "moved" | "untracked">(
        connection,
        posOrderId,
        options,
        (order) => {
          // A closed order is past every fulfillment state; UpdateOrder would refuse it anyway.
          if (order.state === "COMPLETED" || order.state === "CANCELED") return { done: "there" };
          const fulfillment = ourFulfillment(order);
          if (!fulfillment?.uid) return { done: "untracked" };
          const [next] = fulfillmentSteps(fulfillment.state ?? null, target);
          if (!next) return { done: "there" };
          // Square does not complete an order whose fulfillment the API completed (it stays OPEN and
          // drops out of the Dashboard's lists), so the last step completes the order too, in the same
          // call: https://developer.squareup.com/forums/t/orders-with-fulfillment-dashboard-behavior/18972
          // It may only when every fulfillment is final (https://developer.squareup.com/reference/square/objects/Fulfillment)
          // and the order is fully paid (https://developer.squareup.com/reference/square/enums/OrderState).
          const completesOrder =
            next === "COMPLETED" &&
            (order.fulfillments ?? []).every(
              (f) => f === fulfillment || FINAL_FULFILLMENT_STATES.has(f.state ?? ""),
            ) &&
            (order.net_amount_due_money?.amount ?? 0) === 0;
          return {
            action: `fulfillment-${next.toLowerCase()}`,
            change: {
              ...(completesOrder ? { state: "COMPLETED" as const } : {}),
              fulfillments: [{ uid: fulfillment.uid, state: next }],
            },
            result: next === target ? "there" : "moved",
          };
        },
      );
      if (outcome === "untracked") return false;
      if (outcome === "there") return true;
    }
    return true;
  },

  async refreshSession(connection: PosConnection, options: PosCallOptions): Promise<PosSession> {
    const { clientId, clientSecret } = connection.credentials;
    const refreshToken = connection.session?.refreshToken || connection.credentials.refreshToken;
    if (!clientId || !clientSecret || !refreshToken) {
      throw new PosError(
        "permanent",
        "refresh_unavailable",
        "Square refresh needs clientId, clientSecret and a refresh token: reconnect the POS",
      );
    }
    // ObtainToken with grant_type refresh_token; the code flow returns the same refresh token.
    const token = await obtainToken(
      connection.baseUrl,
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_type: "refresh_token",
        refresh_token: refreshToken,
      },
      options,
      { code: "refresh_failed", what: "the refresh" },
    );
    return {
      accessToken: token.access_token,
      expiresAt: isoOrNull(token.expires_at),
      refreshToken: token.refresh_token ?? refreshToken,
    };
  },

  verifyWebhook(request: WebhookRequest, secret: string): Promise<boolean> {
    return verifySquareSignature(request, secret);
  },

  async readCatalog(connection: PosConnection, options: PosCallOptions): Promise<PosCatalog> {
    const objects = await listSquareCatalog(connection, options);
    return toPosCatalog(objects, connection.locationId, options.now?.() ?? new Date());
  },

  parseMenuSignals(request: WebhookRequest): PosMenuSignal[] {
    return squareMenuSignals(request.rawBody);
  },

  parseWebhook(request: WebhookRequest): PosStatusReport[] {
    const {
      type,
      event_id: eventId,
      created_at: createdAt,
      data,
    } = parseWebhookBody(webhookEventSchema, request.rawBody, "a Square webhook event");
    const objectKey = ORDER_EVENT_OBJECT_KEYS[type];
    // Payments, customers and the rest are not order progress.
    if (!objectKey) return [];
    const parsed = orderEventObjectSchema.safeParse(data?.object?.[objectKey]);
    if (!parsed.success) {
      throw new PosError("permanent", "invalid_webhook", `Square ${type} without its order`, {
        vendorMessage: z.prettifyError(parsed.error).slice(0, 500),
      });
    }
    const object = parsed.data;
    const orderState = object.state ?? null;
    // The last update is the newest; Orderlane orders have one fulfillment.
    const fulfillmentState = object.fulfillment_update?.at(-1)?.new_state ?? null;
    return [
      {
        eventId,
        posOrderId: object.order_id,
        // Square's order events do not echo reference_id; the caller looks the order up by posOrderId.
        orderId: null,
        vendorStatus: vendorStatusOf(orderState, fulfillmentState),
        status: mapSquareStatus(orderState, fulfillmentState),
        occurredAt: isoOrNull(object.updated_at) ?? isoOrNull(createdAt),
      },
    ];
  },
};
