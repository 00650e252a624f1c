// @ts-check
// The Clover part of the POS double: the OAuth refresh and orders endpoints
// the Clover adapter uses, in Clover's wire format, under the double's
// /clover prefix (so `/clover/v3/merchants/M1/orders` stands for Clover's
// `/v3/merchants/M1/orders`).
//
// - POST /oauth/v2/refresh { client_id, refresh_token } → a new token pair; refresh tokens are single use
//   Clover OAuth: https://docs.clover.com/docs/refresh-access-tokens
// - POST /v3/merchants/{mId}/atomic_order/orders { orderCart }   create (faults apply here)
//   Clover atomic orders: https://docs.clover.com/dev/docs/create-an-atomic-order
// - GET  /v3/merchants/{mId}/orders?filter=title=…               list, filtered on title, externalReferenceId, note, state
// - GET  /v3/merchants/{mId}/orders/{orderId}                    one order
//
// Access tokens: those the double issued by refresh, plus any a test adds
// with `addAccessToken` (Clover's dashboard "test API token"). Any refresh
// token that was not used yet is accepted, so a fresh connection can always
// obtain its first pair; a used one is refused with 401.
import { randomUUID } from "node:crypto";
import { applyCommonFault } from "./server.mjs";

/** @typedef {import("./server.mjs").VendorModule} VendorModule */
/** @typedef {import("./server.mjs").VendorContext} VendorContext */
/** @typedef {{ access: Set<string>, usedRefresh: Set<string>, issued: number }} TokenState */

const ORDERS = /^\/v3\/merchants\/([^/]+)\/orders$/;
const ORDER = /^\/v3\/merchants\/([^/]+)\/orders\/([^/]+)$/;
const ATOMIC = /^\/v3\/merchants\/([^/]+)\/atomic_order\/orders$/;
const FILTER_FIELDS = new Set(["title", "externalReferenceId", "note", "state", "id"]);

/** @type {VendorModule} */
const clover = {
  name: "clover",
  async handle(req, ctx) {
    if (req.method === "POST" && req.path === "/oauth/v2/refresh") return refresh(req.json, ctx);

    const atomic = ATOMIC.exec(req.path);
    if (req.method === "POST" && atomic?.[1]) return createOrder(atomic[1], req, ctx);

    const list = ORDERS.exec(req.path);
    if (req.method === "GET" && list?.[1]) {
      if (!authorized(req.headers, ctx)) return unauthorized(ctx);
      return listOrders(list[1], req.query, ctx);
    }

    const one = ORDER.exec(req.path);
    if (req.method === "GET" && one?.[1] && one[2]) {
      if (!authorized(req.headers, ctx)) return unauthorized(ctx);
      const order = ctx.orders.get(one[2]);
      if (!order || order.merchant?.id !== one[1]) return cloverError(ctx, 404, "Not Found");
      return ctx.reply(200, order);
    }
    return null;
  },
};
export default { ...clover, signWebhook };

/** @param {VendorContext["state"]} state @returns {TokenState} */
function tokens(state) {
  let t = /** @type {TokenState | undefined} */ (state.tokens);
  if (!t) {
    t = { access: new Set(), usedRefresh: new Set(), issued: 0 };
    state.tokens = t;
  }
  return t;
}

/**
 * Lets `token` call the API, as a merchant test token from Clover's dashboard does.
 * @param {Record<string, unknown>} state the double's Clover state (`double.state("clover")`)
 * @param {string} token
 */
export function addAccessToken(state, token) {
  tokens(state).access.add(token);
}

/** @param {any} body @param {VendorContext} ctx */
function refresh(body, ctx) {
  if (
    !body ||
    typeof body.client_id !== "string" ||
    typeof body.refresh_token !== "string" ||
    !body.client_id ||
    !body.refresh_token
  ) {
    return cloverError(ctx, 400, "client_id and refresh_token are required");
  }
  const t = tokens(ctx.state);
  if (t.usedRefresh.has(body.refresh_token)) {
    return cloverError(ctx, 401, "Invalid refresh token");
  }
  t.usedRefresh.add(body.refresh_token);
  t.issued += 1;
  const accessToken = `clover-access-${t.issued}-${randomUUID()}`;
  t.access.add(accessToken);
  const now = Math.floor(Date.now() / 1000);
  return ctx.reply(200, {
    access_token: accessToken,
    access_token_expiration: now + 1800,
    refresh_token: `clover-refresh-${t.issued}-${randomUUID()}`,
    refresh_token_expiration: now + 31_536_000,
  });
}

/** @param {Record<string, string>} headers @param {VendorContext} ctx */
function authorized(headers, ctx) {
  const auth = headers.authorization ?? "";
  const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  return token !== "" && tokens(ctx.state).access.has(token);
}

/** @param {VendorContext} ctx */
function unauthorized(ctx) {
  return cloverError(ctx, 401, "401 Unauthorized");
}

/**
 * @param {string} merchantId
 * @param {{ headers: Record<string, string>, json: any }} req
 * @param {VendorContext} ctx
 */
async function createOrder(merchantId, req, ctx) {
  const fault = ctx.takeFault();
  const common = await applyCommonFault(fault);
  if (common) return common;
  if (fault?.kind === "unauthorized_once") {
    // Every access token so far stops working: the client must refresh.
    tokens(ctx.state).access.clear();
    return unauthorized(ctx);
  }
  if (!authorized(req.headers, ctx)) return unauthorized(ctx);
  const problem = validateCart(req.json);
  if (problem) return cloverError(ctx, 400, problem);
  const order = storeOrder(ctx, merchantId, req.json.orderCart);
  if (fault?.kind === "accept_then_fail") {
    return cloverError(ctx, fault.status ?? 500, "Internal Server Error");
  }
  return ctx.reply(200, order);
}

/**
 * What is wrong with an atomic order body, or null.
 * @param {any} body
 * @returns {string | null}
 */
function validateCart(body) {
  const cart = body?.orderCart;
  if (!cart || typeof cart !== "object" || Array.isArray(cart)) return "orderCart is required";
  if (!Array.isArray(cart.lineItems) || cart.lineItems.length === 0) {
    return "orderCart.lineItems must not be empty";
  }
  for (const [i, line] of cart.lineItems.entries()) {
    const inventory = typeof line?.item?.id === "string" && line.item.id !== "";
    const custom =
      typeof line?.name === "string" && line.name !== "" && Number.isInteger(line.price);
    if (!inventory && !custom) {
      return `orderCart.lineItems[${i}] needs item.id, or a name and an integer price in cents`;
    }
    for (const [m, modification] of (line.modifications ?? []).entries()) {
      if (typeof modification?.modifier?.id !== "string") {
        return `orderCart.lineItems[${i}].modifications[${m}] needs modifier.id`;
      }
    }
  }
  for (const [d, discount] of (cart.discounts ?? []).entries()) {
    if (discount.amount !== undefined && !Number.isInteger(discount.amount)) {
      return `orderCart.discounts[${d}].amount must be an integer in cents`;
    }
  }
  if (cart.orderType !== undefined && typeof cart.orderType?.id !== "string") {
    return "orderCart.orderType needs an id";
  }
  return null;
}

/** A Clover-looking id: 13 upper-case letters and digits. */
function cloverId() {
  return randomUUID().replace(/-/g, "").slice(0, 13).toUpperCase();
}

/**
 * Stores the cart as the Order Clover would answer with.
 * @param {VendorContext} ctx @param {string} merchantId @param {any} cart
 */
function storeOrder(ctx, merchantId, cart) {
  const now = Date.now();
  const lineItems = cart.lineItems.map((/** @type {any} */ line) => ({
    id: cloverId(),
    ...line,
    // Inventory lines take the inventory price, which the double does not know.
    price: Number.isInteger(line.price) ? line.price : 0,
  }));
  const discounts = (cart.discounts ?? []).map((/** @type {any} */ d) => ({
    id: cloverId(),
    ...d,
  }));
  const total =
    lineItems.reduce((/** @type {number} */ sum, /** @type {any} */ l) => sum + l.price, 0) +
    discounts.reduce((/** @type {number} */ sum, /** @type {any} */ d) => sum + (d.amount ?? 0), 0);
  const order = {
    id: cloverId(),
    href: `https://apisandbox.dev.clover.com/v3/merchants/${merchantId}/orders`,
    currency: "USD",
    title: cart.title ?? null,
    note: cart.note ?? null,
    orderType: cart.orderType ?? null,
    groupLineItems: cart.groupLineItems ?? false,
    total,
    state: "open",
    paymentState: "OPEN",
    testMode: false,
    manualTransaction: false,
    taxRemoved: false,
    isVat: false,
    merchant: { id: merchantId },
    lineItems: { elements: lineItems },
    discounts: { elements: discounts },
    createdTime: now,
    clientCreatedTime: now,
    modifiedTime: now,
  };
  ctx.orders.set(order.id, order);
  return order;
}

/**
 * Clover's `filter=field=value` query (several `filter` params are ANDed).
 * @param {string} merchantId @param {URLSearchParams} query @param {VendorContext} ctx
 */
function listOrders(merchantId, query, ctx) {
  /** @type {[string, string][]} */
  const filters = [];
  for (const filter of query.getAll("filter")) {
    const at = filter.indexOf("=");
    const field = at > 0 ? filter.slice(0, at) : "";
    if (!FILTER_FIELDS.has(field)) return cloverError(ctx, 400, `Unsupported filter ${filter}`);
    filters.push([field, filter.slice(at + 1)]);
  }
  const limit = Math.min(Number(query.get("limit") ?? 100) || 100, 1000);
  const elements = [...ctx.orders.values()]
    .filter((order) => order.merchant?.id === merchantId)
    .filter((order) => filters.every(([field, value]) => String(order[field] ?? "") === value))
    .slice(0, limit);
  return ctx.reply(200, {
    elements,
    href: `https://apisandbox.dev.clover.com/v3/merchants/${merchantId}/orders`,
  });
}

/** @param {VendorContext} ctx @param {number} status @param {string} message */
function cloverError(ctx, status, message) {
  return ctx.reply(status, { message });
}

/**
 * A Clover webhook message about one order.
 * Clover webhooks: https://docs.clover.com/docs/webhooks
 * @param {{ appId: string, merchantId: string, orderId: string, type: "CREATE" | "UPDATE" | "DELETE", ts?: number }} event
 */
export function orderEvent(event) {
  return {
    appId: event.appId,
    merchants: {
      [event.merchantId]: [
        { objectId: `O:${event.orderId}`, type: event.type, ts: event.ts ?? Date.now() },
      ],
    },
  };
}

/**
 * The headers Clover sends with a webhook body: the app's auth code in
 * `X-Clover-Auth` (Clover does not sign the body).
 * @param {string} _body the exact JSON text to send
 * @param {string} secret the app's Clover auth code
 * @returns {Record<string, string>} lower-case header names
 */
export function signWebhook(_body, secret) {
  return { "content-type": "application/json", "x-clover-auth": secret };
}
