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
 * Clover POS adapter.
 *
 * Clover has no idempotency key, so our order id goes into the order's
 * `title` (a field the create endpoint accepts and the order list can be
 * filtered on) and every create first searches for it.
 *
 * Optional settings in `connection.credentials` (there is no other place for
 * vendor configuration in `PosConnection`): `orderTypePickup`,
 * `orderTypeDelivery`, `orderTypeDineIn`, the merchant's order type ids.
 *
 * Amounts: Clover takes integer cents, our minor units as they are.
 */

const encoder = new TextEncoder();

// ---------------------------------------------------------------- wire shapes

// Clover Order: `state` (null, "open", "locked") and `paymentState` (OPEN, PAID, REFUNDED, CREDITED,
// PARTIALLY_PAID, PARTIALLY_REFUNDED): https://docs.clover.com/reference/orderupdateorder-3
const cloverOrder = z.object({
  id: z.string().min(1),
  title: z.string().nullish(),
  state: z.string().nullish(),
  paymentState: z.string().nullish(),
  deletedTime: z.number().nullish(),
});
type CloverOrder = z.infer<typeof cloverOrder>;

const cloverOrderList = z.object({ elements: z.array(cloverOrder) });

// Clover OAuth, POST /oauth/v2/refresh answer; expirations are Unix seconds:
// https://docs.clover.com/docs/refresh-access-tokens
const cloverRefreshResponse = z.object({
  access_token: z.string().min(1),
  access_token_expiration: z.number().int().positive(),
  refresh_token: z.string().min(1),
  refresh_token_expiration: z.number().int().positive().nullish(),
});

// Clover webhook message: `{ appId, merchants: { [mId]: [{ objectId, type, ts }] } }`, objectId "O:<id>" for orders:
// https://docs.clover.com/docs/webhooks
const cloverWebhookMessage = z.object({
  appId: z.string(),
  merchants: z.record(
    z.string(),
    z.array(
      z.object({
        objectId: z.string().min(1),
        type: z.string(),
        ts: z.number(),
      }),
    ),
  ),
});

// ------------------------------------------------------------------- mapping

/** The `title` Clover stores for our order, which the lookup filters on. */
export function cloverOrderTitle(orderId: string): string {
  return orderId;
}

// Clover atomic orders, POST /v3/merchants/{mId}/atomic_order/orders with `orderCart`: https://docs.clover.com/dev/docs/create-an-atomic-order
/**
 * Our order as the body of Clover's atomic order create. Lines whose item and
 * modifiers all have Clover ids reference the inventory; any other line goes
 * as a custom line item by name and price, which Clover accepts.
 */
export function buildCloverOrderRequest(
  connection: PosConnection,
  order: PosOrder,
): { orderCart: Record<string, unknown> } {
  assertCents(order.total, "total");
  const lineItems = order.lines.flatMap((line) => cloverLineItems(line));
  const orderCart: Record<string, unknown> = {
    title: cloverOrderTitle(order.orderId),
    note: cloverNote(connection, order),
    lineItems,
    // One line item per unit (see cloverLineItems); grouping shows them as
    // "2 × Burger" on the register again.
    groupLineItems: true,
  };
  const orderTypeId = connection.credentials[ORDER_TYPE_KEY[order.orderType]];
  if (orderTypeId) orderCart.orderType = { id: orderTypeId };
  if (order.discount > 0) {
    assertCents(order.discount, "discount");
    // Clover discounts are negative amounts in cents.
    orderCart.discounts = [{ name: "Online discount", amount: -order.discount }];
  }
  return { orderCart };
}

const ORDER_TYPE_KEY = {
  pickup: "orderTypePickup",
  delivery: "orderTypeDelivery",
  dine_in: "orderTypeDineIn",
} as const;

function cloverLineItems(line: PosOrderLine): Record<string, unknown>[] {
  assertCents(line.unitPrice, `price of ${line.name}`);
  const allMapped =
    line.posItemId !== null && line.modifiers.every((modifier) => modifier.posModifierId !== null);
  const base: Record<string, unknown> = allMapped
    ? {
        // Clover prices inventory lines itself, from its own inventory.
        item: { id: line.posItemId },
        ...(line.modifiers.length > 0
          ? {
              modifications: line.modifiers.map((modifier) => ({
                modifier: { id: modifier.posModifierId },
              })),
            }
          : {}),
      }
    : {
        // Clover ignores a modification without a modifier id, so a modifier
        // it does not know can only travel in the line's own name and price.
        name:
          line.modifiers.length > 0
            ? `${line.name} (${line.modifiers.map((modifier) => modifier.name).join(", ")})`
            : line.name,
        price: line.unitPrice,
      };
  if (line.specialInstructions) base.note = line.specialInstructions;
  // A Clover line item is one unit (`unitQty` is for goods sold by weight or
  // measure), so a quantity is that many line items.
  return Array.from({ length: line.quantity }, () => ({ ...base }));
}

function cloverNote(connection: PosConnection, order: PosOrder): string {
  const parts = [`Orderlane #${order.number} (${order.orderType.replace("_", "-")})`];
  if (order.scheduledFor) parts.push(`Scheduled for ${order.scheduledFor}`);
  const customer = connection.syncCustomerInfo ? order.customer : null;
  if (customer) {
    parts.push(
      `Customer: ${[customer.name, customer.phone, customer.email].filter(Boolean).join(", ")}`,
    );
  }
  if (order.orderType === "delivery" && order.deliveryAddress) {
    const a = order.deliveryAddress;
    parts.push(
      `Deliver to: ${[a.line1, a.line2, a.postalCode, a.city, a.region, a.country].filter(Boolean).join(", ")}`,
    );
  }
  if (order.specialInstructions) parts.push(`Note: ${order.specialInstructions}`);
  return parts.join("\n");
}

function assertCents(amount: number, what: string): void {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new PosError(
      "permanent",
      "invalid_amount",
      `${what} ${amount} is not a whole number of cents`,
    );
  }
}

// Clover Order `state` and `paymentState`: https://docs.clover.com/reference/orderupdateorder-3
/**
 * What a Clover order's state means for us. Clover orders have no kitchen
 * states, only payment ones: a refunded or deleted order is cancelled, one
 * settled at the register has been handed over; anything else is no news.
 */
export function mapCloverOrderStatus(
  order: Pick<CloverOrder, "state" | "paymentState" | "deletedTime">,
): {
  vendorStatus: string;
  status: OrderStatus | null;
} {
  if (order.deletedTime) return { vendorStatus: "DELETED", status: "cancelled" };
  const payment = order.paymentState?.toUpperCase();
  if (payment === "REFUNDED" || payment === "CREDITED") {
    return { vendorStatus: payment, status: "cancelled" };
  }
  if (payment === "PAID") return { vendorStatus: payment, status: "completed" };
  return { vendorStatus: payment ?? order.state?.toUpperCase() ?? "OPEN", status: null };
}

/** What a webhook's event type alone says: only a deletion is news without fetching the order. */
export function mapCloverWebhookType(type: string): OrderStatus | null {
  return type === "DELETE" ? "cancelled" : null;
}

// ------------------------------------------------------------------- calls

function merchantUrl(connection: PosConnection, path: string): string {
  return `${connection.baseUrl.replace(/\/+$/, "")}/v3/merchants/${encodeURIComponent(connection.locationId)}${path}`;
}

function authHeaders(connection: PosConnection): Record<string, string> {
  const token = connection.session?.accessToken ?? connection.credentials.accessToken;
  if (!token) throw new PosError("auth", "no_session", "no Clover access token yet");
  return { authorization: `Bearer ${token}`, accept: "application/json" };
}

/** A 2xx Clover answer in its documented shape, or a `bad_response` (retryable). */
function parseAnswer<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  return parseVendorAnswer(schema, data, { vendor: "Clover", what, kind: "retryable" });
}

// Clover orders list, GET /v3/merchants/{mId}/orders?filter=title=…; `title` and `externalReferenceId` are
// filter fields (searches on them cover the last 90 days): https://docs.clover.com/changelog/clover-api-updates-may-2023
async function findByTitle(
  connection: PosConnection,
  title: string,
  options: PosCallOptions,
): Promise<CloverOrder | null> {
  const query = new URLSearchParams({ filter: `title=${title}`, limit: "2" });
  const response = await vendorFetch(
    merchantUrl(connection, `/orders?${query}`),
    { method: "GET", headers: authHeaders(connection) },
    options,
  );
  const { elements } = parseAnswer(cloverOrderList, await readJson(response), "order list");
  return elements.find((order) => order.title === title && !order.deletedTime) ?? null;
}

/**
 * Clover: OAuth v2 access tokens, orders by atomic order create, exactly once
 * through a lookup by our reference in `title` before every create.
 */
export const cloverAdapter: PosAdapter = {
  provider: "clover",

  async createOrder(connection, order, options): Promise<CreatedPosOrder> {
    const body = buildCloverOrderRequest(connection, order);
    const title = cloverOrderTitle(order.orderId);
    const existing = await findByTitle(connection, title, options);
    if (existing) return { posOrderId: existing.id, alreadyExisted: true };
    // Clover atomic orders, POST /v3/merchants/{mId}/atomic_order/orders: https://docs.clover.com/reference/orders-1
    const response = await vendorFetch(
      merchantUrl(connection, "/atomic_order/orders"),
      {
        method: "POST",
        headers: { ...authHeaders(connection), "content-type": "application/json" },
        body: JSON.stringify(body),
      },
      options,
    );
    const created = parseAnswer(cloverOrder, await readJson(response), "order");
    return { posOrderId: created.id, alreadyExisted: false };
  },

  async getOrderStatus(connection, posOrderId, options) {
    try {
      // Clover orders, GET /v3/merchants/{mId}/orders/{orderId}: https://docs.clover.com/reference/orderupdateorder-3
      const response = await vendorFetch(
        merchantUrl(connection, `/orders/${encodeURIComponent(posOrderId)}`),
        { method: "GET", headers: authHeaders(connection) },
        options,
      );
      return mapCloverOrderStatus(parseAnswer(cloverOrder, await readJson(response), "order"));
    } catch (err) {
      // The id came from Clover itself, so "not found" means staff deleted it.
      if (err instanceof PosError && err.details.status === 404) {
        return { vendorStatus: "DELETED", status: "cancelled" };
      }
      throw err;
    }
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
    const clientId = connection.credentials.clientId;
    // Refresh tokens are single use and rotated: the session's is the live one.
    const refreshToken = connection.session?.refreshToken ?? connection.credentials.refreshToken;
    if (!clientId || !refreshToken) {
      throw new PosError(
        "permanent",
        "refresh_failed",
        "the Clover connection has no refresh token",
      );
    }
    let response: Response;
    try {
      // Clover OAuth, POST /oauth/v2/refresh with { client_id, refresh_token }: https://docs.clover.com/docs/refresh-access-tokens
      response = await vendorFetch(
        `${connection.baseUrl.replace(/\/+$/, "")}/oauth/v2/refresh`,
        {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ client_id: clientId, refresh_token: refreshToken }),
        },
        options,
      );
    } catch (err) {
      // A refused refresh token stays refused: the merchant must reconnect.
      if (err instanceof PosError && (err.kind === "auth" || err.kind === "permanent")) {
        throw new PosError("permanent", "refresh_failed", "Clover refused the refresh token", {
          ...err.details,
        });
      }
      throw err;
    }
    const answer = parseAnswer(cloverRefreshResponse, await readJson(response), "refresh answer");
    return {
      accessToken: answer.access_token,
      expiresAt: new Date(answer.access_token_expiration * 1000).toISOString(),
      refreshToken: answer.refresh_token,
    };
  },

  // Clover sends the app's auth code in `X-Clover-Auth` on every webhook message; Clover webhooks carry no
  // body signature: https://docs.clover.com/docs/webhooks
  async verifyWebhook(request: WebhookRequest, secret: string): Promise<boolean> {
    const code = request.headers["x-clover-auth"];
    if (!code || !secret) return false;
    return constantTimeEqual(code, secret);
  },

  parseWebhook(request: WebhookRequest): PosStatusReport[] {
    const message = parseWebhookBody(
      cloverWebhookMessage,
      request.rawBody,
      "a Clover webhook message",
    );
    const reports: PosStatusReport[] = [];
    for (const [merchantId, updates] of Object.entries(message.merchants)) {
      for (const update of updates) {
        // "O:" marks an order; payments, items and the rest are not ours to follow.
        if (!update.objectId.startsWith("O:")) continue;
        const posOrderId = update.objectId.slice(2);
        const at = new Date(update.ts);
        reports.push({
          // Clover events have no id of their own; this tuple is what makes one unique.
          eventId: `${merchantId}:${update.objectId}:${update.type}:${update.ts}`,
          posOrderId,
          orderId: null,
          vendorStatus: update.type,
          status: mapCloverWebhookType(update.type),
          occurredAt: Number.isNaN(at.getTime()) ? null : at.toISOString(),
        });
      }
    }
    return reports;
  },
};

/** Compares two strings in time that does not depend on where they differ (Web Crypto, Workers and Node). */
async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  // HMAC both under a throwaway key and let `verify` compare the MACs: it is
  // constant time in both runtimes, and equal MACs mean equal strings.
  const key = await crypto.subtle.importKey(
    "raw",
    crypto.getRandomValues(new Uint8Array(32)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(a));
  return crypto.subtle.verify("HMAC", key, mac, encoder.encode(b));
}
