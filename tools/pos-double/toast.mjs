// @ts-check
// The Toast part of the POS double: the authentication and orders endpoints
// the Toast adapter uses, in Toast's wire format, under the double's /toast
// prefix (so `/toast/orders/v2/orders` stands for Toast's `/orders/v2/orders`).
//
// - POST /authentication/v1/authentication/login   client credentials → bearer token
//   Toast authentication API: https://doc.toasttab.com/openapi/authentication/operation/authenticationLoginPost
// - POST /orders/v2/orders                          create (faults apply here)
//   Toast orders API: https://doc.toasttab.com/openapi/orders/operation/ordersPost
// - GET  /orders/v2/orders/{guid | externalId}      one order
//   https://doc.toasttab.com/openapi/orders/operation/ordersGuidGet
//
// Credentials: any non-empty clientId/clientSecret pair logs in, unless a
// test sets `state.clients = { [clientId]: clientSecret }`, then only those.
// Errors use Toast's ErrorMessage shape: https://doc.toasttab.com/openapi/authentication/tag/Data-definitions/schema/ErrorMessage
import { createHmac, randomUUID } from "node:crypto";
import { applyCommonFault } from "./server.mjs";

/** @typedef {import("./server.mjs").VendorModule} VendorModule */
/** @typedef {import("./server.mjs").VendorContext} VendorContext */
/** @typedef {{ valid: Set<string>, issued: number }} TokenState */

const ORDER_PATH = /^\/orders\/v2\/orders\/([^/]+)$/;

/** @type {VendorModule} */
const toast = {
  name: "toast",
  async handle(req, ctx) {
    if (req.method === "POST" && req.path === "/authentication/v1/authentication/login") {
      return login(req.json, ctx);
    }
    if (req.method === "POST" && req.path === "/orders/v2/orders") {
      return createOrder(req, ctx);
    }
    const match = ORDER_PATH.exec(req.path);
    if (req.method === "GET" && match?.[1]) {
      const denied = checkRequest(req.headers, ctx);
      if (denied) return denied;
      const key = decodeURIComponent(match[1]);
      const order = findOrder(ctx, key);
      if (!order) return toastError(ctx, 404, `No order found for ${key}`);
      return ctx.reply(200, order);
    }
    return null;
  },
};
export default { ...toast, signWebhook };

/** @param {VendorContext} ctx @returns {TokenState} */
function tokens(ctx) {
  let state = /** @type {TokenState | undefined} */ (ctx.state.tokens);
  if (!state) {
    state = { valid: new Set(), issued: 0 };
    ctx.state.tokens = state;
  }
  return state;
}

/** @param {any} body @param {VendorContext} ctx */
function login(body, ctx) {
  if (
    !body ||
    typeof body.clientId !== "string" ||
    typeof body.clientSecret !== "string" ||
    !body.clientId ||
    !body.clientSecret
  ) {
    return toastError(ctx, 400, "clientId and clientSecret are required");
  }
  if (body.userAccessType !== "TOAST_MACHINE_CLIENT") {
    return toastError(ctx, 400, "userAccessType must be TOAST_MACHINE_CLIENT");
  }
  const clients = /** @type {Record<string, string> | undefined} */ (ctx.state.clients);
  if (clients && clients[body.clientId] !== body.clientSecret) {
    return toastError(ctx, 401, "The Toast API client credentials in your request are not valid.");
  }
  const state = tokens(ctx);
  state.issued += 1;
  const accessToken = `toast-token-${state.issued}-${randomUUID()}`;
  state.valid.add(accessToken);
  return ctx.reply(200, {
    "@class": ".SuccessfulResponse",
    token: {
      tokenType: "Bearer",
      scope: "orders.orders:write orders:read",
      expiresIn: 86400,
      accessToken,
      idToken: null,
      refreshToken: null,
    },
    status: "SUCCESS",
  });
}

/**
 * The bearer token and restaurant header every orders call needs; an answer
 * to send when they are wrong, otherwise null.
 * @param {Record<string, string>} headers @param {VendorContext} ctx
 */
function checkRequest(headers, ctx) {
  const auth = headers.authorization ?? "";
  const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  if (!token || !tokens(ctx).valid.has(token)) {
    return toastError(ctx, 401, "Unauthorized: missing or unknown access token");
  }
  if (!headers["toast-restaurant-external-id"]) {
    return toastError(ctx, 400, "The Toast-Restaurant-External-ID header is required");
  }
  return null;
}

/**
 * @param {{ headers: Record<string, string>, json: any }} req
 * @param {VendorContext} ctx
 */
async function createOrder(req, ctx) {
  const fault = ctx.takeFault();
  const common = await applyCommonFault(fault);
  if (common) return common;
  if (fault?.kind === "unauthorized_once") {
    // Every token issued so far stops working: the client must log in again.
    tokens(ctx).valid.clear();
    return toastError(ctx, 401, "Unauthorized: the access token has expired");
  }
  const denied = checkRequest(req.headers, ctx);
  if (denied) return denied;
  if (!(req.headers["content-type"] ?? "").includes("application/json")) {
    return toastError(
      ctx,
      415,
      'The request did not have "application/json" in the Content-Type header.',
    );
  }
  const problem = validateOrder(req.json);
  if (problem) return toastError(ctx, 400, problem);
  const body = req.json;
  if (body.externalId && findOrder(ctx, body.externalId)) {
    // Toast: "If you submit an order with an externalId that already exists for another order, the request will fail."
    return toastError(ctx, 400, `An order with externalId ${body.externalId} already exists`);
  }
  const order = storeOrder(ctx, body, req.headers["toast-restaurant-external-id"] ?? "");
  if (fault?.kind === "accept_then_fail") {
    return toastError(ctx, fault.status ?? 500, "An unexpected internal error occurred.");
  }
  return ctx.reply(200, order);
}

/**
 * What is wrong with a posted Order, or null. Checks what the orders API
 * documents as required for a POST.
 * @param {any} body
 * @returns {string | null}
 */
function validateOrder(body) {
  if (!body || typeof body !== "object" || Array.isArray(body))
    return "The body must be an Order object";
  if (!isRef(body.diningOption)) return "diningOption.guid is required";
  if (!Array.isArray(body.checks) || body.checks.length === 0) return "checks must not be empty";
  for (const [c, check] of body.checks.entries()) {
    if (!Array.isArray(check?.selections) || check.selections.length === 0) {
      return `checks[${c}].selections must not be empty`;
    }
    for (const [s, selection] of check.selections.entries()) {
      const where = `checks[${c}].selections[${s}]`;
      // Selection: "For a POST operation, all selections must have valid item and itemGroup fields."
      if (!isRef(selection?.item) || !isRef(selection?.itemGroup)) {
        return `${where} needs item.guid and itemGroup.guid`;
      }
      if (typeof selection.quantity !== "number" || selection.quantity <= 0) {
        return `${where}.quantity must be a positive number`;
      }
      for (const [m, modifier] of (selection.modifiers ?? []).entries()) {
        if (modifier?.selectionType === "SPECIAL_REQUEST") {
          if (typeof modifier.displayName !== "string" || !modifier.displayName) {
            return `${where}.modifiers[${m}] special request needs a displayName`;
          }
          continue;
        }
        if (!isRef(modifier?.item) || !isRef(modifier?.optionGroup)) {
          return `${where}.modifiers[${m}] needs item.guid and optionGroup.guid`;
        }
      }
    }
    if (check.customer !== undefined) {
      const customer = check.customer;
      if (typeof customer?.firstName !== "string" || typeof customer?.lastName !== "string") {
        return `checks[${c}].customer needs firstName and lastName`;
      }
    }
    for (const [p, payment] of (check.payments ?? []).entries()) {
      if (typeof payment?.amount !== "number" || typeof payment?.tipAmount !== "number") {
        return `checks[${c}].payments[${p}] needs amount and tipAmount`;
      }
      if (payment.type !== "OTHER" && payment.type !== "CREDIT") {
        return `checks[${c}].payments[${p}].type must be OTHER or CREDIT`;
      }
      if (payment.type === "OTHER" && !isRef(payment.otherPayment)) {
        return `checks[${c}].payments[${p}].otherPayment.guid is required for OTHER`;
      }
    }
  }
  return null;
}

/** @param {unknown} value */
function isRef(value) {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (/** @type {{ guid?: unknown }} */ (value).guid) === "string" &&
    /** @type {{ guid: string }} */ (value).guid.length > 0
  );
}

/**
 * Stores the posted order the way Toast answers it: GUIDs on every entity,
 * awaiting approval, nothing sent to the kitchen yet.
 * @param {VendorContext} ctx @param {any} body @param {string} restaurantGuid
 */
function storeOrder(ctx, body, restaurantGuid) {
  const now = new Date().toISOString().replace("Z", "+0000");
  const guid = randomUUID();
  const order = {
    ...body,
    guid,
    entityType: "Order",
    externalId: body.externalId ?? null,
    restaurantGuid,
    source: "API",
    approvalStatus: "NEEDS_APPROVAL",
    voided: false,
    deleted: false,
    createdDate: now,
    modifiedDate: now,
    checks: body.checks.map((/** @type {any} */ check) => ({
      ...check,
      guid: randomUUID(),
      entityType: "Check",
      paymentStatus: check.payments?.length ? "CLOSED" : "OPEN",
      voided: false,
      selections: check.selections.map((/** @type {any} */ selection) => ({
        ...selection,
        guid: randomUUID(),
        entityType: "MenuItemSelection",
        fulfillmentStatus: "NEW",
        voided: false,
      })),
    })),
  };
  ctx.orders.set(guid, order);
  return order;
}

/** @param {VendorContext} ctx @param {string} key a GUID or an externalId */
function findOrder(ctx, key) {
  const byGuid = ctx.orders.get(key);
  if (byGuid) return byGuid;
  for (const order of ctx.orders.values()) if (order.externalId === key) return order;
  return undefined;
}

/** @param {VendorContext} ctx @param {number} status @param {string} message */
function toastError(ctx, status, message) {
  return ctx.reply(status, {
    status,
    code: status * 100,
    message,
    messageKey: null,
    fieldName: null,
    link: null,
    requestId: randomUUID(),
    developerMessage: null,
    errors: [],
    canRetry: null,
  });
}

/**
 * An `order_updated` webhook message for a stored order, as Toast sends it.
 * Toast orders webhook: https://doc.toasttab.com/doc/devguide/devOrdersWebhookRef.html
 * @param {any} order @param {{ timestamp?: string, eventGuid?: string }} [options]
 */
export function orderUpdatedEvent(order, options = {}) {
  return {
    timestamp: options.timestamp ?? new Date().toISOString(),
    eventCategory: "orders",
    eventType: "order_updated",
    guid: options.eventGuid ?? randomUUID(),
    details: { restaurantGuid: order.restaurantGuid ?? null, order },
  };
}

/**
 * The headers Toast sends with a webhook body: `Toast-Signature` is
 * Base64(HMAC-SHA256(secret, body + the message's `timestamp`)).
 * Toast message signing: https://doc.toasttab.com/doc/devguide/apiMessageSigning.html
 * @param {string} body the exact JSON text to send
 * @param {string} secret the webhook subscription's secret
 * @returns {Record<string, string>} lower-case header names
 */
export function signWebhook(body, secret) {
  const message = JSON.parse(body);
  const timestamp = typeof message?.timestamp === "string" ? message.timestamp : "";
  const signature = createHmac("sha256", secret)
    .update(body + timestamp, "utf8")
    .digest("base64");
  /** @type {Record<string, string>} */
  const headers = {
    "content-type": "application/json",
    "toast-signature": signature,
    "toast-attempt-number": "1",
  };
  if (typeof message?.eventType === "string") headers["toast-event-type"] = message.eventType;
  if (typeof message?.eventCategory === "string")
    headers["toast-event-category"] = message.eventCategory;
  const restaurant = message?.details?.restaurantGuid;
  if (typeof restaurant === "string") headers["toast-restaurant-external-id"] = restaurant;
  return headers;
}
