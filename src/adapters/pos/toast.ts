import { z } from "zod";
import type { OrderStatus } from "../../domain/order-status";
import { parseVendorAnswer, parseWebhookBody, readJson, vendorFetch } from "./http";
import {
  type CreatedPosOrder,
  type PosAdapter,
  type PosCallOptions,
  type PosConnection,
  type PosDraftProblem,
  PosError,
  type PosLocationInfo,
  type PosOrder,
  type PosOrderLine,
  type PosSession,
  type PosStatusReport,
  type WebhookRequest,
} from "./types";

/*
 * Toast POS adapter.
 *
 * Connection settings beyond the client credentials live in
 * `connection.credentials` too, because `PosConnection` has no other place for
 * vendor configuration:
 * - `diningOptionPickup`, `diningOptionDelivery`, `diningOptionDineIn`: the
 *   restaurant's dining option GUIDs (Toast requires one on every order);
 * - `otherPaymentGuid` (optional): an "Other" payment type configured by the
 *   restaurant; when set, the order carries a payment for what the customer
 *   already paid online, so staff do not collect it again.
 *
 * Menu references: Toast needs both the menu group and the item GUID on every
 * selection, and both the modifier group and the modifier GUID on every
 * modifier, so `posItemId` is `"<menu group GUID>/<menu item GUID>"` and
 * `posModifierId` is `"<modifier group GUID>/<modifier GUID>"`.
 */

const EXTERNAL_ID_PREFIX = "orderlane:";
const encoder = new TextEncoder();

// Toast orders API, ExternalReference: "External identifier string that is prefixed by the naming authority": https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/ExternalReference
/** The `externalId` Toast stores for our order. */
export function toastExternalId(orderId: string): string {
  return `${EXTERNAL_ID_PREFIX}${orderId}`;
}

// ---------------------------------------------------------------- wire shapes

const toastSelection = z.object({
  guid: z.string().nullish(),
  fulfillmentStatus: z.string().nullish(),
  voided: z.boolean().nullish(),
});

/** The parts of a Toast `Order` this adapter reads. */
const toastOrder = z.object({
  guid: z.string().min(1),
  externalId: z.string().nullish(),
  approvalStatus: z.string().nullish(),
  guestOrderStatus: z.string().nullish(),
  voided: z.boolean().nullish(),
  deleted: z.boolean().nullish(),
  deliveryInfo: z.object({ deliveryState: z.string().nullish() }).nullish(),
  checks: z
    .array(
      z.object({
        voided: z.boolean().nullish(),
        selections: z.array(toastSelection).nullish(),
      }),
    )
    .nullish(),
});
type ToastOrder = z.infer<typeof toastOrder>;

// Toast orders API, POST /orders: the example answers with the Order itself while the schema names an
// `OrderResponse` wrapper `{ orders: [Order] }`; both are accepted: https://doc.toasttab.com/openapi/orders/operation/ordersPost
const toastPostOrderResponse = z.union([
  toastOrder,
  z.object({ orders: z.tuple([toastOrder], toastOrder) }).transform((r) => r.orders[0]),
]);

// Toast authentication API, POST /authentication/login answer: https://doc.toasttab.com/openapi/authentication/operation/authenticationLoginPost
const toastLoginResponse = z.object({
  token: z.object({
    accessToken: z.string().min(1),
    expiresIn: z.number().int().positive(),
    tokenType: z.string().nullish(),
  }),
});

// Toast orders webhook message: `{ timestamp, eventCategory, eventType, guid, details }`, the Order in `details.order`:
// https://doc.toasttab.com/doc/devguide/devOrdersWebhookRef.html
const toastWebhookMessage = z.object({
  timestamp: z.string(),
  eventCategory: z.string(),
  eventType: z.string(),
  guid: z.string().min(1),
  details: z.unknown(),
});
const toastOrderWebhookDetails = z.object({
  restaurantGuid: z.string().nullish(),
  order: toastOrder,
});

// ------------------------------------------------------------------- mapping

// Toast orders API, POST /orders (Order, Check, Selection, Customer, Payment, DeliveryInfo): https://doc.toasttab.com/openapi/orders/operation/ordersPost
/**
 * Our order as the body of Toast's `POST /orders/v2/orders`. Throws a
 * `permanent` `PosError` before any network call when something cannot be
 * sent: an item or modifier without a Toast id, a missing dining option.
 */
export function buildToastOrderRequest(
  connection: PosConnection,
  order: PosOrder,
): Record<string, unknown> {
  const customer = connection.syncCustomerInfo ? order.customer : null;
  const selections = order.lines.map((line) => toastSelectionFor(line));
  if (order.specialInstructions && selections[0]) {
    // The Order and Check objects have no free-text note the kitchen sees;
    // a special request on the first selection does reach the KDS.
    appendSpecialRequest(selections[0], `Order note: ${order.specialInstructions}`);
  }

  const check: Record<string, unknown> = {
    displayNumber: String(order.number),
    tabName: `Orderlane #${order.number}`,
    selections,
  };
  if (customer) check.customer = toastCustomer(customer);
  const otherPaymentGuid = connection.credentials.otherPaymentGuid;
  if (otherPaymentGuid) {
    check.payments = [
      {
        type: "OTHER",
        otherPayment: { guid: otherPaymentGuid },
        amount: toDecimalAmount(order.total - order.tip, order.currency),
        tipAmount: toDecimalAmount(order.tip, order.currency),
      },
    ];
  }

  const body: Record<string, unknown> = {
    externalId: toastExternalId(order.orderId),
    diningOption: { guid: diningOptionGuid(connection, order) },
    checks: [check],
  };
  if (order.scheduledFor) body.promisedDate = toToastDate(order.scheduledFor);
  if (order.orderType === "delivery" && order.deliveryAddress) {
    const address = order.deliveryAddress;
    body.deliveryInfo = {
      address1: address.line1,
      ...(address.line2 ? { address2: address.line2 } : {}),
      city: address.city,
      state: address.region ?? "",
      zipCode: address.postalCode,
    };
  }
  return body;
}

type ToastSelectionBody = Record<string, unknown> & { modifiers: Record<string, unknown>[] };

function toastSelectionFor(line: PosOrderLine): ToastSelectionBody {
  const ids = splitToastId(line.posItemId);
  if (!ids) {
    throw new PosError(
      "permanent",
      "unmapped_item",
      line.posItemId
        ? `${line.name} has a Toast item id that is not "<menu group GUID>/<menu item GUID>"`
        : `${line.name} has no Toast item id`,
    );
  }
  const modifiers: Record<string, unknown>[] = line.modifiers.map((modifier) => {
    const modifierIds = splitToastId(modifier.posModifierId);
    if (!modifierIds) {
      throw new PosError(
        "permanent",
        "unmapped_item",
        modifier.posModifierId
          ? `${modifier.name} (on ${line.name}) has a Toast modifier id that is not "<modifier group GUID>/<modifier GUID>"`
          : `${modifier.name} (on ${line.name}) has no Toast modifier id`,
      );
    }
    // Toast: "The quantity must match the quantity of the menu item selection":
    // https://doc.toasttab.com/doc/devguide/apiSpecifyingModifiersAndInstructions.html
    return {
      optionGroup: { guid: modifierIds.group },
      item: { guid: modifierIds.item },
      quantity: line.quantity,
    };
  });
  const selection: ToastSelectionBody = {
    itemGroup: { guid: ids.group },
    item: { guid: ids.item },
    quantity: line.quantity,
    modifiers,
  };
  if (line.specialInstructions) appendSpecialRequest(selection, line.specialInstructions);
  return selection;
}

// Toast special requests: a modifier with `selectionType: "SPECIAL_REQUEST"` and the text in `displayName`:
// https://doc.toasttab.com/doc/devguide/apiSpecifyingModifiersAndInstructions.html
function appendSpecialRequest(selection: ToastSelectionBody, text: string): void {
  selection.modifiers.push({ selectionType: "SPECIAL_REQUEST", displayName: text });
}

function splitToastId(id: string | null): { group: string; item: string } | null {
  if (!id) return null;
  const parts = id.split("/");
  if (parts.length !== 2) return null;
  const [group, item] = parts;
  if (!group || !item) return null;
  return { group: group.trim(), item: item.trim() };
}

function toastCustomer(customer: NonNullable<PosOrder["customer"]>): Record<string, unknown> {
  const [firstName = "", ...rest] = customer.name.trim().split(/\s+/);
  return {
    firstName,
    lastName: rest.join(" "),
    ...(customer.phone ? { phone: customer.phone } : {}),
    ...(customer.email ? { email: customer.email } : {}),
  };
}

const DINING_OPTION_KEY = {
  pickup: "diningOptionPickup",
  delivery: "diningOptionDelivery",
  dine_in: "diningOptionDineIn",
} as const;

function diningOptionGuid(connection: PosConnection, order: PosOrder): string {
  const key = DINING_OPTION_KEY[order.orderType];
  const guid = connection.credentials[key];
  if (!guid) {
    throw new PosError(
      "permanent",
      "missing_dining_option",
      `the Toast connection has no dining option GUID for ${order.orderType} orders (setting ${key})`,
    );
  }
  return guid;
}

/**
 * An amount in minor units as the decimal number Toast expects (1250 → 12.5),
 * built from the integer digits so no binary fraction error creeps in.
 */
export function toDecimalAmount(minor: number, currency: string): number {
  if (!Number.isSafeInteger(minor)) {
    throw new PosError("permanent", "invalid_amount", `amount ${minor} is not an integer`);
  }
  const digits = currencyDigits(currency);
  if (digits === 0) return minor;
  const scale = 10 ** digits;
  const abs = Math.abs(minor);
  const fraction = abs % scale;
  const whole = (abs - fraction) / scale;
  const sign = minor < 0 ? "-" : "";
  return Number(`${sign}${whole}.${String(fraction).padStart(digits, "0")}`);
}

function currencyDigits(currency: string): number {
  try {
    return (
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
        .maximumFractionDigits ?? 2
    );
  } catch {
    throw new PosError("permanent", "invalid_currency", `unknown currency ${currency}`);
  }
}

// Toast dates: ISO-8601 with a numeric offset, e.g. 2021-07-30T11:57:46.235+0000:
// https://doc.toasttab.com/openapi/orders/operation/ordersPost
function toToastDate(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) {
    throw new PosError("permanent", "invalid_date", `${iso} is not a date`);
  }
  return at.toISOString().replace("Z", "+0000");
}

/** A Toast date (`…+0000` or `…Z`) as an ISO string, or null. */
function fromToastDate(value: string | null | undefined): string | null {
  if (!value) return null;
  const at = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}

// Toast Order.approvalStatus, Selection.fulfillmentStatus, DeliveryInfo.deliveryState: https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Order
// Toast guest order statuses RECEIVED, IN_PREPARATION, READY_FOR_PICKUP, CLOSED, VOIDED: https://doc.toasttab.com/doc/devguide/apiGuestOrderFulfillmentStatusWebhook.html
/**
 * What a Toast order's state means for us. Toast has no single status:
 * `voided`, `approvalStatus`, the guest order status, the delivery state and
 * the items' kitchen `fulfillmentStatus` each say part of it.
 */
export function mapToastOrderStatus(order: ToastOrder): {
  vendorStatus: string;
  status: OrderStatus | null;
} {
  if (order.voided) return { vendorStatus: "VOIDED", status: "cancelled" };
  // A deleted order is usually one whose check was combined into another order:
  // not a cancellation, and nothing we can follow.
  if (order.deleted) return { vendorStatus: "DELETED", status: null };

  const guest = order.guestOrderStatus?.toUpperCase();
  const guestStatus = guest ? GUEST_STATUS.get(guest) : undefined;
  if (guest && guestStatus) return { vendorStatus: guest, status: guestStatus };

  const delivery = order.deliveryInfo?.deliveryState?.toUpperCase();
  if (delivery === "DELIVERED") return { vendorStatus: delivery, status: "completed" };
  if (delivery === "PICKED_UP") return { vendorStatus: delivery, status: "out_for_delivery" };

  const approval = order.approvalStatus?.toUpperCase() ?? "UNKNOWN";
  if (approval === "NOT_APPROVED") return { vendorStatus: approval, status: "cancelled" };
  if (approval !== "APPROVED") return { vendorStatus: approval, status: null };

  const kitchen = (order.checks ?? [])
    .filter((check) => !check.voided)
    .flatMap((check) => check.selections ?? [])
    .filter((selection) => !selection.voided)
    .map((selection) => selection.fulfillmentStatus?.toUpperCase() ?? "NEW");
  if (kitchen.length > 0 && kitchen.every((s) => s === "READY")) {
    return { vendorStatus: "APPROVED:READY", status: "ready" };
  }
  if (kitchen.some((s) => s === "SENT" || s === "READY")) {
    return { vendorStatus: "APPROVED:SENT", status: "preparing" };
  }
  return { vendorStatus: "APPROVED:NEW", status: "confirmed" };
}

const GUEST_STATUS = new Map<string, OrderStatus>([
  ["RECEIVED", "confirmed"],
  ["IN_PREPARATION", "preparing"],
  ["READY_FOR_PICKUP", "ready"],
  ["CLOSED", "completed"],
  ["VOIDED", "cancelled"],
]);

// ------------------------------------------------------------------- calls

function ordersUrl(connection: PosConnection, path = ""): string {
  return `${connection.baseUrl.replace(/\/+$/, "")}/orders/v2/orders${path}`;
}

// Toast orders API requests carry `Authorization: Bearer` and the restaurant GUID in `Toast-Restaurant-External-ID`:
// https://doc.toasttab.com/doc/devguide/apiOrdersGetDetailedInfoAboutOneOrder.html
function orderHeaders(connection: PosConnection): Record<string, string> {
  const token = connection.session?.accessToken;
  if (!token) {
    throw new PosError("auth", "no_session", "no Toast session yet: log in first");
  }
  return {
    authorization: `Bearer ${token}`,
    "toast-restaurant-external-id": connection.locationId,
    accept: "application/json",
  };
}

/** A 2xx Toast answer in its documented shape, or a `bad_response` (retryable). */
function parseAnswer<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  return parseVendorAnswer(schema, data, { vendor: "Toast", what, kind: "retryable" });
}

// Toast: "You can use the orders API to set an externalId for an order and then GET the order with that externalId":
// https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/ExternalReference
/** The Toast order carrying our reference, or null when there is none. */
async function findByExternalId(
  connection: PosConnection,
  externalId: string,
  options: PosCallOptions,
): Promise<ToastOrder | null> {
  try {
    const response = await vendorFetch(
      ordersUrl(connection, `/${encodeURIComponent(externalId)}`),
      { method: "GET", headers: orderHeaders(connection) },
      options,
    );
    return parseAnswer(toastOrder, await readJson(response), "order lookup");
  } catch (err) {
    if (err instanceof PosError && err.details.status === 404) return null;
    throw err;
  }
}

/**
 * Toast: orders by client-credentials session, exactly once per order through
 * the order's `externalId` (looked up before every create, because a create
 * that timed out may still have gone through).
 */
export const toastAdapter: PosAdapter = {
  provider: "toast",

  async createOrder(connection, order, options): Promise<CreatedPosOrder> {
    const body = buildToastOrderRequest(connection, order);
    const externalId = toastExternalId(order.orderId);
    const existing = await findByExternalId(connection, externalId, options);
    if (existing) return { posOrderId: existing.guid, alreadyExisted: true };

    try {
      // Toast orders API, POST /orders/v2/orders: https://doc.toasttab.com/openapi/orders/operation/ordersPost
      const response = await vendorFetch(
        ordersUrl(connection),
        {
          method: "POST",
          headers: { ...orderHeaders(connection), "content-type": "application/json" },
          body: JSON.stringify(body),
        },
        options,
      );
      const created = parseAnswer(toastPostOrderResponse, await readJson(response), "order");
      return { posOrderId: created.guid, alreadyExisted: false };
    } catch (err) {
      // Toast refuses a second order with an `externalId` it already holds, so
      // a refusal may only mean a concurrent attempt won: look once more.
      if (err instanceof PosError && err.kind === "permanent") {
        const raced = await findByExternalId(connection, externalId, options).catch(() => null);
        if (raced) return { posOrderId: raced.guid, alreadyExisted: true };
      }
      throw err;
    }
  },

  async getOrderStatus(connection, posOrderId, options) {
    // Toast orders API, GET /orders/v2/orders/{guid}: https://doc.toasttab.com/openapi/orders/operation/ordersGuidGet
    const response = await vendorFetch(
      ordersUrl(connection, `/${encodeURIComponent(posOrderId)}`),
      { method: "GET", headers: orderHeaders(connection) },
      options,
    );
    return mapToastOrderStatus(parseAnswer(toastOrder, await readJson(response), "order"));
  },

  async checkConnection(): Promise<PosLocationInfo> {
    // Not yet asked of the vendor: connect stores what the owner typed (issue 12 adds the call).
    throw new PosError("permanent", "not_supported", "checking the connection is not built yet");
  },

  draftProblems(): PosDraftProblem[] {
    return [];
  },

  async cancelOrder(): Promise<boolean> {
    // Not pushed yet: staff void it in the POS (pos_void_needed).
    return false;
  },

  async updateFulfillment(): Promise<boolean> {
    return false;
  },

  async refreshSession(connection, options): Promise<PosSession> {
    const { clientId, clientSecret } = connection.credentials;
    if (!clientId || !clientSecret) {
      throw new PosError(
        "permanent",
        "refresh_failed",
        "the Toast connection has no client credentials",
      );
    }
    let response: Response;
    try {
      // Toast authentication API, POST /authentication/v1/authentication/login with TOAST_MACHINE_CLIENT:
      // https://doc.toasttab.com/openapi/authentication/operation/authenticationLoginPost
      response = await vendorFetch(
        `${connection.baseUrl.replace(/\/+$/, "")}/authentication/v1/authentication/login`,
        {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ clientId, clientSecret, userAccessType: "TOAST_MACHINE_CLIENT" }),
        },
        options,
      );
    } catch (err) {
      // Refused credentials will not get better by retrying the same call.
      if (err instanceof PosError && (err.kind === "auth" || err.kind === "permanent")) {
        throw new PosError("permanent", "refresh_failed", "Toast refused the client credentials", {
          ...err.details,
        });
      }
      throw err;
    }
    const { token } = parseAnswer(toastLoginResponse, await readJson(response), "login answer");
    const now = options.now?.() ?? new Date();
    return {
      accessToken: token.accessToken,
      expiresAt: new Date(now.getTime() + token.expiresIn * 1000).toISOString(),
      refreshToken: null,
    };
  },

  // Toast message signing: Base64(HMAC-SHA256(secret, body + timestamp)) in `Toast-Signature`; the
  // timestamp is the message's own `timestamp` field: https://doc.toasttab.com/doc/devguide/apiMessageSigning.html
  async verifyWebhook(request: WebhookRequest, secret: string): Promise<boolean> {
    const signature = request.headers["toast-signature"];
    if (!signature || !secret) return false;
    const timestamp = webhookTimestamp(request.rawBody);
    if (timestamp === null) return false;
    const expected = decodeBase64(signature.trim());
    if (!expected) return false;
    const key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    // `verify` compares in constant time, unlike comparing the Base64 strings.
    return crypto.subtle.verify("HMAC", key, expected, encoder.encode(request.rawBody + timestamp));
  },

  parseWebhook(request: WebhookRequest): PosStatusReport[] {
    const { eventType, guid, timestamp, details } = parseWebhookBody(
      toastWebhookMessage,
      request.rawBody,
      "a Toast webhook message",
    );
    if (eventType !== "order_updated" && eventType !== "channel_order_updated") return [];
    const parsed = toastOrderWebhookDetails.safeParse(details);
    if (!parsed.success) {
      throw new PosError("permanent", "invalid_webhook", "Toast order_updated without an order", {
        vendorMessage: z.prettifyError(parsed.error).slice(0, 500),
      });
    }
    const order = parsed.data.order;
    const { vendorStatus, status } = mapToastOrderStatus(order);
    const externalId = order.externalId ?? "";
    return [
      {
        eventId: guid,
        posOrderId: order.guid,
        orderId: externalId.startsWith(EXTERNAL_ID_PREFIX)
          ? externalId.slice(EXTERNAL_ID_PREFIX.length)
          : null,
        vendorStatus,
        status,
        occurredAt: fromToastDate(timestamp),
      },
    ];
  },
};

function parseJsonBody(rawBody: string): unknown {
  try {
    return JSON.parse(rawBody) as unknown;
  } catch {
    return undefined;
  }
}

function webhookTimestamp(rawBody: string): string | null {
  const parsed = z.object({ timestamp: z.string() }).safeParse(parseJsonBody(rawBody));
  return parsed.success ? parsed.data.timestamp : null;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    const binary = atob(text);
    const out = new Uint8Array(new ArrayBuffer(binary.length));
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}
