// @ts-check
// The Clover part of the POS double: the endpoints the Clover adapter calls,
// in Clover's wire format (errors are `{ message }`), under the double's
// /clover prefix (so `/clover/v3/merchants/M1/orders` stands for Clover's
// `/v3/merchants/M1/orders`).
//
// - POST /oauth/v2/refresh { client_id, refresh_token } → a new token pair; refresh tokens are single use
//   Clover OAuth: https://docs.clover.com/docs/refresh-access-tokens
// - GET  /oauth/v2/authorize?client_id&redirect_uri&state  the merchant approves at once: a 302 to
//   redirect_uri?merchant_id&client_id&code (and the state)
// - POST /oauth/v2/token { client_id, client_secret, code } → the first token pair; a code works once,
//   for the app it was issued to: https://docs.clover.com/docs/high-trust-app-auth-flow
// - GET  /v3/merchants/{mId}                                    the merchant (id, name); 404 for one it does not know
//   https://docs.clover.com/build/web-api
// - GET  /v3/merchants/{mId}/properties                         defaultCurrency, timezone
// - GET/POST /v3/merchants/{mId}/order_types                    list / create (label required)
// - GET/POST /v3/merchants/{mId}/tenders                        list (the system tenders to start) / create (label required)
// - POST /v3/merchants/{mId}/atomic_order/orders { orderCart }   create (faults apply here)
//   Clover atomic orders: https://docs.clover.com/dev/docs/create-an-atomic-order
// - GET  /v3/merchants/{mId}/orders?filter=title=…               list, filtered on title, externalReferenceId, note, state
// - GET  /v3/merchants/{mId}/orders/{orderId}[?expand=payments]  one order, its payments when expanded
// - POST /v3/merchants/{mId}/orders/{orderId}/payments           records a payment with a tender of the merchant's;
//   no idempotency: each call records one more payment, as Clover's reference documents none
//   https://docs.clover.com/reference/ordercreatepaymentfororder
// - GET  /v3/merchants/{mId}/items?expand=categories,modifierGroups,itemStock   the inventory's items; the nested
//   lists only when expanded (and at most 100 elements each, as Clover answers nested lists)
// - GET  /v3/merchants/{mId}/modifier_groups?expand=modifiers    modifier groups, their modifiers when expanded
// - GET  /v3/merchants/{mId}/categories                          categories with their sortOrder
//   The three are paged as Clover pages: `limit` (default 100, at most 1000) and `offset`:
//   https://docs.clover.com/docs/paginating-elements
// - DELETE /v3/merchants/{mId}/orders/{orderId}                  deletes an order, refused (400) once it has a payment:
//   "An order can be deleted until it has been paid for":
//   https://community.clover.com/questions/35174/can-an-order-be-deleted-when-it-has-only-been-prin.html
//
// State (`double.state("clover")`), all optional:
//   merchants: Record<mId, { name?, currency?, timezone? }>   the merchants that exist; unset: every id is a merchant
//              (a name, USD, America/Los_Angeles)
//   refreshRefused: true    every refresh answers 401 (the merchant uninstalled the app)
//   oauthMerchant: string   the merchant that approves at the authorize page (default MCLOVEROAUTH01)
//   routeFaults: Record<string, Fault[]>   faults (`status`, `delay`, `accept_then_fail`) for the next calls of one
//              route, by its name in MERCHANT_ROUTES ("GET merchant", "POST payments", …), oldest first
//   inventory: { items, modifierGroups, categories }   every merchant's inventory, in Clover's wire format (items
//              name their categories and modifier groups as `{ elements: [{ id }] }`, their stock as `itemStock`);
//              unset: DEFAULT_INVENTORY. Once a test sets it, orders must name its items and modifiers (400 else)
//              and inventory lines are priced from it. `bigInventory(n)` builds one of n items.
//   catalogFaults: Fault[]   faults for the next inventory calls (items, modifier groups, categories alike), one
//              per call, oldest first; e.g. { kind: "status", status: 429, retryAfter: 1 } for Clover's rate limit
//
// Access tokens: `clover-access` (the token the Worker tests connect with), those the double issued by
// refresh, plus any a test adds with `addAccessToken` (Clover's dashboard "test API token"). Any refresh
// token that was not used yet is accepted, so a fresh connection can always obtain its first pair; a used
// one is refused with 401.
import { randomUUID } from "node:crypto";
import { applyCommonFault } from "./server.mjs";

/** @typedef {import("./server.mjs").VendorModule} VendorModule */
/** @typedef {import("./server.mjs").VendorContext} VendorContext */
/** @typedef {{ access: Set<string>, usedRefresh: Set<string>, issued: number }} TokenState */

const MERCHANT = /^\/v3\/merchants\/([^/]+)$/;
const PROPERTIES = /^\/v3\/merchants\/([^/]+)\/properties$/;
const ORDER_TYPES = /^\/v3\/merchants\/([^/]+)\/order_types$/;
const TENDERS = /^\/v3\/merchants\/([^/]+)\/tenders$/;
const ORDERS = /^\/v3\/merchants\/([^/]+)\/orders$/;
const ORDER = /^\/v3\/merchants\/([^/]+)\/orders\/([^/]+)$/;
const ORDER_PAYMENTS = /^\/v3\/merchants\/([^/]+)\/orders\/([^/]+)\/payments$/;
const ATOMIC = /^\/v3\/merchants\/([^/]+)\/atomic_order\/orders$/;
const ITEMS = /^\/v3\/merchants\/([^/]+)\/items$/;
const MODIFIER_GROUPS = /^\/v3\/merchants\/([^/]+)\/modifier_groups$/;
const CATEGORIES = /^\/v3\/merchants\/([^/]+)\/categories$/;
/** The inventory routes `state.catalogFaults` applies to. */
const CATALOG_ROUTES = new Set(["GET items", "GET modifier_groups", "GET categories"]);
/** Clover's page size without `limit`, and the most it answers with one. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** What Clover answers of an expanded nested list: its first 100 elements. */
const NESTED_LIMIT = 100;
const FILTER_FIELDS = new Set(["title", "externalReferenceId", "note", "state", "id"]);
/** The token the Worker tests connect with, valid until an `unauthorized_once` fault. */
const WORKER_TEST_TOKEN = "clover-access";

// The system tenders every Clover merchant has (labelKeys of the Clover Android SDK's TenderConstants).
const SYSTEM_TENDERS = [
  { labelKey: "com.clover.tender.cash", label: "Cash", opensCashDrawer: true },
  { labelKey: "com.clover.tender.credit_card", label: "Credit Card", opensCashDrawer: false },
  {
    labelKey: "com.clover.tender.external_payment",
    label: "External Payment",
    opensCashDrawer: false,
  },
];

/**
 * The routes below /v3/merchants/{mId}, after the token was checked, each with the name
 * `state.routeFaults` knows it by.
 * @type {Array<[string, string, RegExp, (merchantId: string, id: string, req: any, ctx: VendorContext) => any]>}
 */
const MERCHANT_ROUTES = [
  ["GET merchant", "GET", MERCHANT, (mId, _id, _req, ctx) => getMerchant(mId, ctx)],
  ["GET properties", "GET", PROPERTIES, (mId, _id, _req, ctx) => getProperties(mId, ctx)],
  ["GET order_types", "GET", ORDER_TYPES, (mId, _id, _req, ctx) => listOf(ctx, "orderTypes", mId)],
  [
    "POST order_types",
    "POST",
    ORDER_TYPES,
    (mId, _id, req, ctx) => createOrderType(mId, req.json, ctx),
  ],
  ["GET tenders", "GET", TENDERS, (mId, _id, _req, ctx) => listOf(ctx, "tenders", mId)],
  ["POST tenders", "POST", TENDERS, (mId, _id, req, ctx) => createTender(mId, req.json, ctx)],
  ["GET orders", "GET", ORDERS, (mId, _id, req, ctx) => listOrders(mId, req.query, ctx)],
  ["GET order", "GET", ORDER, (mId, id, req, ctx) => getOrder(mId, id, req.query, ctx)],
  ["DELETE order", "DELETE", ORDER, (mId, id, _req, ctx) => deleteOrder(mId, id, ctx)],
  [
    "POST payments",
    "POST",
    ORDER_PAYMENTS,
    (mId, id, req, ctx) => recordPayment(mId, id, req.json, ctx),
  ],
  ["GET items", "GET", ITEMS, (mId, _id, req, ctx) => listItems(mId, req.query, ctx)],
  [
    "GET modifier_groups",
    "GET",
    MODIFIER_GROUPS,
    (mId, _id, req, ctx) => listModifierGroups(mId, req.query, ctx),
  ],
  [
    "GET categories",
    "GET",
    CATEGORIES,
    (mId, _id, req, ctx) => listCategories(mId, req.query, ctx),
  ],
];

/** @type {VendorModule} */
const clover = {
  name: "clover",
  async handle(req, ctx) {
    if (req.method === "POST" && req.path === "/oauth/v2/refresh") return refresh(req.json, ctx);
    if (req.method === "GET" && req.path === "/oauth/v2/authorize")
      return authorize(req.query, ctx);
    if (req.method === "POST" && req.path === "/oauth/v2/token") return exchange(req.json, ctx);

    const atomic = ATOMIC.exec(req.path);
    if (req.method === "POST" && atomic?.[1]) return createOrder(atomic[1], req, ctx);

    for (const [name, method, pattern, answer] of MERCHANT_ROUTES) {
      const match = pattern.exec(req.path);
      if (req.method !== method || !match) continue;
      const fault =
        routeFault(ctx, name) ?? (CATALOG_ROUTES.has(name) ? catalogFault(ctx) : undefined);
      const common = await applyCommonFault(fault);
      if (common) return common;
      if (!authorized(req.headers, ctx)) return unauthorized(ctx);
      const merchantId = match[1] ?? "";
      if (!merchantOf(merchantId, ctx)) return cloverError(ctx, 404, "Not Found");
      const answered = answer(merchantId, match[2] ?? "", req, ctx);
      // The call took effect; its answer is lost on the way back.
      if (fault?.kind === "accept_then_fail") {
        return cloverError(ctx, fault.status ?? 500, "Internal Server Error");
      }
      return answered;
    }
    return null;
  },
};
export default { ...clover, signWebhook };

/** The next fault a test queued for the route `name` (`state.routeFaults`), if any. */
function routeFault(/** @type {VendorContext} */ ctx, /** @type {string} */ name) {
  const faults = /** @type {Record<string, any[]> | undefined} */ (ctx.state.routeFaults);
  return faults?.[name]?.shift();
}

/** The next fault a test queued for the inventory routes (`state.catalogFaults`), if any. */
function catalogFault(/** @type {VendorContext} */ ctx) {
  const faults = /** @type {any[] | undefined} */ (ctx.state.catalogFaults);
  return Array.isArray(faults) ? faults.shift() : undefined;
}

/**
 * The merchant the id names, or null: any id unless a test set `state.merchants`.
 * @param {string} merchantId @param {VendorContext} ctx
 * @returns {{ name: string, currency: string, timezone: string } | null}
 */
function merchantOf(merchantId, ctx) {
  const known = /** @type {Record<string, any> | undefined} */ (ctx.state.merchants);
  if (known && !Object.hasOwn(known, merchantId)) return null;
  const given = known?.[merchantId] ?? {};
  return {
    name: given.name ?? `Test merchant ${merchantId}`,
    currency: given.currency ?? "USD",
    timezone: given.timezone ?? "America/Los_Angeles",
  };
}

/** @param {string} merchantId @param {VendorContext} ctx */
function getMerchant(merchantId, ctx) {
  const merchant = merchantOf(merchantId, ctx);
  return ctx.reply(200, {
    href: `https://apisandbox.dev.clover.com/v3/merchants/${merchantId}`,
    id: merchantId,
    name: merchant?.name,
  });
}

/** @param {string} merchantId @param {VendorContext} ctx */
function getProperties(merchantId, ctx) {
  const merchant = merchantOf(merchantId, ctx);
  return ctx.reply(200, {
    defaultCurrency: merchant?.currency,
    timezone: merchant?.timezone,
    tipsEnabled: true,
    groupLineItems: true,
  });
}

/**
 * One merchant's stored objects of a kind (order types, tenders), created on first use.
 * @param {VendorContext} ctx @param {"orderTypes" | "tenders"} kind @param {string} merchantId
 * @returns {any[]}
 */
function objectsOf(ctx, kind, merchantId) {
  const byMerchant = /** @type {Map<string, any[]>} */ (ctx.state[kind] ?? new Map());
  ctx.state[kind] = byMerchant;
  let objects = byMerchant.get(merchantId);
  if (!objects) {
    objects =
      kind === "tenders"
        ? SYSTEM_TENDERS.map((t) => ({
            id: cloverId(),
            editable: false,
            enabled: true,
            visible: true,
            ...t,
          }))
        : [];
    byMerchant.set(merchantId, objects);
  }
  return objects;
}

/** @param {VendorContext} ctx @param {"orderTypes" | "tenders"} kind @param {string} merchantId */
function listOf(ctx, kind, merchantId) {
  return ctx.reply(200, { elements: objectsOf(ctx, kind, merchantId) });
}

/** @param {string} merchantId @param {any} body @param {VendorContext} ctx */
function createOrderType(merchantId, body, ctx) {
  if (typeof body?.label !== "string" || body.label === "") {
    return cloverError(ctx, 400, "label is required");
  }
  const orderType = {
    id: cloverId(),
    labelKey: body.labelKey ?? null,
    label: body.label,
    taxable: body.taxable ?? true,
    isDefault: body.isDefault ?? false,
    filterCategories: body.filterCategories ?? false,
    isHidden: body.isHidden ?? false,
    hoursAvailable: body.hoursAvailable ?? "ALL",
    isDeleted: false,
  };
  objectsOf(ctx, "orderTypes", merchantId).push(orderType);
  return ctx.reply(200, orderType);
}

/** @param {string} merchantId @param {any} body @param {VendorContext} ctx */
function createTender(merchantId, body, ctx) {
  if (typeof body?.label !== "string" || body.label === "") {
    return cloverError(ctx, 400, "label is required");
  }
  if (typeof body.labelKey === "string" && body.labelKey.startsWith("com.clover.")) {
    return cloverError(ctx, 400, "labelKey is reserved for system tenders");
  }
  const tender = {
    id: cloverId(),
    editable: body.editable ?? true,
    labelKey: body.labelKey ?? null,
    label: body.label,
    opensCashDrawer: body.opensCashDrawer ?? false,
    supportsTipping: body.supportsTipping ?? false,
    enabled: body.enabled ?? true,
    visible: body.visible ?? true,
    instructions: body.instructions ?? null,
  };
  objectsOf(ctx, "tenders", merchantId).push(tender);
  return ctx.reply(200, tender);
}

/**
 * @param {string} merchantId @param {string} orderId @param {URLSearchParams} query @param {VendorContext} ctx
 */
function getOrder(merchantId, orderId, query, ctx) {
  const order = ctx.orders.get(orderId);
  if (!order || order.merchant?.id !== merchantId) return cloverError(ctx, 404, "Not Found");
  const expand = (query.get("expand") ?? "").split(",");
  if (!expand.includes("payments")) return ctx.reply(200, order);
  return ctx.reply(200, { ...order, payments: { elements: paymentsOf(ctx, orderId) } });
}

/** @param {VendorContext} ctx @param {string} orderId @returns {any[]} */
function paymentsOf(ctx, orderId) {
  const byOrder = /** @type {Map<string, any[]>} */ (ctx.state.payments ?? new Map());
  ctx.state.payments = byOrder;
  let payments = byOrder.get(orderId);
  if (!payments) {
    payments = [];
    byOrder.set(orderId, payments);
  }
  return payments;
}

/**
 * A payment record with one of the merchant's tenders: a positive amount and a valid tender id.
 * @param {string} merchantId @param {string} orderId @param {any} body @param {VendorContext} ctx
 */
function recordPayment(merchantId, orderId, body, ctx) {
  const order = ctx.orders.get(orderId);
  if (!order || order.merchant?.id !== merchantId) return cloverError(ctx, 404, "Not Found");
  const tender = objectsOf(ctx, "tenders", merchantId).find((t) => t.id === body?.tender?.id);
  if (!tender) return cloverError(ctx, 400, "a valid tender id is required");
  if (!Number.isInteger(body.amount) || body.amount <= 0) {
    return cloverError(ctx, 400, "amount must be a positive integer in cents");
  }
  for (const field of ["taxAmount", "tipAmount"]) {
    if (body[field] !== undefined && !Number.isInteger(body[field])) {
      return cloverError(ctx, 400, `${field} must be an integer in cents`);
    }
  }
  const payment = {
    id: cloverId(),
    order: { id: orderId },
    tender: { id: tender.id },
    amount: body.amount,
    taxAmount: body.taxAmount ?? 0,
    tipAmount: body.tipAmount ?? 0,
    externalPaymentId: body.externalPaymentId ?? null,
    result: "SUCCESS",
    createdTime: Date.now(),
  };
  const payments = paymentsOf(ctx, orderId);
  payments.push(payment);
  const paid = payments.reduce((sum, p) => sum + p.amount, 0);
  ctx.orders.set(orderId, {
    ...order,
    state: "locked",
    paymentState: paid >= order.total ? "PAID" : "PARTIALLY_PAID",
    modifiedTime: Date.now(),
  });
  return ctx.reply(200, payment);
}

/** @param {string} merchantId @param {string} orderId @param {VendorContext} ctx */
function deleteOrder(merchantId, orderId, ctx) {
  const order = ctx.orders.get(orderId);
  if (!order || order.merchant?.id !== merchantId) return cloverError(ctx, 404, "Not Found");
  if (paymentsOf(ctx, orderId).some((p) => p.result === "SUCCESS")) {
    return cloverError(ctx, 400, "Cannot delete an order that has payments");
  }
  ctx.orders.delete(orderId);
  return ctx.reply(200, order);
}

/** @param {VendorContext["state"]} state @returns {TokenState} */
function tokens(state) {
  let t = /** @type {TokenState | undefined} */ (state.tokens);
  if (!t) {
    t = { access: new Set([WORKER_TEST_TOKEN]), usedRefresh: new Set(), issued: 0 };
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

/** @param {VendorContext["state"]} state @returns {Map<string, { clientId: string, used: boolean }>} */
function authCodes(state) {
  let codes = /** @type {Map<string, { clientId: string, used: boolean }> | undefined} */ (
    state.authCodes
  );
  if (!codes) {
    codes = new Map();
    state.authCodes = codes;
  }
  return codes;
}

/** The merchant approves at once: back to the app's redirect URL with a single-use code. */
function authorize(/** @type {URLSearchParams} */ query, /** @type {VendorContext} */ ctx) {
  const clientId = query.get("client_id");
  const redirectUri = query.get("redirect_uri");
  if (!clientId || !redirectUri)
    return cloverError(ctx, 400, "client_id and redirect_uri are required");
  const code = `clover-code-${randomUUID()}`;
  authCodes(ctx.state).set(code, { clientId, used: false });
  const back = new URL(redirectUri);
  const merchant =
    typeof ctx.state.oauthMerchant === "string" ? ctx.state.oauthMerchant : "MCLOVEROAUTH01";
  back.searchParams.set("merchant_id", merchant);
  back.searchParams.set("client_id", clientId);
  back.searchParams.set("code", code);
  const state = query.get("state");
  if (state !== null) back.searchParams.set("state", state);
  return ctx.reply(302, undefined, { location: back.toString() });
}

/** @param {any} body @param {VendorContext} ctx */
function exchange(body, ctx) {
  if (!body?.client_id || !body.client_secret || !body.code) {
    return cloverError(ctx, 400, "client_id, client_secret and code are required");
  }
  const grant = authCodes(ctx.state).get(body.code);
  if (!grant || grant.used || grant.clientId !== body.client_id) {
    return cloverError(ctx, 401, "Invalid authorization code");
  }
  grant.used = true;
  return ctx.reply(200, issuePair(ctx));
}

/** A new access and refresh token pair; expirations in Unix seconds. */
function issuePair(/** @type {VendorContext} */ ctx) {
  const t = tokens(ctx.state);
  t.issued += 1;
  const accessToken = `clover-access-${t.issued}-${randomUUID()}`;
  t.access.add(accessToken);
  const now = Math.floor(Date.now() / 1000);
  return {
    access_token: accessToken,
    access_token_expiration: now + 1800,
    refresh_token: `clover-refresh-${t.issued}-${randomUUID()}`,
    refresh_token_expiration: now + 31_536_000,
  };
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
  if (ctx.state.refreshRefused === true || t.usedRefresh.has(body.refresh_token)) {
    return cloverError(ctx, 401, "Invalid refresh token");
  }
  t.usedRefresh.add(body.refresh_token);
  return ctx.reply(200, issuePair(ctx));
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
  const problem = validateCart(req.json) ?? unknownInventory(req.json.orderCart, ctx);
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
    // Inventory lines take the inventory price, which the double knows once a test set the inventory.
    price: Number.isInteger(line.price) ? line.price : inventoryPrice(ctx, line),
    ...(line.modifications
      ? {
          modifications: {
            elements: line.modifications.map((/** @type {any} */ modification) => ({
              id: cloverId(),
              ...modification,
              amount: modifierPrice(ctx, modification),
            })),
          },
        }
      : {}),
  }));
  const discounts = (cart.discounts ?? []).map((/** @type {any} */ d) => ({
    id: cloverId(),
    ...d,
  }));
  const total =
    lineItems.reduce(
      (/** @type {number} */ sum, /** @type {any} */ l) =>
        sum +
        l.price +
        (l.modifications?.elements ?? []).reduce(
          (/** @type {number} */ m, /** @type {any} */ modification) => m + modification.amount,
          0,
        ),
      0,
    ) +
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

// ------------------------------------------------------------------ inventory

/**
 * The local demo's inventory: a café with two categories, a required milk choice (exactly one), an
 * item out of stock (stock tracked, none left) and one hidden from the register.
 */
export const DEFAULT_INVENTORY = {
  categories: [
    { id: "CATCOFFEE0001", name: "Coffee", sortOrder: 1 },
    { id: "CATBAKERY0001", name: "Bakery", sortOrder: 2 },
  ],
  modifierGroups: [
    {
      id: "MGMILK0000001",
      name: "Milk",
      minRequired: 1,
      maxAllowed: 1,
      showByDefault: true,
      modifierIds: "MODWHOLE00001,MODOAT0000001,MODALMOND0001",
      modifiers: {
        elements: [
          { id: "MODWHOLE00001", name: "Whole milk", price: 0, available: true },
          { id: "MODOAT0000001", name: "Oat milk", price: 50, available: true },
          { id: "MODALMOND0001", name: "Almond milk", price: 60, available: false },
        ],
      },
    },
  ],
  items: [
    inventoryItem("ITMLATTE00001", "Latte", 425, "CATCOFFEE0001", ["MGMILK0000001"]),
    inventoryItem("ITMFLATWHITE1", "Flat white", 450, "CATCOFFEE0001", ["MGMILK0000001"]),
    {
      ...inventoryItem("ITMCROISSANT1", "Croissant", 350, "CATBAKERY0001", []),
      autoManage: true,
      itemStock: { item: { id: "ITMCROISSANT1" }, stockCount: 12, quantity: 12 },
    },
    {
      ...inventoryItem("ITMBANANABRD1", "Banana bread", 375, "CATBAKERY0001", []),
      autoManage: true,
      itemStock: { item: { id: "ITMBANANABRD1" }, stockCount: 0, quantity: 0 },
    },
    { ...inventoryItem("ITMSTAFFMEAL1", "Staff meal", 0, "CATBAKERY0001", []), hidden: true },
  ],
};

/**
 * An inventory of `n` items in Clover's wire format, for paging: two categories taking turns, every
 * item with a required size choice, prices 100, 101, … cents.
 * @param {number} n
 */
export function bigInventory(n) {
  const categories = [
    { id: "CATBIGFOOD001", name: "Food", sortOrder: 0 },
    { id: "CATBIGDRINK01", name: "Drinks", sortOrder: 1 },
  ];
  return {
    categories,
    modifierGroups: [
      {
        id: "MGBIGSIZE0001",
        name: "Size",
        minRequired: 1,
        maxAllowed: 1,
        showByDefault: true,
        modifierIds: "MODBIGSMALL01,MODBIGLARGE01",
        modifiers: {
          elements: [
            { id: "MODBIGSMALL01", name: "Small", price: 0, available: true },
            { id: "MODBIGLARGE01", name: "Large", price: 100, available: true },
          ],
        },
      },
    ],
    items: Array.from({ length: n }, (_, i) =>
      inventoryItem(
        `B${String(i).padStart(12, "0")}`,
        `Item ${i + 1}`,
        100 + i,
        categories[i % 2]?.id ?? "",
        ["MGBIGSIZE0001"],
      ),
    ),
  };
}

/**
 * An item as Clover stores it, naming its categories and modifier groups by id.
 * @param {string} id @param {string} name @param {number} price @param {string} categoryId @param {string[]} groupIds
 */
function inventoryItem(id, name, price, categoryId, groupIds) {
  return {
    id,
    hidden: false,
    available: true,
    autoManage: false,
    name,
    price,
    priceType: "FIXED",
    defaultTaxRates: true,
    isRevenue: true,
    modifiedTime: 1717243500000,
    categories: { elements: [{ id: categoryId }] },
    modifierGroups: { elements: groupIds.map((groupId) => ({ id: groupId })) },
  };
}

/** @param {VendorContext} ctx @returns {{ items: any[], modifierGroups: any[], categories: any[] }} */
function inventoryOf(ctx) {
  const set = /** @type {any} */ (ctx.state.inventory);
  return {
    items: set?.items ?? (set ? [] : DEFAULT_INVENTORY.items),
    modifierGroups: set?.modifierGroups ?? (set ? [] : DEFAULT_INVENTORY.modifierGroups),
    categories: set?.categories ?? (set ? [] : DEFAULT_INVENTORY.categories),
  };
}

/** The `expand` names of a query (`expand=a,b` or repeated). @param {URLSearchParams} query */
function expansions(query) {
  return new Set(query.getAll("expand").flatMap((value) => value.split(",").map((e) => e.trim())));
}

/** An expanded nested list as Clover answers it: its first 100 elements. @param {any} list */
function nested(list) {
  return /** @type {any[]} */ (list?.elements ?? []).slice(0, NESTED_LIMIT);
}

/**
 * One page of a list, by `limit` (default 100, at most 1000) and `offset`.
 * @param {string} merchantId @param {string} kind @param {URLSearchParams} query @param {any[]} all
 * @param {(element: any) => any} shape @param {VendorContext} ctx
 */
function page(merchantId, kind, query, all, shape, ctx) {
  const limit = Math.min(
    Math.max(Number(query.get("limit") ?? DEFAULT_LIMIT) || DEFAULT_LIMIT, 1),
    MAX_LIMIT,
  );
  const offset = Math.max(Number(query.get("offset") ?? 0) || 0, 0);
  return ctx.reply(200, {
    elements: all.slice(offset, offset + limit).map(shape),
    href: `https://apisandbox.dev.clover.com/v3/merchants/${merchantId}/${kind}?limit=${limit}`,
  });
}

/** @param {string} merchantId @param {URLSearchParams} query @param {VendorContext} ctx */
function listItems(merchantId, query, ctx) {
  const inventory = inventoryOf(ctx);
  const expand = expansions(query);
  const categories = new Map(inventory.categories.map((c) => [c.id, c]));
  const groups = new Map(inventory.modifierGroups.map((g) => [g.id, g]));
  const expandGroup = (/** @type {{ id: string }} */ ref) => {
    const group = groups.get(ref.id);
    if (!group) return ref;
    const { modifiers, ...rest } = group;
    return expand.has("modifierGroups.modifiers")
      ? { ...rest, modifiers: { elements: nested(modifiers) } }
      : rest;
  };
  return page(
    merchantId,
    "items",
    query,
    inventory.items,
    (item) => {
      const { categories: itemCategories, modifierGroups, itemStock, ...rest } = item;
      return {
        ...rest,
        ...(expand.has("categories")
          ? {
              categories: {
                elements: nested(itemCategories).map((ref) => categories.get(ref.id) ?? ref),
              },
            }
          : {}),
        ...(expand.has("modifierGroups") || expand.has("modifierGroups.modifiers")
          ? { modifierGroups: { elements: nested(modifierGroups).map(expandGroup) } }
          : {}),
        ...(expand.has("itemStock") && itemStock ? { itemStock } : {}),
      };
    },
    ctx,
  );
}

/** @param {string} merchantId @param {URLSearchParams} query @param {VendorContext} ctx */
function listModifierGroups(merchantId, query, ctx) {
  const expand = expansions(query);
  return page(
    merchantId,
    "modifier_groups",
    query,
    inventoryOf(ctx).modifierGroups,
    (group) => {
      const { modifiers, ...rest } = group;
      return expand.has("modifiers")
        ? { ...rest, modifiers: { elements: nested(modifiers) } }
        : rest;
    },
    ctx,
  );
}

/** @param {string} merchantId @param {URLSearchParams} query @param {VendorContext} ctx */
function listCategories(merchantId, query, ctx) {
  return page(merchantId, "categories", query, inventoryOf(ctx).categories, (c) => c, ctx);
}

/** Every modifier of the inventory by id. @param {VendorContext} ctx @returns {Map<string, any>} */
function modifiersById(ctx) {
  return new Map(
    inventoryOf(ctx).modifierGroups.flatMap((group) =>
      /** @type {any[]} */ (group.modifiers?.elements ?? []).map((m) => [m.id, m]),
    ),
  );
}

/**
 * Once a test set the inventory: the first item or modifier of the cart the inventory lacks, or null.
 * @param {any} cart @param {VendorContext} ctx @returns {string | null}
 */
function unknownInventory(cart, ctx) {
  if (!ctx.state.inventory) return null;
  const items = new Set(inventoryOf(ctx).items.map((item) => item.id));
  const modifiers = modifiersById(ctx);
  for (const [i, line] of cart.lineItems.entries()) {
    if (line.item?.id !== undefined && !items.has(line.item.id)) {
      return `orderCart.lineItems[${i}].item ${line.item.id} is not in the inventory`;
    }
    for (const [m, modification] of (line.modifications ?? []).entries()) {
      if (!modifiers.has(modification.modifier.id)) {
        return `orderCart.lineItems[${i}].modifications[${m}].modifier ${modification.modifier.id} is not in the inventory`;
      }
    }
  }
  return null;
}

/**
 * An inventory item's price once a test set the inventory (0 before, and for an open-priced item).
 * @param {VendorContext} ctx @param {any} line
 */
function inventoryPrice(ctx, line) {
  if (!ctx.state.inventory) return 0;
  const item = inventoryOf(ctx).items.find((candidate) => candidate.id === line.item?.id);
  return !item || item.priceType === "VARIABLE" ? 0 : (item.price ?? 0);
}

/**
 * A modification's amount: its modifier's price once a test set the inventory, else 0.
 * @param {VendorContext} ctx @param {any} modification
 */
function modifierPrice(ctx, modification) {
  if (!ctx.state.inventory) return 0;
  return modifiersById(ctx).get(modification.modifier?.id)?.price ?? 0;
}
