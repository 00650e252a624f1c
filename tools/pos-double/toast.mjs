// @ts-check
// The Toast part of the POS double: the authentication, restaurants and orders endpoints the
// Toast adapter uses, in Toast's wire format, under the double's /toast prefix (so
// `/toast/orders/v2/orders` stands for Toast's `/orders/v2/orders`).
//
// - POST /authentication/v1/authentication/login   client credentials → bearer token
//   Toast authentication API: https://doc.toasttab.com/openapi/authentication/operation/authenticationLoginPost
// - GET  /restaurants/v1/restaurants/{guid}         RestaurantInfo (404 for a GUID it does not know)
//   https://doc.toasttab.com/openapi/restaurants/operation/restaurantsRestaurantGuidGet
// - POST /orders/v2/prices                          the order priced, nothing stored
//   https://doc.toasttab.com/openapi/orders/operation/pricesPost
// - POST /orders/v2/orders                          create, priced the same way (faults apply here)
//   Toast orders API: https://doc.toasttab.com/openapi/orders/operation/ordersPost
// - GET  /orders/v2/orders/{guid | externalId}      one order
//   https://doc.toasttab.com/openapi/orders/operation/ordersGuidGet
// - POST /orders/v2/orders/{guid}/void              void the order, its items and its OTHER payments
//   https://doc.toasttab.com/openapi/orders/operation/voidOrder and https://doc.toasttab.com/doc/devguide/apiVoidOrder.html
//
// State a test may set (`double.state("toast")`, or `POST /_control/state { vendor: "toast", key, value }`):
// - `clients = { [clientId]: clientSecret }`: only those log in; unset, any non-empty pair does.
// - `restaurants = { [guid]: { name?, currencyCode?, timeZone?, ... } }` (Toast's `General` fields): only
//   those restaurants exist, and orders calls for any other answer 403; unset, every GUID is a
//   restaurant named "Double Bistro" selling in USD in America/New_York.
// - `menu = { [item or modifier GUID]: price }`, decimal prices. An item not in it is priced at the
//   selection's own `openPriceAmount` (Toast's price for an open-price item), else it is an unknown
//   entity (404, as the prices and orders endpoints document).
// - `taxRate` (default 0.0875): one rate on every selection, rounded half up per selection, after
//   the check's discount.
// - `discounts = { [guid]: discountType }`: the restaurant's discounts; unset, every GUID is an
//   OPEN_FIXED (open amount) discount. A check's `appliedDiscounts` may name one, with its
//   `discountAmount`; open percent discounts cannot be POSTed (400), nor an amount above the check.
// - `prepMinutes` (default 15): an ASAP order's `estimatedFulfillmentDate` is this long after it is
//   received; a scheduled one's is its `promisedDate`.
// The double assumes two-decimal currencies. Errors use Toast's ErrorMessage shape:
// https://doc.toasttab.com/openapi/authentication/tag/Data-definitions/schema/ErrorMessage
import { createHmac, randomUUID } from "node:crypto";
import { applyCommonFault } from "./server.mjs";

/** @typedef {import("./server.mjs").VendorModule} VendorModule */
/** @typedef {import("./server.mjs").VendorContext} VendorContext */
/** @typedef {{ valid: Map<string, string>, issued: number }} TokenState  token → the clientId it was issued to */
/** @typedef {{ status: number, body: unknown, headers?: Record<string, string> }} Answer */

const ORDER_PATH = /^\/orders\/v2\/orders\/([^/]+)$/;
const VOID_PATH = /^\/orders\/v2\/orders\/([^/]+)\/void$/;
const RESTAURANT_PATH = /^\/restaurants\/v1\/restaurants\/([^/]+)$/;
const DEFAULT_TAX_RATE = 0.0875;
const DEFAULT_PREP_MINUTES = 15;

/** @type {VendorModule} */
const toast = {
  name: "toast",
  async handle(req, ctx) {
    if (req.method === "POST" && req.path === "/authentication/v1/authentication/login") {
      return login(req.json, ctx);
    }
    const restaurant = RESTAURANT_PATH.exec(req.path);
    if (req.method === "GET" && restaurant?.[1]) {
      return restaurantInfo(req.headers, decodeURIComponent(restaurant[1]), ctx);
    }
    if (req.method === "POST" && req.path === "/orders/v2/prices") {
      return prices(req, ctx);
    }
    if (req.method === "POST" && req.path === "/orders/v2/orders") {
      return createOrder(req, ctx);
    }
    const voiding = VOID_PATH.exec(req.path);
    if (req.method === "POST" && voiding?.[1]) {
      return voidOrder(req, decodeURIComponent(voiding[1]), ctx);
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
    state = { valid: new Map(), issued: 0 };
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
  state.valid.set(accessToken, body.clientId);
  return ctx.reply(200, {
    "@class": ".SuccessfulResponse",
    token: {
      tokenType: "Bearer",
      scope: "orders.orders:write orders:read orders.channel:void restaurants:read",
      expiresIn: 86400,
      accessToken,
      idToken: null,
      refreshToken: null,
    },
    status: "SUCCESS",
  });
}

/**
 * The restaurant a test configured, or the default one when none are configured; undefined for a
 * GUID the double does not know.
 * @param {VendorContext} ctx @param {string} guid
 */
function restaurantGeneral(ctx, guid) {
  const configured = /** @type {Record<string, Record<string, unknown>> | undefined} */ (
    ctx.state.restaurants
  );
  if (configured && !configured[guid]) return undefined;
  return {
    name: "Double Bistro",
    locationName: "Downtown",
    locationCode: "DT1",
    description: null,
    timeZone: "America/New_York",
    closeoutHour: 4,
    managementGroupGuid: "2f0e2b5c-0000-4000-8000-00000000d0b1",
    currencyCode: "USD",
    firstBusinessDate: 20240101,
    archived: false,
    ...configured?.[guid],
  };
}

/**
 * The bearer token and restaurant header every call after login needs; an answer to send when
 * they are wrong (401, 400, or 403 for a restaurant this client cannot access), otherwise null.
 * @param {Record<string, string>} headers @param {VendorContext} ctx
 */
function checkRequest(headers, ctx) {
  const auth = headers.authorization ?? "";
  const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  if (!token || !tokens(ctx).valid.has(token)) {
    return toastError(ctx, 401, "Unauthorized: missing or unknown access token");
  }
  const restaurant = headers["toast-restaurant-external-id"];
  if (!restaurant) {
    return toastError(ctx, 400, "The Toast-Restaurant-External-ID header is required");
  }
  if (!restaurantGeneral(ctx, restaurant)) {
    // prices: "403 The API client does not have access to the restaurant": https://doc.toasttab.com/openapi/orders/operation/pricesPost
    return toastError(ctx, 403, `The API client does not have access to restaurant ${restaurant}`);
  }
  return null;
}

/**
 * GET /restaurants/{guid}: a `RestaurantInfo`; 404 for a GUID that is not a restaurant (Toast also
 * answers 404 for an archived one unless `includeArchived=true`).
 * @param {Record<string, string>} headers @param {string} guid @param {VendorContext} ctx
 */
function restaurantInfo(headers, guid, ctx) {
  const auth = headers.authorization ?? "";
  const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  if (!token || !tokens(ctx).valid.has(token)) {
    return toastError(ctx, 401, "Unauthorized: missing or unknown access token");
  }
  if (!headers["toast-restaurant-external-id"]) {
    return toastError(ctx, 400, "The Toast-Restaurant-External-ID header is required");
  }
  const general = restaurantGeneral(ctx, guid);
  if (!general) return toastError(ctx, 404, `No restaurant found for ${guid}`);
  return ctx.reply(200, {
    guid,
    general,
    urls: { website: null, facebook: null, twitter: null, orderOnline: null },
    location: {
      address1: "401 Park Drive",
      address2: null,
      city: "Boston",
      stateCode: "MA",
      administrativeArea: null,
      zipCode: "02215",
      country: "US",
      phone: "617-555-0100",
      phoneCountryCode: "1",
      latitude: 42.3446671,
      longitude: -71.1023575,
    },
  });
}

/**
 * The checks of a posted order with Toast's computed amounts, or the error Toast answers.
 * @param {{ headers: Record<string, string>, json: any }} req
 * @param {VendorContext} ctx
 * @returns {{ error: Answer } | { checks: any[] }}
 */
function validateAndPrice(req, ctx) {
  const denied = checkRequest(req.headers, ctx);
  if (denied) return { error: denied };
  if (!(req.headers["content-type"] ?? "").includes("application/json")) {
    return {
      error: toastError(
        ctx,
        415,
        'The request did not have "application/json" in the Content-Type header.',
      ),
    };
  }
  const problem = validateOrder(req.json);
  if (problem) return { error: toastError(ctx, 400, problem) };
  return priceChecks(ctx, req.json.checks);
}

/**
 * POST /prices: the order as Toast would price it, with no GUIDs and nothing stored.
 * @param {{ headers: Record<string, string>, json: any }} req @param {VendorContext} ctx
 */
function prices(req, ctx) {
  const priced = validateAndPrice(req, ctx);
  if ("error" in priced) return priced.error;
  return ctx.reply(200, {
    ...req.json,
    entityType: "Order",
    guid: null,
    approvalStatus: null,
    checks: priced.checks,
  });
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
  const priced = validateAndPrice(req, ctx);
  if ("error" in priced) return priced.error;
  const body = req.json;
  if (body.externalId && findOrder(ctx, body.externalId)) {
    // Toast: "If you submit an order with an externalId that already exists for another order, the request will fail."
    return toastError(ctx, 400, `An order with externalId ${body.externalId} already exists`);
  }
  const order = storeOrder(ctx, { ...body, checks: priced.checks }, req.headers);
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
    const problem = validateCheck(check, `checks[${c}]`);
    if (problem) return problem;
  }
  if (body.deliveryInfo !== undefined) {
    // DeliveryInfo requires address1, city, state (ISO 3166-2, two capital letters) and zipCode:
    // https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/DeliveryInfo
    const info = body.deliveryInfo;
    for (const field of ["address1", "city", "state", "zipCode"]) {
      if (typeof info?.[field] !== "string" || !info[field])
        return `deliveryInfo.${field} is required`;
    }
    if (!/^[A-Z]{2}$/.test(info.state)) return "deliveryInfo.state must be two capital letters";
  }
  return null;
}

/** @param {any} check @param {string} where @returns {string | null} */
function validateCheck(check, where) {
  if (!Array.isArray(check?.selections) || check.selections.length === 0) {
    return `${where}.selections must not be empty`;
  }
  for (const [s, selection] of check.selections.entries()) {
    const problem = validateSelection(selection, `${where}.selections[${s}]`);
    if (problem) return problem;
  }
  if (check.customer !== undefined) {
    // Customer requires firstName, lastName, email and phone: https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Customer
    for (const field of ["firstName", "lastName", "email", "phone"]) {
      if (typeof check.customer?.[field] !== "string" || !check.customer[field]) {
        return `${where}.customer.${field} is required`;
      }
    }
  }
  for (const [p, payment] of (check.payments ?? []).entries()) {
    if (typeof payment?.amount !== "number" || typeof payment?.tipAmount !== "number") {
      return `${where}.payments[${p}] needs amount and tipAmount`;
    }
    if (payment.type !== "OTHER" && payment.type !== "CREDIT") {
      return `${where}.payments[${p}].type must be OTHER or CREDIT`;
    }
    if (payment.type === "OTHER" && !isRef(payment.otherPayment)) {
      return `${where}.payments[${p}].otherPayment.guid is required for OTHER`;
    }
  }
  return null;
}

/** @param {any} selection @param {string} where @returns {string | null} */
function validateSelection(selection, where) {
  // Selection: "For a POST operation, all selections must have valid item and itemGroup fields."
  if (!isRef(selection?.item) || !isRef(selection?.itemGroup)) {
    return `${where} needs item.guid and itemGroup.guid`;
  }
  if (typeof selection.quantity !== "number" || selection.quantity <= 0) {
    return `${where}.quantity must be a positive number`;
  }
  if (selection.openPriceAmount !== undefined && !(selection.openPriceAmount >= 0)) {
    return `${where} is negatively priced`;
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
    if (modifier.openPriceAmount !== undefined && !(modifier.openPriceAmount >= 0)) {
      return `${where}.modifiers[${m}] is negatively priced`;
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
 * A selection's unit price in cents: the menu's price for its item, else its own
 * `openPriceAmount`; null when neither says (an entity Toast does not know).
 * @param {VendorContext} ctx @param {any} selection
 */
function unitPriceCents(ctx, selection) {
  const menu = /** @type {Record<string, number> | undefined} */ (ctx.state.menu);
  const listed = menu?.[selection.item.guid];
  if (typeof listed === "number") return Math.round(listed * 100);
  if (typeof selection.openPriceAmount === "number") {
    return Math.round(selection.openPriceAmount * 100);
  }
  return null;
}

/**
 * The checks with Toast's amounts on every selection and check: `price` and `preDiscountPrice`
 * (item and modifiers times quantity), `tax` rounded half up per selection, check `amount`
 * (without tax), `taxAmount` and `totalAmount` (with tax, without tips).
 * Check and Selection amounts: https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Check
 * @param {VendorContext} ctx @param {any[]} checks
 * @returns {{ error: Answer } | { checks: any[] }}
 */
function priceChecks(ctx, checks) {
  const rate = typeof ctx.state.taxRate === "number" ? ctx.state.taxRate : DEFAULT_TAX_RATE;
  const out = [];
  for (const check of checks) {
    const selections = [];
    for (const selection of check.selections) {
      const priced = priceSelection(ctx, selection, rate);
      if ("error" in priced) return priced;
      selections.push(priced.selection);
    }
    const discounted = applyCheckDiscount(ctx, check, selections, rate);
    if ("error" in discounted) return discounted;
    const amount = selections.reduce((sum, s) => sum + Math.round(s.price * 100), 0);
    const tax = selections.reduce((sum, s) => sum + Math.round(s.tax * 100), 0);
    out.push({
      ...check,
      ...(discounted.applied ? { appliedDiscounts: [discounted.applied] } : {}),
      selections,
      amount: amount / 100,
      taxAmount: tax / 100,
      totalAmount: (amount + tax) / 100,
    });
  }
  return { checks: out };
}

/**
 * A check-level discount, spread over the selections in proportion to their price (the last takes
 * the rounding), each selection taxed again after its share: "The system calculates tax after
 * applying discounts", and "In a POST request, you cannot apply open percent discounts. You can
 * apply open amount discounts": https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/AppliedDiscount
 * @param {VendorContext} ctx @param {any} check @param {any[]} selections @param {number} rate
 * @returns {{ error: Answer } | { applied: any | null }}
 */
function applyCheckDiscount(ctx, check, selections, rate) {
  const requested = check.appliedDiscounts ?? [];
  if (requested.length === 0) return { applied: null };
  if (requested.length > 1)
    return { error: toastError(ctx, 400, "One check-level discount at most") };
  const [wanted] = requested;
  const guid = wanted?.discount?.guid;
  const known = /** @type {Record<string, string> | undefined} */ (ctx.state.discounts);
  const type = known ? known[guid] : "OPEN_FIXED";
  if (!guid || !type) return { error: toastError(ctx, 404, `The discount ${guid} does not exist`) };
  if (type === "OPEN_PERCENT") {
    return {
      error: toastError(ctx, 400, "Open percent discounts cannot be applied in a POST request"),
    };
  }
  const gross = selections.map((s) => Math.round(s.price * 100));
  const total = gross.reduce((a, b) => a + b, 0);
  const off = Math.round((wanted.discountAmount ?? 0) * 100);
  if (!(off > 0) || off > total) {
    return {
      error: toastError(ctx, 400, "discountAmount must be above 0 and at most the check amount"),
    };
  }
  let left = off;
  selections.forEach((selection, i) => {
    const share = i === selections.length - 1 ? left : Math.round((off * (gross[i] ?? 0)) / total);
    left -= share;
    const net = (gross[i] ?? 0) - share;
    selection.price = net / 100;
    selection.tax = Math.round(net * rate) / 100;
  });
  return {
    applied: {
      guid: randomUUID(),
      entityType: "AppliedDiscount",
      discount: { guid, entityType: "Discount" },
      discountType: type,
      discountAmount: off / 100,
    },
  };
}

/**
 * @param {VendorContext} ctx @param {any} selection @param {number} rate
 * @returns {{ error: Answer } | { selection: any }}
 */
function priceSelection(ctx, selection, rate) {
  const unit = unitPriceCents(ctx, selection);
  if (unit === null) return { error: unknownEntity(ctx, selection.item.guid) };
  let modifierCents = 0;
  const modifiers = [];
  for (const modifier of selection.modifiers ?? []) {
    if (modifier.selectionType === "SPECIAL_REQUEST") {
      modifiers.push({ ...modifier, price: 0 });
      continue;
    }
    const price = unitPriceCents(ctx, modifier);
    if (price === null) return { error: unknownEntity(ctx, modifier.item.guid) };
    const total = price * (modifier.quantity ?? 1);
    modifierCents += total;
    modifiers.push({ ...modifier, receiptLinePrice: price / 100, price: total / 100 });
  }
  const gross = unit * selection.quantity + modifierCents;
  const tax = Math.round(gross * rate);
  return {
    selection: {
      ...selection,
      modifiers,
      receiptLinePrice: unit / 100,
      preDiscountPrice: gross / 100,
      price: gross / 100,
      tax: tax / 100,
    },
  };
}

// prices and POST /orders: "404 An entity referenced in the order does not exist": https://doc.toasttab.com/openapi/orders/operation/pricesPost
/** @param {VendorContext} ctx @param {string} guid */
function unknownEntity(ctx, guid) {
  return toastError(ctx, 404, `The menu item ${guid} referenced in the order does not exist`);
}

/**
 * Stores the posted order the way Toast answers it: GUIDs on every entity, awaiting approval,
 * nothing sent to the kitchen yet, OTHER payments captured, the client that created it kept
 * (only that client may void it).
 * @param {VendorContext} ctx @param {any} body @param {Record<string, string>} headers
 */
function storeOrder(ctx, body, headers) {
  const receivedAt = new Date();
  const now = toastDate(receivedAt);
  const guid = randomUUID();
  const token = (headers.authorization ?? "").slice(7);
  const prepMinutes =
    typeof ctx.state.prepMinutes === "number" ? ctx.state.prepMinutes : DEFAULT_PREP_MINUTES;
  const order = {
    ...body,
    guid,
    entityType: "Order",
    externalId: body.externalId ?? null,
    restaurantGuid: headers["toast-restaurant-external-id"] ?? "",
    source: "API",
    approvalStatus: "NEEDS_APPROVAL",
    voided: false,
    voidDate: null,
    deleted: false,
    createdDate: now,
    modifiedDate: now,
    // Order.estimatedFulfillmentDate, "when the order is expected to be ready for pickup or to be delivered":
    // https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Order
    estimatedFulfillmentDate:
      body.promisedDate ?? toastDate(new Date(receivedAt.getTime() + prepMinutes * 60_000)),
    checks: body.checks.map((/** @type {any} */ check) => storeCheck(check, guid, now)),
  };
  ctx.orders.set(guid, order);
  creators(ctx).set(guid, tokens(ctx).valid.get(token) ?? "");
  return order;
}

/** Which client created each order (Toast keeps it; it is not in the Order it answers). @param {VendorContext} ctx */
function creators(ctx) {
  let map = /** @type {Map<string, string> | undefined} */ (ctx.state.creators);
  if (!map) {
    map = new Map();
    ctx.state.creators = map;
  }
  return map;
}

/** @param {any} check @param {string} orderGuid @param {string} now */
function storeCheck(check, orderGuid, now) {
  const checkGuid = randomUUID();
  const payments = (check.payments ?? []).map((/** @type {any} */ payment) => ({
    ...payment,
    guid: randomUUID(),
    entityType: "OrderPayment",
    checkGuid,
    orderGuid,
    paidDate: now,
    paymentStatus: "CAPTURED",
    refundStatus: "NONE",
  }));
  const paid = payments.reduce(
    (/** @type {number} */ sum, /** @type {any} */ p) => sum + Math.round(p.amount * 100),
    0,
  );
  return {
    ...check,
    guid: checkGuid,
    entityType: "Check",
    payments,
    paymentStatus: paid > 0 && paid >= Math.round(check.totalAmount * 100) ? "CLOSED" : "OPEN",
    voided: false,
    selections: check.selections.map((/** @type {any} */ selection) => ({
      ...selection,
      guid: randomUUID(),
      entityType: "MenuItemSelection",
      fulfillmentStatus: "NEW",
      voided: false,
    })),
  };
}

/**
 * POST /orders/{guid}/void with `selections.voidAll` and `payments.voidAll` true. Refused (400)
 * for an order that is voided or deleted already, one with a payment that is not OTHER or with
 * no OTHER payment at all, or one another client created: https://doc.toasttab.com/doc/devguide/apiVoidOrder.html
 * @param {{ headers: Record<string, string>, json: any }} req @param {string} key @param {VendorContext} ctx
 */
function voidOrder(req, key, ctx) {
  const denied = checkRequest(req.headers, ctx);
  if (denied) return denied;
  const order = ctx.orders.get(key);
  if (!order) return toastError(ctx, 404, `No order found for ${key}`);
  if (req.json?.selections?.voidAll !== true || req.json?.payments?.voidAll !== true) {
    return toastError(ctx, 400, "selections.voidAll and payments.voidAll must both be true");
  }
  const clientId = tokens(ctx).valid.get((req.headers.authorization ?? "").slice(7));
  const problem = voidRefusal(order, creators(ctx).get(order.guid) === clientId);
  if (problem) return toastError(ctx, 400, problem);
  const now = toastDate(new Date());
  const voided = {
    ...order,
    voided: true,
    voidDate: now,
    modifiedDate: now,
    guestOrderStatus: "VOIDED",
    checks: order.checks.map((/** @type {any} */ check) => ({
      ...check,
      voided: true,
      voidDate: now,
      paymentStatus: "VOIDED",
      payments: check.payments.map((/** @type {any} */ p) => ({ ...p, paymentStatus: "VOIDED" })),
      selections: check.selections.map((/** @type {any} */ s) => ({
        ...s,
        voided: true,
        voidDate: now,
      })),
    })),
  };
  ctx.orders.set(order.guid, voided);
  return ctx.reply(200, voided);
}

/** @param {any} order @param {boolean} sameClient @returns {string | null} */
function voidRefusal(order, sameClient) {
  if (order.voided || order.deleted) return "The order is already voided or deleted";
  const payments = order.checks.flatMap((/** @type {any} */ c) => c.payments ?? []);
  if (payments.length === 0 || payments.some((/** @type {any} */ p) => p.type !== "OTHER")) {
    return "Only orders with OTHER payment types can be voided";
  }
  if (!sameClient) {
    return "Only the API client that created the order can void it";
  }
  return null;
}

/** @param {VendorContext} ctx @param {string} key a GUID or an externalId */
function findOrder(ctx, key) {
  const byGuid = ctx.orders.get(key);
  if (byGuid) return byGuid;
  for (const order of ctx.orders.values()) if (order.externalId === key) return order;
  return undefined;
}

/** Toast's timestamp format, e.g. 2021-07-30T11:57:46.235+0000. @param {Date} at */
function toastDate(at) {
  return at.toISOString().replace("Z", "+0000");
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
