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
// - GET  /menus/v3/menus                            the published menus, whole, in one answer (404 when none)
//   https://doc.toasttab.com/openapi/menusv3/operation/menusGet
// - GET  /stock/v1/inventory[?status=]              the items OUT_OF_STOCK or QUANTITY (IN_STOCK ones are not listed)
//   https://doc.toasttab.com/openapi/stock/operation/getInventory
//
// State a test may set (`double.state("toast")`, or `POST /_control/state { vendor: "toast", key, value }`):
// - `clients = { [clientId]: clientSecret }`: only those log in; unset, any non-empty pair does.
// - `restaurants = { [guid]: { name?, currencyCode?, timeZone?, ... } }` (Toast's `General` fields): only
//   those restaurants exist, and orders calls for any other answer 403; unset, every GUID is a
//   restaurant named "Double Bistro" selling in USD in America/New_York.
// - `menu`: the restaurant's menu, in one of two forms; unset, `DEFAULT_MENU` (two menus, three groups,
//   five items a guest sees, one hidden, a cheese and a temperature modifier group).
//   - A menus API V3 answer (`{ menus, modifierGroupReferences, modifierOptionReferences }`, see
//     `bigMenu`) as the restaurant configured it: entities may carry V2's `visibility` array, and
//     GET /menus/v3/menus leaves out those without ORDERING_PARTNERS (V3 answers only what the partner
//     may see: https://doc.toasttab.com/doc/devguide/apiComparingMenusAPIV2AndV3.html). Its item and
//     option prices, per placement (the same item may cost more on the Dinner menu), are the prices
//     /prices and /orders use for the group a selection names, and a selection of a listed item must name
//     a menu group holding it (`itemGroup`), a modifier a modifier group holding it (`optionGroup`),
//     else 400: "all selections must have valid item and itemGroup fields".
//   - `{ [item or modifier GUID]: price }`, decimal prices only: nothing is published, so GET /menus
//     answers 404 as Toast does for a restaurant without published menus.
//   In both, an item not listed (or listed without a price) is priced at the selection's own
//   `openPriceAmount` (Toast's price for an open-price item), else it is an unknown entity (404, as
//   the prices and orders endpoints document).
// - `stock = { [item or option GUID]: { status: "OUT_OF_STOCK" | "QUANTITY" | "IN_STOCK", quantity? } }`:
//   what GET /stock/v1/inventory lists (unset: everything in stock).
// - `catalogFaults = Fault[]` (server.mjs's `status` and `delay` faults, e.g. `{ kind: "status",
//   status: 429, retryAfter: 1 }`): one is taken by each GET /menus/v3/menus call, in order; the
//   create-order faults do not reach the menus endpoint, nor these the orders endpoints.
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
const ORDERING_PARTNERS = "ORDERING_PARTNERS";
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
    if (req.method === "GET" && req.path === "/menus/v3/menus") {
      return publishedMenus(req.headers, ctx);
    }
    if (req.method === "GET" && req.path === "/stock/v1/inventory") {
      return inventory(req.headers, req.query, ctx);
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
 * A selection's (or modifier's) unit price in cents: the menu's price for its item (or modifier
 * option) in the group it names, else its own `openPriceAmount`; null when neither says (an entity Toast does not know).
 * @param {VendorContext} ctx @param {any} selection @param {"item" | "option"} kind
 */
function unitPriceCents(ctx, selection, kind) {
  const index = menuIndex(ctx);
  const group = kind === "item" ? selection.itemGroup?.guid : selection.optionGroup?.guid;
  const prices = kind === "item" ? index.itemPrices : index.optionPrices;
  // A wire menu prices each placement (Toast resolves menu-specific prices per menu).
  const listed = prices.get(`${group}/${selection.item.guid}`) ?? prices.get(selection.item.guid);
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
  const misplaced = misplacedSelection(ctx, selection);
  if (misplaced) return { error: toastError(ctx, 400, misplaced) };
  const unit = unitPriceCents(ctx, selection, "item");
  if (unit === null) return { error: unknownEntity(ctx, selection.item.guid) };
  let modifierCents = 0;
  const modifiers = [];
  for (const modifier of selection.modifiers ?? []) {
    if (modifier.selectionType === "SPECIAL_REQUEST") {
      modifiers.push({ ...modifier, price: 0 });
      continue;
    }
    const price = unitPriceCents(ctx, modifier, "option");
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

// ----------------------------------------------------------------------------------- menus

/**
 * The double's default restaurant menu (the `menu` state key unset), as a menus API V3 answer with
 * V2-style `visibility` on the entity GET /menus leaves out. Food has Burgers (with a nested
 * Veggie group) and Sides; Drinks has one group. Burgers take a temperature (exactly one) and up to
 * two cheeses (Cheddar may be doubled).
 * Menu, MenuGroup, MenuItem, ModifierGroup, ModifierOption: https://doc.toasttab.com/openapi/menusv3/tag/Data-definitions/schema/Restaurant
 */
export const DEFAULT_MENU = Object.freeze({
  menus: [
    {
      guid: "d0000001-0000-4000-8000-000000000001",
      name: "Food",
      menuGroups: [
        {
          guid: "d0000002-0000-4000-8000-000000000001",
          name: "Burgers",
          menuItems: [
            menuItem("d0000003-0000-4000-8000-000000000001", "Classic Burger", 10, [1, 2], {
              description: "Beef patty, lettuce, tomato",
            }),
            menuItem("d0000003-0000-4000-8000-000000000009", "Staff Meal", 0, [], {
              visibility: ["POS"],
            }),
          ],
          menuGroups: [
            {
              guid: "d0000002-0000-4000-8000-000000000002",
              name: "Veggie",
              menuItems: [
                menuItem("d0000003-0000-4000-8000-000000000002", "Veggie Burger", 9.5, [2]),
              ],
              menuGroups: [],
            },
          ],
        },
        {
          guid: "d0000002-0000-4000-8000-000000000003",
          name: "Sides",
          menuItems: [
            menuItem("d0000003-0000-4000-8000-000000000003", "Fries", 4.5, []),
            menuItem("d0000003-0000-4000-8000-000000000004", "Onion Rings", 5, []),
          ],
          menuGroups: [],
        },
      ],
    },
    {
      guid: "d0000001-0000-4000-8000-000000000002",
      name: "Drinks",
      menuGroups: [
        {
          guid: "d0000002-0000-4000-8000-000000000004",
          name: "Soft Drinks",
          menuItems: [menuItem("d0000003-0000-4000-8000-000000000005", "Lemonade", 3, [])],
          menuGroups: [],
        },
      ],
    },
  ],
  modifierGroupReferences: {
    1: modifierGroup(1, "d0000004-0000-4000-8000-000000000001", "Temperature", 1, 1, [11, 12, 13]),
    2: modifierGroup(2, "d0000004-0000-4000-8000-000000000002", "Cheese", 0, 2, [21, 22]),
  },
  modifierOptionReferences: {
    11: modifierOption(11, "d0000005-0000-4000-8000-000000000011", "Rare", 0),
    12: modifierOption(12, "d0000005-0000-4000-8000-000000000012", "Medium", 0),
    13: modifierOption(13, "d0000005-0000-4000-8000-000000000013", "Well Done", 0),
    21: modifierOption(21, "d0000005-0000-4000-8000-000000000021", "Cheddar", 1.5, {
      allowsDuplicates: true,
    }),
    22: modifierOption(22, "d0000005-0000-4000-8000-000000000022", "Swiss", 1.75),
  },
});

/**
 * A menus API V3 answer with `n` items in groups of 100 under one menu, every item taking one
 * "Extras" modifier group (up to three of two options). Item i is "Item i", priced 5.00 plus i
 * cents modulo 1000; its GUID is `itemGuid(i)`, its group's `groupGuid(floor(i / 100))`.
 * @param {number} n
 */
export function bigMenu(n) {
  const groups = [];
  for (let g = 0; g * 100 < n; g++) {
    const menuItems = [];
    for (let i = g * 100; i < Math.min(n, (g + 1) * 100); i++) {
      menuItems.push(menuItem(bigMenu.itemGuid(i), `Item ${i}`, 5 + (i % 1000) / 100, [1]));
    }
    groups.push({ guid: bigMenu.groupGuid(g), name: `Group ${g}`, menuItems, menuGroups: [] });
  }
  return {
    menus: [{ guid: "b1600000-0000-4000-8000-000000000000", name: "Big Menu", menuGroups: groups }],
    modifierGroupReferences: {
      1: modifierGroup(1, "b1600003-0000-4000-8000-000000000001", "Extras", 0, 3, [2, 3], {
        isMultiSelect: true,
      }),
    },
    modifierOptionReferences: {
      2: modifierOption(2, "b1600004-0000-4000-8000-000000000002", "Extra Sauce", 0.5, {
        allowsDuplicates: true,
      }),
      3: modifierOption(3, "b1600004-0000-4000-8000-000000000003", "Side Salad", 2),
    },
  };
}
bigMenu.itemGuid = (/** @type {number} */ i) =>
  `b1600001-0000-4000-8000-${String(i).padStart(12, "0")}`;
bigMenu.groupGuid = (/** @type {number} */ g) =>
  `b1600002-0000-4000-8000-${String(g).padStart(12, "0")}`;

/**
 * A MenuItem with the fields the menus API returns that matter here.
 * @param {string} guid @param {string} name @param {number | null} price
 * @param {number[]} modifierGroupReferences @param {Record<string, unknown>} [extra]
 */
function menuItem(guid, name, price, modifierGroupReferences, extra = {}) {
  return {
    guid,
    name,
    kitchenName: "",
    description: "",
    price,
    pricingStrategy: price === null ? "OPEN_PRICE" : "BASE_PRICE",
    pricingRules: null,
    plu: "",
    sku: "",
    modifierGroupReferences,
    ...extra,
  };
}

/**
 * @param {number} referenceId @param {string} guid @param {string} name
 * @param {number} minSelections @param {number | null} maxSelections @param {number[]} options
 * @param {Record<string, unknown>} [extra]
 */
function modifierGroup(referenceId, guid, name, minSelections, maxSelections, options, extra = {}) {
  return {
    referenceId,
    guid,
    name,
    pricingStrategy: "NONE",
    pricingRules: null,
    defaultOptionsChargePrice: "YES",
    defaultOptionsSubstitutionPricing: "NO",
    minSelections,
    maxSelections,
    requiredMode: minSelections > 0 ? "REQUIRED" : "OPTIONAL_FORCE_SHOW",
    isMultiSelect: maxSelections !== 1,
    modifierOptionReferences: options,
    ...extra,
  };
}

/**
 * @param {number} referenceId @param {string} guid @param {string} name @param {number | null} price
 * @param {Record<string, unknown>} [extra]
 */
function modifierOption(referenceId, guid, name, price, extra = {}) {
  return {
    referenceId,
    guid,
    name,
    kitchenName: "",
    description: "",
    price,
    pricingStrategy: "BASE_PRICE",
    pricingRules: null,
    isDefault: false,
    allowsDuplicates: false,
    modifierGroupReferences: [],
    ...extra,
  };
}

/** @param {unknown} menu @returns {menu is { menus: any[], modifierGroupReferences?: Record<string, any>, modifierOptionReferences?: Record<string, any> }} */
function isWireMenu(menu) {
  return (
    typeof menu === "object" && menu !== null && Array.isArray(/** @type {any} */ (menu).menus)
  );
}

/** @param {VendorContext} ctx */
function currentMenu(ctx) {
  return ctx.state.menu ?? DEFAULT_MENU;
}

/**
 * The prices the menu sets (by GUID in a price-only menu, by `<group GUID>/<GUID>` in a wire menu),
 * and where a wire menu places each item and option (null for a price-only menu, which places
 * nothing).
 * @param {VendorContext} ctx
 */
function menuIndex(ctx) {
  const menu = currentMenu(ctx);
  /** @type {Map<string, number>} */
  const itemPrices = new Map();
  /** @type {Map<string, number>} */
  const optionPrices = new Map();
  if (!isWireMenu(menu)) {
    for (const [guid, price] of Object.entries(/** @type {Record<string, unknown>} */ (menu))) {
      if (typeof price !== "number") continue;
      itemPrices.set(guid, price);
      optionPrices.set(guid, price);
    }
    return { itemPrices, optionPrices, itemGroups: null, optionGroups: null };
  }
  /** @type {Map<string, Set<string>>} */
  const itemGroups = new Map();
  /** @type {Map<string, Set<string>>} */
  const optionGroups = new Map();
  const place = (
    /** @type {Map<string, Set<string>>} */ map,
    /** @type {string} */ guid,
    /** @type {string} */ group,
  ) => {
    const set = map.get(guid) ?? new Set();
    set.add(group);
    map.set(guid, set);
  };
  const walk = (/** @type {any} */ group) => {
    for (const item of group.menuItems ?? []) {
      if (typeof item.price === "number") itemPrices.set(`${group.guid}/${item.guid}`, item.price);
      place(itemGroups, item.guid, group.guid);
    }
    for (const child of group.menuGroups ?? []) walk(child);
  };
  for (const m of menu.menus) for (const group of m.menuGroups ?? []) walk(group);
  const options = menu.modifierOptionReferences ?? {};
  for (const group of Object.values(menu.modifierGroupReferences ?? {})) {
    for (const ref of group.modifierOptionReferences ?? []) {
      const option = options[String(ref)];
      if (!option) continue;
      if (typeof option.price === "number") {
        optionPrices.set(`${group.guid}/${option.guid}`, option.price);
      }
      place(optionGroups, option.guid, group.guid);
    }
  }
  return { itemPrices, optionPrices, itemGroups, optionGroups };
}

/**
 * Why a selection names its item or a modifier under a group that does not hold it, or null.
 * @param {VendorContext} ctx @param {any} selection @returns {string | null}
 */
function misplacedSelection(ctx, selection) {
  const { itemGroups, optionGroups } = menuIndex(ctx);
  const groups = itemGroups?.get(selection.item.guid);
  if (groups && !groups.has(selection.itemGroup.guid)) {
    return `The menu group ${selection.itemGroup.guid} does not contain the menu item ${selection.item.guid}`;
  }
  for (const modifier of selection.modifiers ?? []) {
    if (modifier.selectionType === "SPECIAL_REQUEST") continue;
    const holders = optionGroups?.get(modifier.item.guid);
    if (holders && !holders.has(modifier.optionGroup.guid)) {
      return `The modifier group ${modifier.optionGroup.guid} does not contain the modifier ${modifier.item.guid}`;
    }
  }
  return null;
}

/**
 * GET /menus/v3/menus: the published menus with only what an ordering partner may see, whole (the
 * endpoint has no paging); 404 when nothing is published. A `catalogFaults` fault goes first.
 * @param {Record<string, string>} headers @param {VendorContext} ctx
 */
async function publishedMenus(headers, ctx) {
  const denied = checkRequest(headers, ctx);
  if (denied) return denied;
  const faults = /** @type {import("./server.mjs").Fault[] | undefined} */ (
    ctx.state.catalogFaults
  );
  const injected = await applyCommonFault(faults?.shift());
  if (injected) return injected;
  const menu = currentMenu(ctx);
  if (!isWireMenu(menu)) {
    return toastError(
      ctx,
      404,
      "No published data was found for the restaurant. Ensure that the restaurant GUID is correct and that its data has been published.",
    );
  }
  const restaurant = headers["toast-restaurant-external-id"] ?? "";
  return ctx.reply(200, {
    restaurantGuid: restaurant,
    lastUpdated: toastDate(new Date()),
    restaurantTimeZone: restaurantGeneral(ctx, restaurant)?.timeZone ?? "America/New_York",
    ...visibleToPartners(menu),
    preModifierGroupReferences: {},
  });
}

/**
 * The menu as V3 answers a partner: entities whose `visibility` lacks ORDERING_PARTNERS left out,
 * and no `visibility` arrays (V3 has none).
 * @param {{ menus: any[], modifierGroupReferences?: Record<string, any>, modifierOptionReferences?: Record<string, any> }} menu
 */
function visibleToPartners(menu) {
  const visible = (/** @type {any} */ entity) =>
    !Array.isArray(entity?.visibility) || entity.visibility.includes(ORDERING_PARTNERS);
  const strip = (/** @type {any} */ entity) => {
    const { visibility: _visibility, ...rest } = entity;
    return rest;
  };
  const group = (/** @type {any} */ g) => ({
    ...strip(g),
    menuItems: (g.menuItems ?? []).filter(visible).map(strip),
    menuGroups: (g.menuGroups ?? []).filter(visible).map(group),
  });
  /** @type {Record<string, any>} */
  const options = {};
  for (const [ref, option] of Object.entries(menu.modifierOptionReferences ?? {})) {
    if (visible(option)) options[ref] = strip(option);
  }
  /** @type {Record<string, any>} */
  const groups = {};
  for (const [ref, g] of Object.entries(menu.modifierGroupReferences ?? {})) {
    if (!visible(g)) continue;
    groups[ref] = {
      ...strip(g),
      modifierOptionReferences: (g.modifierOptionReferences ?? []).filter(
        (/** @type {number} */ r) => options[String(r)] !== undefined,
      ),
    };
  }
  return {
    menus: menu.menus.filter(visible).map((m) => ({
      ...strip(m),
      menuGroups: (m.menuGroups ?? []).filter(visible).map(group),
    })),
    modifierGroupReferences: groups,
    modifierOptionReferences: options,
  };
}

/**
 * GET /stock/v1/inventory: the `stock` entries OUT_OF_STOCK or QUANTITY, as MenuItemInventory
 * objects, limited to `status` when the query names one.
 * @param {Record<string, string>} headers @param {URLSearchParams} query @param {VendorContext} ctx
 */
function inventory(headers, query, ctx) {
  const denied = checkRequest(headers, ctx);
  if (denied) return denied;
  const stock = /** @type {Record<string, { status: string, quantity?: number }> | undefined} */ (
    ctx.state.stock
  );
  const only = query.get("status");
  const listed = Object.entries(stock ?? {})
    .filter(([, s]) => s.status === "OUT_OF_STOCK" || s.status === "QUANTITY")
    .filter(([, s]) => !only || s.status === only)
    .map(([guid, s]) => ({
      guid,
      itemGuidValidity: "VALID",
      status: s.status,
      quantity: s.status === "QUANTITY" ? (s.quantity ?? 0) : null,
      multiLocationId: null,
      versionId: guid,
    }));
  return ctx.reply(200, listed);
}

/**
 * A `menus_updated` webhook message: https://doc.toasttab.com/doc/devguide/apiMenusWebhook.html
 * @param {string} restaurantGuid @param {{ eventGuid?: string, timestamp?: string }} [options]
 */
export function menusUpdatedEvent(restaurantGuid, options = {}) {
  const timestamp = options.timestamp ?? new Date().toISOString();
  return {
    timestamp,
    eventCategory: "menus",
    eventType: "menus_updated",
    guid: options.eventGuid ?? randomUUID(),
    details: { restaurantGuid, publishedDate: timestamp },
  };
}

/**
 * A stock webhook message for one item (or modifier item reference):
 * https://doc.toasttab.com/doc/devguide/apiStockWebhook.html
 * @param {string} restaurantGuid @param {string} itemGuid
 * @param {"IN_STOCK" | "QUANTITY" | "OUT_OF_STOCK"} status
 * @param {{ quantity?: number, eventGuid?: string }} [options]
 */
export function stockEvent(restaurantGuid, itemGuid, status, options = {}) {
  const eventType =
    status === "OUT_OF_STOCK"
      ? "out_of_stock"
      : status === "QUANTITY"
        ? "low_quantity"
        : "in_stock";
  return {
    timestamp: new Date().toISOString(),
    eventCategory: "stock",
    eventType,
    guid: options.eventGuid ?? randomUUID(),
    details: {
      itemGuid,
      restaurantGuid,
      status,
      ...(status === "QUANTITY" ? { quantity: options.quantity ?? 0 } : {}),
      multiLocationId: null,
      versionId: itemGuid,
    },
  };
}
