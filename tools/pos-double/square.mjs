// @ts-check
// The Square part of the POS double: the endpoints the Square adapter calls,
// in Square's wire format, with Square's error envelope
// `{ errors: [{ category, code, detail, field }] }`:
//   POST /v2/orders            CreateOrder (idempotent by idempotency_key; totals computed like Square)
//   GET  /v2/orders/{order_id} RetrieveOrder
//   PUT  /v2/orders/{order_id} UpdateOrder (current version required; fulfillment states forward only;
//                              a paid order cannot be canceled; COMPLETED needs final fulfillments and
//                              nothing due; COMPLETED and CANCELED orders cannot be updated)
//   POST /v2/payments          CreatePayment (EXTERNAL source; idempotent)
//   GET  /v2/locations/{id}    RetrieveLocation (NOT_FOUND for a location the seller does not have;
//                              `main` is the seller's main location, the first one)
//   GET  /oauth2/authorize     the seller's consent, given at once: a 302 to redirect_uri with a
//                              single-use code and the state (error=access_denied when `oauthDeclined`)
//   POST /oauth2/token         ObtainToken with grant_type authorization_code (the code once, by the
//                              app it was issued to) or refresh_token
//   GET  /v2/catalog/list      ListCatalog (types filter, 100 objects a page, opaque cursor; INVALID_CURSOR
//                              for a cursor it did not issue)
// Faults (see server.mjs) apply to CreateOrder only; ListCatalog has its own (`catalogFaults`).
//
// State (`double.state("square")`), all optional:
//   refreshRefused: true       ObtainToken answers 401 (a revoked refresh token)
//   oauthDeclined: true        the seller declines at the authorize page
//   issuedTokens: string[]     access tokens issued by refresh, oldest first (read it in tests)
//   locations: Record<string, object>  the seller's locations by id (Square's Location fields);
//                              unset: DEFAULT_LOCATIONS, the ids the tests connect with, all ACTIVE
//   interleavedUpdates: number the next N UpdateOrder calls find the order changed by someone else
//                              since it was read (its version moved on), as a kitchen tapping the POS would
//   catalog: object[]          the seller's catalog, top-level CatalogObjects in Square's wire format
//                              (ITEM with nested variations, MODIFIER_LIST with nested modifiers,
//                              CATEGORY, …; `bigCatalog(n)` builds one). Unset: a small default menu.
//                              Once set, CreateOrder refuses (NOT_FOUND) line and modifier
//                              catalog_object_ids it does not hold, and names lines after it
//   catalogFaults: Fault[]     faults for the next ListCatalog calls, one taken per call (e.g.
//                              `{ kind: "status", status: 429, retryAfter: 1 }`)
// Any non-empty bearer token is accepted unless an `unauthorized_once` fault
// has revoked it; a refresh issues a fresh one.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { applyCommonFault } from "./server.mjs";

/** @typedef {import("./server.mjs").VendorModule} VendorModule */
/** @typedef {import("./server.mjs").VendorContext} VendorContext */
/** @typedef {{ status: number, body: unknown, headers?: Record<string, string> }} Answer */
/** @typedef {{ amount: number, currency: string }} Money */

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A Square-looking id (they are 29 base62 characters ending in "ZY" for orders). */
function squareId(/** @type {number} */ length = 27, suffix = "ZY") {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += ID_ALPHABET[b % ID_ALPHABET.length];
  return out + suffix;
}

/** One Square error answer. */
function squareError(
  /** @type {number} */ status,
  /** @type {string} */ category,
  /** @type {string} */ code,
  /** @type {string} */ detail,
  /** @type {string | undefined} */ field = undefined,
) {
  return {
    status,
    body: { errors: [{ category, code, detail, ...(field ? { field } : {}) }] },
  };
}

/** The Square error an injected status stands for, when the fault brings no body of its own. */
/** Square's 400 for a request it refuses as invalid. */
const invalid = (
  /** @type {string} */ code,
  /** @type {string} */ detail,
  /** @type {string} */ field,
) => squareError(400, "INVALID_REQUEST_ERROR", code, detail, field);

/**
 * What Square answers a write without a JSON body or a usable idempotency key
 * (its length limit differs per endpoint), or null when both are fine.
 * @param {any} body @param {number} maxKeyLength
 */
function invalidBody(body, maxKeyLength) {
  if (!isObject(body))
    return invalid("EXPECTED_JSON_BODY", "The request body must be a JSON object", "");
  if (typeof body.idempotency_key !== "string" || body.idempotency_key === "")
    return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "idempotency_key");
  if (body.idempotency_key.length > maxKeyLength) {
    return invalid(
      "VALUE_TOO_LONG",
      `Must be at most ${maxKeyLength} characters`,
      "idempotency_key",
    );
  }
  return null;
}

function squareErrorForStatus(/** @type {number} */ status) {
  if (status === 429) return squareError(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limited");
  if (status === 401)
    return squareError(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "Unauthorized");
  if (status === 403) return squareError(403, "AUTHENTICATION_ERROR", "FORBIDDEN", "Forbidden");
  if (status === 503)
    return squareError(503, "API_ERROR", "SERVICE_UNAVAILABLE", "Service unavailable");
  if (status >= 500)
    return squareError(status, "API_ERROR", "INTERNAL_SERVER_ERROR", "Internal server error");
  return squareError(status, "INVALID_REQUEST_ERROR", "BAD_REQUEST", "Bad request");
}

/**
 * A JSON text with sorted keys, so two equal bodies compare equal whatever their key order.
 * @param {unknown} value
 * @returns {string}
 */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const fingerprint = (/** @type {unknown} */ value) =>
  createHash("sha256").update(canonical(value)).digest("hex");

/**
 * A Map kept in the vendor's free state under `key`.
 * @template V
 * @param {Record<string, unknown>} state
 * @param {string} key
 * @returns {Map<string, V>}
 */
function stateMap(state, key) {
  let map = state[key];
  if (!(map instanceof Map)) {
    map = new Map();
    state[key] = map;
  }
  return /** @type {Map<string, V>} */ (map);
}

/** @returns {Set<string>} */
function revokedTokens(/** @type {Record<string, unknown>} */ state) {
  let set = state.revokedTokens;
  if (!(set instanceof Set)) {
    set = new Set();
    state.revokedTokens = set;
  }
  return /** @type {Set<string>} */ (set);
}

/** The bearer token, or an answer refusing the request. */
function authenticate(
  /** @type {Record<string, string>} */ headers,
  /** @type {Record<string, unknown>} */ state,
) {
  const match = /^Bearer (.+)$/.exec(headers.authorization ?? "");
  if (!match?.[1]) {
    return {
      refused: squareError(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "Missing access token"),
    };
  }
  const token = match[1];
  if (revokedTokens(state).has(token)) {
    return {
      refused: squareError(
        401,
        "AUTHENTICATION_ERROR",
        "ACCESS_TOKEN_EXPIRED",
        "The access token has expired; refresh it",
      ),
    };
  }
  return { token };
}

const isObject = (/** @type {unknown} */ v) =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** A Money object's problem, if any. */
function moneyProblem(/** @type {unknown} */ money, /** @type {string} */ field) {
  if (!isObject(money)) {
    return squareError(
      400,
      "INVALID_REQUEST_ERROR",
      "MISSING_REQUIRED_PARAMETER",
      `${field} is required`,
      field,
    );
  }
  const m = /** @type {Record<string, unknown>} */ (money);
  if (!Number.isInteger(m.amount) || /** @type {number} */ (m.amount) < 0) {
    return squareError(
      400,
      "INVALID_REQUEST_ERROR",
      "INVALID_VALUE",
      "amount must be a non-negative integer",
      `${field}.amount`,
    );
  }
  if (typeof m.currency !== "string" || !/^[A-Z]{3}$/.test(m.currency)) {
    return squareError(
      400,
      "INVALID_REQUEST_ERROR",
      "INVALID_ENUM_VALUE",
      "currency must be ISO 4217",
      `${field}.currency`,
    );
  }
  return null;
}

/**
 * Validates a CreateOrder body the way Square does for the fields Orderlane
 * uses, and returns the first problem as Square would answer it.
 * @param {any} body
 * @returns {Answer | null}
 */
function validateCreateOrder(body) {
  const bad = invalidBody(body, 192);
  if (bad) return bad;
  const order = body.order;
  if (!isObject(order)) return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "order");
  if (typeof order.location_id !== "string" || order.location_id === "")
    return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "order.location_id");
  if (
    order.reference_id !== undefined &&
    (typeof order.reference_id !== "string" || order.reference_id.length > 40)
  )
    return invalid("VALUE_TOO_LONG", "Must be at most 40 characters", "order.reference_id");
  if (!Array.isArray(order.line_items) || order.line_items.length === 0)
    return invalid("ARRAY_EMPTY", "An order needs line items", "order.line_items");
  /** @type {string | null} */
  let currency = null;
  const sameCurrency = (/** @type {any} */ money, /** @type {string} */ field) => {
    currency ??= money.currency;
    return money.currency === currency
      ? null
      : invalid("INVALID_VALUE", "All amounts must be in one currency", `${field}.currency`);
  };
  for (const [i, item] of order.line_items.entries()) {
    const at = `order.line_items[${i}]`;
    if (!isObject(item)) return invalid("EXPECTED_OBJECT", "Expected an object", at);
    if (typeof item.quantity !== "string" || !/^[1-9]\d{0,11}$/.test(item.quantity))
      return invalid(
        "INVALID_VALUE",
        "quantity must be a positive integer string",
        `${at}.quantity`,
      );
    if (!item.catalog_object_id && !item.name)
      return invalid("MISSING_REQUIRED_PARAMETER", "Ad hoc line items need a name", `${at}.name`);
    if (!item.catalog_object_id || item.base_price_money !== undefined) {
      const problem =
        moneyProblem(item.base_price_money, `${at}.base_price_money`) ??
        sameCurrency(item.base_price_money, `${at}.base_price_money`);
      if (problem) return problem;
    }
    for (const [j, modifier] of (item.modifiers ?? []).entries()) {
      const mat = `${at}.modifiers[${j}]`;
      if (!modifier.catalog_object_id && !modifier.name)
        return invalid("MISSING_REQUIRED_PARAMETER", "Ad hoc modifiers need a name", `${mat}.name`);
      if (!modifier.catalog_object_id || modifier.base_price_money !== undefined) {
        const problem =
          moneyProblem(modifier.base_price_money, `${mat}.base_price_money`) ??
          sameCurrency(modifier.base_price_money, `${mat}.base_price_money`);
        if (problem) return problem;
      }
    }
  }
  for (const [i, discount] of (order.discounts ?? []).entries()) {
    const at = `order.discounts[${i}]`;
    if (discount.type === "FIXED_AMOUNT") {
      const problem =
        moneyProblem(discount.amount_money, `${at}.amount_money`) ??
        sameCurrency(discount.amount_money, `${at}.amount_money`);
      if (problem) return problem;
    } else {
      return invalid(
        "INVALID_ENUM_VALUE",
        "The double supports FIXED_AMOUNT discounts only",
        `${at}.type`,
      );
    }
    if (discount.scope !== "ORDER")
      return invalid("INVALID_ENUM_VALUE", "The double supports ORDER scope only", `${at}.scope`);
  }
  for (const [i, charge] of (order.service_charges ?? []).entries()) {
    const at = `order.service_charges[${i}]`;
    if (charge.percentage !== undefined)
      return invalid(
        "INVALID_VALUE",
        "The double supports amount_money service charges only",
        `${at}.percentage`,
      );
    const problem =
      moneyProblem(charge.amount_money, `${at}.amount_money`) ??
      sameCurrency(charge.amount_money, `${at}.amount_money`);
    if (problem) return problem;
    if (!["SUBTOTAL_PHASE", "TOTAL_PHASE"].includes(charge.calculation_phase))
      return invalid(
        "INVALID_ENUM_VALUE",
        "Unsupported calculation phase",
        `${at}.calculation_phase`,
      );
    // Square: a TOTAL_PHASE service charge cannot be taxable.
    if (charge.calculation_phase === "TOTAL_PHASE" && charge.taxable === true)
      return invalid(
        "INVALID_VALUE",
        "A TOTAL_PHASE service charge cannot be taxable",
        `${at}.taxable`,
      );
  }
  if (order.taxes !== undefined && order.taxes.length > 0)
    return invalid("INVALID_VALUE", "The double does not compute taxes", "order.taxes");
  const fulfillments = order.fulfillments ?? [];
  // Square: one fulfillment per order created through the API.
  if (fulfillments.length > 1)
    return invalid("ARRAY_LENGTH_TOO_LONG", "At most one fulfillment", "order.fulfillments");
  for (const [i, fulfillment] of fulfillments.entries()) {
    const at = `order.fulfillments[${i}]`;
    if (!["PICKUP", "DELIVERY", "SHIPMENT"].includes(fulfillment.type))
      return invalid("INVALID_ENUM_VALUE", "Unknown fulfillment type", `${at}.type`);
    if (fulfillment.state !== undefined && fulfillment.state !== "PROPOSED")
      return invalid("INVALID_VALUE", "A new fulfillment must be PROPOSED", `${at}.state`);
    if (fulfillment.type === "PICKUP") {
      const details = fulfillment.pickup_details;
      if (!isObject(details))
        return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", `${at}.pickup_details`);
      if (!details.recipient?.display_name)
        return invalid(
          "MISSING_REQUIRED_PARAMETER",
          "Field must be set",
          `${at}.pickup_details.recipient.display_name`,
        );
      if ((details.schedule_type ?? "SCHEDULED") === "SCHEDULED" && !details.pickup_at)
        return invalid(
          "MISSING_REQUIRED_PARAMETER",
          "pickup_at is required when SCHEDULED",
          `${at}.pickup_details.pickup_at`,
        );
      if (details.note !== undefined && String(details.note).length > 500)
        return invalid(
          "VALUE_TOO_LONG",
          "Must be at most 500 characters",
          `${at}.pickup_details.note`,
        );
    }
  }
  return null;
}

/** Splits `amount` over `weights` in proportion, the remainder on the largest shares first. */
function apportion(/** @type {number} */ amount, /** @type {number[]} */ weights) {
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return weights.map(() => 0);
  const raw = weights.map((w) => (amount * w) / total);
  const out = raw.map(Math.floor);
  let left = amount - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => ({ i, frac: r - Math.floor(r) })).sort((a, b) => b.frac - a.frac);
  for (const { i } of order) {
    if (left <= 0) break;
    out[i] = /** @type {number} */ (out[i]) + 1;
    left -= 1;
  }
  return out;
}

/** How long the double's kitchen takes for an ASAP pickup. */
const ASAP_PREP_MS = 15 * 60 * 1000;

/**
 * The order Square would store for a valid CreateOrder body: ids, uids, states and totals filled
 * in; catalog lines and modifiers named after `catalog` where the test set one.
 * @param {any} requested @param {string} now
 * @param {Map<string, { name: string, variationName?: string }> | null} catalog
 */
function buildOrder(requested, now, catalog = null) {
  const currency = requested.line_items[0].base_price_money?.currency ?? "USD";
  const money = (/** @type {number} */ amount) => ({ amount, currency });
  const lineItems = requested.line_items.map((/** @type {any} */ item, /** @type {number} */ i) => {
    const quantity = Number(item.quantity);
    const base = item.base_price_money?.amount ?? 0;
    const modifiers = (item.modifiers ?? []).map(
      (/** @type {any} */ m, /** @type {number} */ j) => ({
        uid: `mod-${i}-${j}`,
        ...(m.catalog_object_id && catalog?.get(m.catalog_object_id)
          ? { name: catalog.get(m.catalog_object_id)?.name }
          : {}),
        ...m,
        quantity: "1",
        base_price_money: money(m.base_price_money?.amount ?? 0),
        total_price_money: money((m.base_price_money?.amount ?? 0) * quantity),
      }),
    );
    const unit =
      base +
      modifiers.reduce(
        (/** @type {number} */ s, /** @type {any} */ m) => s + m.base_price_money.amount,
        0,
      );
    return {
      uid: `line-${i}`,
      ...item,
      name:
        item.name ??
        catalog?.get(item.catalog_object_id)?.name ??
        `Catalog item ${item.catalog_object_id}`,
      variation_name:
        item.variation_name ?? catalog?.get(item.catalog_object_id)?.variationName ?? "Regular",
      item_type: "ITEM",
      base_price_money: money(base),
      modifiers,
      gross_sales_money: money(unit * quantity),
      variation_total_price_money: money(base * quantity),
    };
  });
  const gross = lineItems.map((/** @type {any} */ l) => l.gross_sales_money.amount);
  const grossTotal = gross.reduce((/** @type {number} */ a, /** @type {number} */ b) => a + b, 0);
  // Square applies order-scoped fixed discounts across the lines, never below zero.
  const discounts = (requested.discounts ?? []).map(
    (/** @type {any} */ d, /** @type {number} */ i) => ({
      uid: d.uid ?? `discount-${i}`,
      ...d,
      applied_money: money(0),
    }),
  );
  let discountLeft = grossTotal;
  for (const d of discounts) {
    const applied = Math.min(d.amount_money.amount, discountLeft);
    d.applied_money = money(applied);
    discountLeft -= applied;
  }
  const discountTotal = grossTotal - discountLeft;
  const perLineDiscount = apportion(discountTotal, gross);
  for (const [i, line] of lineItems.entries()) {
    const lineDiscount = perLineDiscount[i] ?? 0;
    line.total_discount_money = money(lineDiscount);
    line.total_tax_money = money(0);
    line.total_money = money(line.gross_sales_money.amount - lineDiscount);
  }
  const serviceCharges = (requested.service_charges ?? []).map(
    (/** @type {any} */ c, /** @type {number} */ i) => ({
      uid: c.uid ?? `charge-${i}`,
      ...c,
      applied_money: money(c.amount_money.amount),
      total_money: money(c.amount_money.amount),
      total_tax_money: money(0),
      type: "CUSTOM",
    }),
  );
  const serviceTotal = serviceCharges.reduce(
    (/** @type {number} */ s, /** @type {any} */ c) => s + c.total_money.amount,
    0,
  );
  const total = grossTotal - discountTotal + serviceTotal;
  return {
    id: squareId(),
    ...requested,
    line_items: lineItems,
    discounts: discounts.length > 0 ? discounts : undefined,
    service_charges: serviceCharges.length > 0 ? serviceCharges : undefined,
    fulfillments: (requested.fulfillments ?? []).map(
      (/** @type {any} */ f, /** @type {number} */ i) => ({
        uid: `fulfillment-${i}`,
        ...f,
        ...(f.pickup_details
          ? {
              pickup_details: {
                ...f.pickup_details,
                // Square sets an ASAP pickup's pickup_at to now plus the prep time; the double's
                // kitchen takes 15 minutes: https://developer.squareup.com/reference/square/objects/FulfillmentPickupDetails
                ...(f.pickup_details.schedule_type === "ASAP" && !f.pickup_details.pickup_at
                  ? { pickup_at: new Date(Date.parse(now) + ASAP_PREP_MS).toISOString() }
                  : {}),
                placed_at: now,
              },
            }
          : {}),
        state: "PROPOSED",
      }),
    ),
    state: "OPEN",
    version: 1,
    created_at: now,
    updated_at: now,
    total_money: money(total),
    total_tax_money: money(0),
    total_discount_money: money(discountTotal),
    total_tip_money: money(0),
    total_service_charge_money: money(serviceTotal),
    net_amount_due_money: money(total),
  };
}

/** CreateOrder. */
async function createOrder(/** @type {any} */ req, /** @type {VendorContext} */ ctx) {
  const fault = ctx.takeFault();
  const common = await applyCommonFault(fault);
  if (common) {
    const shaped =
      fault?.kind === "status" && fault.body === undefined
        ? squareErrorForStatus(common.status)
        : common;
    return { ...shaped, headers: common.headers };
  }
  const auth = authenticate(req.headers, ctx.state);
  if (auth.refused) return auth.refused;
  if (fault?.kind === "unauthorized_once") {
    // The presented token is now stale: refused until the client refreshes.
    revokedTokens(ctx.state).add(/** @type {string} */ (auth.token));
    return squareError(
      401,
      "AUTHENTICATION_ERROR",
      "UNAUTHORIZED",
      "The access token is no longer valid",
    );
  }
  const problem = validateCreateOrder(req.json);
  if (problem) return problem;
  const body = req.json;
  const catalog = orderableCatalog(ctx.state);
  const unknown = catalog ? unknownCatalogIds(body.order, catalog) : null;
  if (unknown) return unknown;
  /** @type {Map<string, { fingerprint: string, orderId: string }>} */
  const keys = stateMap(ctx.state, "orderKeys");
  const print = fingerprint(body.order);
  const seen = keys.get(body.idempotency_key);
  let order;
  if (seen) {
    // Square: the same key with another request body is refused, never a second order.
    if (seen.fingerprint !== print) {
      return squareError(
        400,
        "INVALID_REQUEST_ERROR",
        "IDEMPOTENCY_KEY_REUSED",
        "The idempotency key can only be retried with the same request data.",
        "idempotency_key",
      );
    }
    order = ctx.orders.get(seen.orderId);
  } else {
    order = buildOrder(body.order, new Date().toISOString(), catalog);
    ctx.orders.set(order.id, order);
    keys.set(body.idempotency_key, { fingerprint: print, orderId: order.id });
  }
  if (fault?.kind === "accept_then_fail") {
    return squareErrorForStatus(fault.status ?? 500);
  }
  return ctx.reply(200, { order });
}

/** RetrieveOrder. */
function retrieveOrder(
  /** @type {any} */ req,
  /** @type {VendorContext} */ ctx,
  /** @type {string} */ id,
) {
  const auth = authenticate(req.headers, ctx.state);
  if (auth.refused) return auth.refused;
  const order = ctx.orders.get(id);
  if (!order)
    return squareError(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", `Order ${id} not found`);
  return ctx.reply(200, { order });
}

// Fulfillment states in their forward order; CANCELED and FAILED end a fulfillment from any of them.
// FulfillmentState: https://developer.squareup.com/reference/square/enums/FulfillmentState
const FULFILLMENT_PATH = ["PROPOSED", "RESERVED", "PREPARED", "COMPLETED"];
const FINAL_FULFILLMENT_STATES = ["COMPLETED", "CANCELED", "FAILED"];

/** Whether a fulfillment may move from `from` to `to`: forward along the path, or to CANCELED/FAILED, never out of a final state. */
function fulfillmentMoveAllowed(/** @type {string} */ from, /** @type {string} */ to) {
  if (from === to) return true;
  if (FINAL_FULFILLMENT_STATES.includes(from)) return false;
  if (to === "CANCELED" || to === "FAILED") return true;
  const a = FULFILLMENT_PATH.indexOf(from);
  const b = FULFILLMENT_PATH.indexOf(to);
  return a >= 0 && b > a;
}

/**
 * UpdateOrder, for the fields Orderlane changes: the order's state and its fulfillments' states.
 * Square's rules (https://developer.squareup.com/reference/square/orders/update-order,
 * https://developer.squareup.com/docs/orders-api/manage-orders/update-orders): the sparse order
 * carries the current version (VERSION_MISMATCH otherwise); COMPLETED and CANCELED orders cannot
 * be updated; a key already used answers 200 with the order as it is, the update not applied.
 */
function updateOrder(
  /** @type {any} */ req,
  /** @type {VendorContext} */ ctx,
  /** @type {string} */ id,
) {
  const auth = authenticate(req.headers, ctx.state);
  if (auth.refused) return auth.refused;
  const body = req.json;
  if (!isObject(body))
    return invalid("EXPECTED_JSON_BODY", "The request body must be a JSON object", "");
  if (
    body.idempotency_key !== undefined &&
    (typeof body.idempotency_key !== "string" || body.idempotency_key.length > 192)
  )
    return invalid("VALUE_TOO_LONG", "Must be at most 192 characters", "idempotency_key");
  const sparse = body.order;
  if (!isObject(sparse)) return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "order");
  const order = ctx.orders.get(id);
  if (!order)
    return squareError(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", `Order ${id} not found`);
  /** @type {Map<string, string>} */
  const keys = stateMap(ctx.state, "updateKeys");
  if (body.idempotency_key && keys.get(body.idempotency_key) === id)
    return ctx.reply(200, { order });
  const interleaved = Number(ctx.state.interleavedUpdates ?? 0);
  if (interleaved > 0) {
    ctx.state.interleavedUpdates = interleaved - 1;
    order.version += 1;
    order.updated_at = new Date().toISOString();
  }
  if (!Number.isInteger(sparse.version))
    return invalid("MISSING_REQUIRED_PARAMETER", "The order version must be set", "order.version");
  if (sparse.version !== order.version) {
    return squareError(
      409,
      "INVALID_REQUEST_ERROR",
      "VERSION_MISMATCH",
      `Version ${sparse.version} does not match the order's current version ${order.version}`,
      "order.version",
    );
  }
  if (order.state === "COMPLETED" || order.state === "CANCELED") {
    return invalid(
      "BAD_REQUEST",
      `Orders in the ${order.state} state cannot be updated`,
      "order.state",
    );
  }
  if (sparse.location_id !== undefined && sparse.location_id !== order.location_id)
    return invalid("INVALID_VALUE", "location_id cannot be changed", "order.location_id");
  /** @type {Map<string, string>} the fulfillment states after this update */
  const next = new Map(order.fulfillments.map((/** @type {any} */ f) => [f.uid, f.state]));
  for (const [i, change] of (sparse.fulfillments ?? []).entries()) {
    const at = `order.fulfillments[${i}]`;
    const current = next.get(change?.uid);
    if (current === undefined)
      return invalid("NOT_FOUND", `No fulfillment with uid ${change?.uid}`, `${at}.uid`);
    if (change.state === undefined) continue;
    if (![...FULFILLMENT_PATH, "CANCELED", "FAILED"].includes(change.state))
      return invalid("INVALID_ENUM_VALUE", "Unknown fulfillment state", `${at}.state`);
    if (!fulfillmentMoveAllowed(current, change.state)) {
      return invalid(
        "INVALID_VALUE",
        `A fulfillment cannot move from ${current} to ${change.state}`,
        `${at}.state`,
      );
    }
    next.set(change.uid, change.state);
  }
  const allFinal = [...next.values()].every((s) => FINAL_FULFILLMENT_STATES.includes(s));
  if (sparse.state !== undefined && sparse.state !== order.state) {
    if (sparse.state === "CANCELED") {
      // https://developer.squareup.com/forums/t/best-method-to-cancel-order-after-refund/922
      if (order.tenders?.length)
        return invalid(
          "BAD_REQUEST",
          "Orders cannot be canceled after payments have been processed.",
          "order.state",
        );
      if (!allFinal)
        return invalid(
          "BAD_REQUEST",
          "All fulfillments must be COMPLETED, CANCELED, or FAILED for the order to be canceled.",
          "order.state",
        );
    } else if (sparse.state === "COMPLETED") {
      // Fulfillment: an order cannot be COMPLETED before all fulfillments are COMPLETED, CANCELED or
      // FAILED (https://developer.squareup.com/reference/square/objects/Fulfillment); completed orders
      // are fully paid (https://developer.squareup.com/reference/square/enums/OrderState).
      if (!allFinal)
        return invalid(
          "BAD_REQUEST",
          "All fulfillments must have a state of COMPLETED, CANCELED, or FAILED for an order to be able to have a state of COMPLETED.",
          "order.state",
        );
      if ((order.net_amount_due_money?.amount ?? 0) !== 0)
        return invalid(
          "BAD_REQUEST",
          "The order must be fully paid to be COMPLETED",
          "order.state",
        );
    } else {
      return invalid("INVALID_VALUE", `The order cannot be set to ${sparse.state}`, "order.state");
    }
  }
  const now = new Date().toISOString();
  for (const fulfillment of order.fulfillments) {
    const state = next.get(fulfillment.uid);
    if (state !== fulfillment.state) {
      fulfillment.state = state;
      if (fulfillment.pickup_details) {
        const stamp = {
          RESERVED: "accepted_at",
          PREPARED: "ready_at",
          COMPLETED: "picked_up_at",
          CANCELED: "canceled_at",
        }[/** @type {string} */ (state)];
        if (stamp) fulfillment.pickup_details[stamp] = now;
      }
    }
  }
  if (sparse.state !== undefined && sparse.state !== order.state) {
    order.state = sparse.state;
    order.closed_at = now;
  }
  order.version += 1;
  order.updated_at = now;
  if (body.idempotency_key) keys.set(body.idempotency_key, id);
  return ctx.reply(200, { order });
}

/**
 * The seller's locations when a test has not set its own: the ids the adapter and Worker tests
 * connect with, ACTIVE, in US dollars.
 */
const DEFAULT_LOCATIONS = Object.fromEntries(
  ["L8RYWBB6DRWEM", "L_TEST_LOCATION", "L1"].map((id) => [
    id,
    {
      id,
      name: `Double kitchen ${id}`,
      business_name: "Orderlane Double",
      status: "ACTIVE",
      currency: "USD",
      timezone: "America/Los_Angeles",
      country: "US",
      merchant_id: "ML2PMZQDOUBLE",
      type: "PHYSICAL",
    },
  ]),
);

/** RetrieveLocation: https://developer.squareup.com/reference/square/locations-api/retrieve-location */
function retrieveLocation(
  /** @type {any} */ req,
  /** @type {VendorContext} */ ctx,
  /** @type {string} */ id,
) {
  const auth = authenticate(req.headers, ctx.state);
  if (auth.refused) return auth.refused;
  const locations = isObject(ctx.state.locations)
    ? /** @type {Record<string, unknown>} */ (ctx.state.locations)
    : DEFAULT_LOCATIONS;
  // RetrieveLocation: "Specify the string main to return the main location":
  // https://developer.squareup.com/reference/square/locations-api/retrieve-location
  const key = id === "main" ? Object.keys(locations)[0] : id;
  const location = key !== undefined && Object.hasOwn(locations, key) ? locations[key] : undefined;
  if (!location)
    return squareError(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", `Location ${id} not found`);
  return ctx.reply(200, { location });
}

/** CreatePayment, for the EXTERNAL payments Orderlane records against its orders. */
function createPayment(/** @type {any} */ req, /** @type {VendorContext} */ ctx) {
  const auth = authenticate(req.headers, ctx.state);
  if (auth.refused) return auth.refused;
  const body = req.json;
  const bad = invalidBody(body, 45);
  if (bad) return bad;
  if (typeof body.source_id !== "string" || body.source_id === "")
    return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "source_id");
  if (body.source_id !== "EXTERNAL")
    return invalid("INVALID_VALUE", "The double records EXTERNAL payments only", "source_id");
  if (!body.external_details?.type || !body.external_details?.source)
    return invalid(
      "MISSING_REQUIRED_PARAMETER",
      "external_details.type and source are required",
      "external_details",
    );
  const problem =
    moneyProblem(body.amount_money, "amount_money") ??
    (body.tip_money === undefined ? null : moneyProblem(body.tip_money, "tip_money"));
  if (problem) return problem;
  /** @type {Map<string, { fingerprint: string, paymentId: string }>} */
  const keys = stateMap(ctx.state, "paymentKeys");
  /** @type {Map<string, any>} */
  const payments = stateMap(ctx.state, "payments");
  const print = fingerprint(body);
  const seen = keys.get(body.idempotency_key);
  if (seen) {
    if (seen.fingerprint !== print) {
      return invalid(
        "IDEMPOTENCY_KEY_REUSED",
        "The idempotency key can only be retried with the same request data.",
        "idempotency_key",
      );
    }
    return ctx.reply(200, { payment: payments.get(seen.paymentId) });
  }
  const order = body.order_id ? ctx.orders.get(body.order_id) : undefined;
  if (body.order_id && !order)
    return invalid("NOT_FOUND", `Order ${body.order_id} not found`, "order_id");
  if (order) {
    if (order.tenders?.length)
      return invalid("INVALID_VALUE", "The order is already paid", "order_id");
    // Square: a payment for an order must be for the order's total (tips apart).
    if (body.amount_money.amount !== order.total_money.amount)
      return invalid(
        "INVALID_VALUE",
        "amount_money must equal the order's total_money",
        "amount_money",
      );
  }
  const now = new Date().toISOString();
  const tip = body.tip_money?.amount ?? 0;
  const payment = {
    id: squareId(27, "YB"),
    created_at: now,
    updated_at: now,
    amount_money: body.amount_money,
    ...(body.tip_money ? { tip_money: body.tip_money } : {}),
    total_money: { amount: body.amount_money.amount + tip, currency: body.amount_money.currency },
    status: body.autocomplete === false ? "APPROVED" : "COMPLETED",
    source_type: "EXTERNAL",
    external_details: body.external_details,
    location_id: body.location_id,
    order_id: body.order_id,
    reference_id: body.reference_id,
  };
  payments.set(payment.id, payment);
  keys.set(body.idempotency_key, { fingerprint: print, paymentId: payment.id });
  if (order) {
    order.tenders = [
      {
        id: payment.id,
        type: "OTHER",
        amount_money: body.amount_money,
        ...(body.tip_money ? { tip_money: body.tip_money } : {}),
      },
    ];
    order.total_tip_money = { amount: tip, currency: body.amount_money.currency };
    order.net_amount_due_money = { amount: 0, currency: body.amount_money.currency };
    order.version += 1;
    order.updated_at = now;
  }
  return ctx.reply(200, { payment });
}

/**
 * Authorize: the seller approves at once. Square sends the browser back to the redirect URL with
 * `code`, `response_type=code` and `state`, or `error=access_denied` when the seller declines:
 * https://developer.squareup.com/docs/oauth-api/receive-and-manage-tokens
 */
function authorize(/** @type {any} */ req, /** @type {VendorContext} */ ctx) {
  const clientId = req.query.get("client_id");
  const redirectUri = req.query.get("redirect_uri");
  if (!clientId || !redirectUri)
    return squareError(
      400,
      "INVALID_REQUEST_ERROR",
      "MISSING_REQUIRED_PARAMETER",
      "client_id and redirect_uri are required",
    );
  const back = new URL(redirectUri);
  const state = req.query.get("state");
  if (ctx.state.oauthDeclined === true) {
    back.searchParams.set("error", "access_denied");
    back.searchParams.set("error_description", "user_denied");
  } else {
    const code = `sq0cgp-${squareId(22, "")}`;
    /** @type {Map<string, { clientId: string, redirectUri: string, used: boolean }>} */
    const codes = stateMap(ctx.state, "authCodes");
    codes.set(code, { clientId, redirectUri, used: false });
    back.searchParams.set("code", code);
    back.searchParams.set("response_type", "code");
  }
  if (state !== null) back.searchParams.set("state", state);
  return ctx.reply(302, undefined, { location: back.toString() });
}

/**
 * ObtainToken: authorization_code (a code once, by the app it was issued to, with the same
 * redirect URL) or refresh_token (a fresh access token, the same refresh token, as in the code flow).
 */
function obtainToken(/** @type {any} */ req, /** @type {VendorContext} */ ctx) {
  const body = req.json;
  if (!isObject(body))
    return invalid("MISSING_REQUIRED_PARAMETER", "The request body must be a JSON object", "");
  if (!body.client_id)
    return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "client_id");
  if (!body.client_secret)
    return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "client_secret");
  if (body.grant_type === "authorization_code") return redeemCode(body, ctx);
  if (body.grant_type !== "refresh_token")
    return invalid(
      "INVALID_VALUE",
      "grant_type must be authorization_code or refresh_token",
      "grant_type",
    );
  if (!body.refresh_token)
    return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "refresh_token");
  if (ctx.state.refreshRefused === true) {
    return squareError(
      401,
      "AUTHENTICATION_ERROR",
      "UNAUTHORIZED",
      "The refresh token was revoked",
    );
  }
  return ctx.reply(200, issueToken(ctx, body.refresh_token));
}

function redeemCode(/** @type {any} */ body, /** @type {VendorContext} */ ctx) {
  if (!body.code) return invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", "code");
  /** @type {Map<string, { clientId: string, redirectUri: string, used: boolean }>} */
  const codes = stateMap(ctx.state, "authCodes");
  const grant = codes.get(body.code);
  const refused =
    !grant ||
    grant.used ||
    grant.clientId !== body.client_id ||
    (body.redirect_uri !== undefined && body.redirect_uri !== grant.redirectUri);
  if (!grant || refused)
    return squareError(
      401,
      "AUTHENTICATION_ERROR",
      "UNAUTHORIZED",
      "Authorization code is invalid or already redeemed",
    );
  grant.used = true;
  return ctx.reply(200, issueToken(ctx, `EQAA${squareId(40, "")}`));
}

function issueToken(/** @type {VendorContext} */ ctx, /** @type {string} */ refreshToken) {
  const accessToken = `EAAA${squareId(40, "")}`;
  const issued = Array.isArray(ctx.state.issuedTokens) ? ctx.state.issuedTokens : [];
  issued.push(accessToken);
  ctx.state.issuedTokens = issued;
  return {
    access_token: accessToken,
    token_type: "bearer",
    expires_at: new Date(Date.now() + 30 * 24 * 3600 * 1000)
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z"),
    merchant_id: "ML2PMZQDOUBLE",
    refresh_token: refreshToken,
    short_lived: false,
  };
}

// ---------------------------------------------------------------- catalog

/** A CatalogObject with Square's common fields, present at every location unless `presence` says. */
function catalogObject(
  /** @type {string} */ type,
  /** @type {string} */ id,
  /** @type {Record<string, unknown>} */ data,
  /** @type {Record<string, unknown>} */ presence = {},
) {
  return {
    type,
    id,
    updated_at: "2025-10-01T12:00:00.000Z",
    version: 1759320000000,
    is_deleted: false,
    present_at_all_locations: true,
    ...presence,
    ...data,
  };
}

/** An ITEM_VARIATION of `itemId` at a fixed price (minor units, USD). */
function variation(
  /** @type {string} */ id,
  /** @type {string} */ itemId,
  /** @type {string} */ name,
  /** @type {number | null} */ amount,
  /** @type {number} */ ordinal = 0,
) {
  return catalogObject("ITEM_VARIATION", id, {
    item_variation_data: {
      item_id: itemId,
      name,
      ordinal,
      ...(amount === null
        ? { pricing_type: "VARIABLE_PRICING" }
        : { pricing_type: "FIXED_PRICING", price_money: { amount, currency: "USD" } }),
      sellable: true,
      stockable: true,
    },
  });
}

/**
 * The catalog served when a test has not set its own: two categories, a burger with a toppings
 * list (pick up to two), fries, a latte in two sizes, a soup of the day at a price set at the sale.
 */
const DEFAULT_CATALOG = [
  catalogObject("CATEGORY", "DBLCATMAINS0000000000001", {
    category_data: { name: "Mains", is_top_level: true, parent_category: { ordinal: 0 } },
  }),
  catalogObject("CATEGORY", "DBLCATDRINKS000000000002", {
    category_data: { name: "Drinks", is_top_level: true, parent_category: { ordinal: 1 } },
  }),
  catalogObject("MODIFIER_LIST", "DBLMLTOPPINGS00000000001", {
    modifier_list_data: {
      name: "Toppings",
      selection_type: "MULTIPLE",
      min_selected_modifiers: 0,
      max_selected_modifiers: 2,
      modifier_type: "LIST",
      modifiers: [
        ["DBLMODCHEESE000000000001", "Cheese", 150],
        ["DBLMODBACON0000000000002", "Bacon", 200],
        ["DBLMODONION0000000000003", "Grilled onions", 0],
      ].map(([id, name, amount], ordinal) =>
        catalogObject("MODIFIER", String(id), {
          modifier_data: {
            name,
            ordinal,
            modifier_list_id: "DBLMLTOPPINGS00000000001",
            price_money: { amount, currency: "USD" },
          },
        }),
      ),
    },
  }),
  catalogObject("ITEM", "DBLITEMBURGER00000000001", {
    item_data: {
      name: "Burger",
      description: "Beef patty, brioche bun",
      categories: [{ id: "DBLCATMAINS0000000000001", ordinal: 0 }],
      modifier_list_info: [
        {
          modifier_list_id: "DBLMLTOPPINGS00000000001",
          min_selected_modifiers: -1,
          max_selected_modifiers: -1,
          enabled: true,
        },
      ],
      variations: [
        variation("DBLVARBURGER000000000001", "DBLITEMBURGER00000000001", "Regular", 1100),
      ],
      product_type: "FOOD_AND_BEV",
    },
  }),
  catalogObject("ITEM", "DBLITEMFRIES000000000002", {
    item_data: {
      name: "Fries",
      categories: [{ id: "DBLCATMAINS0000000000001", ordinal: 1 }],
      variations: [
        variation("DBLVARFRIES0000000000002", "DBLITEMFRIES000000000002", "Regular", 450),
      ],
      product_type: "FOOD_AND_BEV",
    },
  }),
  catalogObject("ITEM", "DBLITEMLATTE000000000003", {
    item_data: {
      name: "Latte",
      categories: [{ id: "DBLCATDRINKS000000000002", ordinal: 0 }],
      variations: [
        variation("DBLVARLATTESMALL00000003", "DBLITEMLATTE000000000003", "Small", 400, 0),
        variation("DBLVARLATTELARGE00000004", "DBLITEMLATTE000000000003", "Large", 500, 1),
      ],
      product_type: "FOOD_AND_BEV",
    },
  }),
  catalogObject("ITEM", "DBLITEMSOUP0000000000004", {
    item_data: {
      name: "Soup of the day",
      categories: [{ id: "DBLCATMAINS0000000000001", ordinal: 2 }],
      variations: [variation("DBLVARSOUP00000000000005", "DBLITEMSOUP0000000000004", "Bowl", null)],
      product_type: "FOOD_AND_BEV",
    },
  }),
];

/**
 * An `n`-item catalog in Square's wire format, for tests of paging: one category, one modifier
 * list (one to two of three sauces) on every item, and items `ITEM…` with one variation `VAR…`
 * each, priced 100 + i.
 * @param {number} n
 */
export function bigCatalog(n) {
  const pad = (/** @type {number} */ i) => String(i).padStart(8, "0");
  return [
    catalogObject("CATEGORY", "BIGCATEGORY0000000000001", {
      category_data: { name: "Everything" },
    }),
    catalogObject("MODIFIER_LIST", "BIGMODLIST00000000000001", {
      modifier_list_data: {
        name: "Sauce",
        min_selected_modifiers: 1,
        max_selected_modifiers: 2,
        modifier_type: "LIST",
        modifiers: ["Ketchup", "Mustard", "Mayo"].map((name, i) =>
          catalogObject("MODIFIER", `BIGMOD${pad(i)}0000000000`, {
            modifier_data: {
              name,
              ordinal: i,
              modifier_list_id: "BIGMODLIST00000000000001",
              price_money: { amount: 0, currency: "USD" },
            },
          }),
        ),
      },
    }),
    ...Array.from({ length: n }, (_, i) =>
      catalogObject("ITEM", `ITEM${pad(i)}000000000000`, {
        item_data: {
          name: `Item ${i}`,
          categories: [{ id: "BIGCATEGORY0000000000001", ordinal: i }],
          modifier_list_info: [{ modifier_list_id: "BIGMODLIST00000000000001", enabled: true }],
          variations: [
            variation(`VAR${pad(i)}0000000000000`, `ITEM${pad(i)}000000000000`, "Regular", 100 + i),
          ],
        },
      }),
    ),
  ];
}

/** The catalog the double serves: a test's own (`catalog` state) or the default. */
function catalogOf(/** @type {Record<string, unknown>} */ state) {
  return Array.isArray(state.catalog) ? state.catalog : DEFAULT_CATALOG;
}

// ListCatalog pages hold at most 100 objects:
// https://developer.squareup.com/forums/t/maximum-number-of-catalog-objects-from-v2-catalog-list/808
const CATALOG_PAGE_SIZE = 100;

/**
 * ListCatalog `GET /v2/catalog/list?types=…&cursor=…`: the top-level objects of the listed types
 * (case-insensitive, comma-separated; all when absent), their variations and modifiers nested,
 * 100 a page, an opaque cursor to the next page and none on the last:
 * https://developer.squareup.com/reference/square/catalog-api/list-catalog
 */
async function listCatalog(/** @type {any} */ req, /** @type {VendorContext} */ ctx) {
  const faults = Array.isArray(ctx.state.catalogFaults) ? ctx.state.catalogFaults : [];
  const fault = faults.shift();
  const common = await applyCommonFault(fault);
  if (common) {
    const shaped =
      fault?.kind === "status" && fault.body === undefined
        ? squareErrorForStatus(common.status)
        : common;
    return { ...shaped, headers: common.headers };
  }
  const auth = authenticate(req.headers, ctx.state);
  if (auth.refused) return auth.refused;
  const types = (req.query.get("types") ?? "")
    .split(",")
    .map((/** @type {string} */ t) => t.trim().toUpperCase())
    .filter(Boolean);
  const objects = catalogOf(ctx.state).filter(
    (/** @type {any} */ o) => types.length === 0 || types.includes(o.type),
  );
  const cursor = req.query.get("cursor");
  let offset = 0;
  if (cursor) {
    offset = Number(
      Buffer.from(cursor, "base64url")
        .toString("utf8")
        .replace(/^offset:/, ""),
    );
    if (!Number.isInteger(offset) || offset <= 0 || offset >= objects.length)
      return invalid("INVALID_CURSOR", "The cursor is not valid", "cursor");
  }
  const end = offset + CATALOG_PAGE_SIZE;
  return ctx.reply(200, {
    objects: objects.slice(offset, end),
    ...(end < objects.length
      ? { cursor: Buffer.from(`offset:${end}`, "utf8").toString("base64url") }
      : {}),
  });
}

/**
 * Where a test set its own catalog: its variations and modifiers by id, with the names Square
 * copies onto an order's lines. Null when the default catalog is served, so orders naming ids
 * of no catalog (the older tests and the demo) are still taken.
 * @returns {Map<string, { type: string, name: string, variationName?: string }> | null}
 */
function orderableCatalog(/** @type {Record<string, unknown>} */ state) {
  if (!Array.isArray(state.catalog)) return null;
  /** @type {Map<string, { type: string, name: string, variationName?: string }>} */
  const index = new Map();
  for (const object of /** @type {any[]} */ (state.catalog)) {
    if (object.is_deleted) continue;
    for (const v of object.item_data?.variations ?? []) {
      if (v.is_deleted) continue;
      index.set(v.id, {
        type: "ITEM_VARIATION",
        name: object.item_data.name,
        variationName: v.item_variation_data?.name,
      });
    }
    for (const m of object.modifier_list_data?.modifiers ?? []) {
      if (!m.is_deleted) index.set(m.id, { type: "MODIFIER", name: m.modifier_data?.name });
    }
  }
  return index;
}

/**
 * Square refuses a line or modifier naming a catalog id it does not have (or of another type)
 * with NOT_FOUND; returns that answer, or null when every id is known.
 * @param {any} order @param {Map<string, { type: string }>} index
 * @returns {Answer | null}
 */
function unknownCatalogIds(order, index) {
  for (const [i, item] of order.line_items.entries()) {
    const at = `order.line_items[${i}]`;
    if (item.catalog_object_id && index.get(item.catalog_object_id)?.type !== "ITEM_VARIATION")
      return squareError(
        404,
        "INVALID_REQUEST_ERROR",
        "NOT_FOUND",
        `Item variation with catalog object ID \`${item.catalog_object_id}\` not found.`,
        `${at}.catalog_object_id`,
      );
    for (const [j, modifier] of (item.modifiers ?? []).entries()) {
      if (modifier.catalog_object_id && index.get(modifier.catalog_object_id)?.type !== "MODIFIER")
        return squareError(
          404,
          "INVALID_REQUEST_ERROR",
          "NOT_FOUND",
          `Modifier with catalog object ID \`${modifier.catalog_object_id}\` not found.`,
          `${at}.modifiers[${j}].catalog_object_id`,
        );
    }
  }
  return null;
}

/** @type {VendorModule} */
const square = {
  name: "square",
  async handle(req, ctx) {
    if (req.method === "POST" && req.path === "/v2/orders") return createOrder(req, ctx);
    const retrieve = /^\/v2\/orders\/([^/]+)$/.exec(req.path);
    if (req.method === "GET" && retrieve?.[1])
      return retrieveOrder(req, ctx, decodeURIComponent(retrieve[1]));
    if (req.method === "PUT" && retrieve?.[1])
      return updateOrder(req, ctx, decodeURIComponent(retrieve[1]));
    const location = /^\/v2\/locations\/([^/]*)$/.exec(req.path);
    if (req.method === "GET" && location)
      return retrieveLocation(req, ctx, decodeURIComponent(location[1] ?? ""));
    if (req.method === "POST" && req.path === "/v2/payments") return createPayment(req, ctx);
    if (req.method === "GET" && req.path === "/v2/catalog/list") return listCatalog(req, ctx);
    if (req.method === "POST" && req.path === "/oauth2/token") return obtainToken(req, ctx);
    if (req.method === "GET" && req.path === "/oauth2/authorize") return authorize(req, ctx);
    return null;
  },
};
export default { ...square, signWebhook };

/**
 * The headers Square sends with a webhook notification:
 * `x-square-hmacsha256-signature` = Base64(HMAC-SHA256(signature key, notification URL + body)).
 * @param {string} body the raw JSON body
 * @param {string} signatureKey the subscription's signature key
 * @param {string} notificationUrl the URL the subscription posts to, exactly
 */
export function signWebhook(body, signatureKey, notificationUrl) {
  const signature = createHmac("sha256", signatureKey)
    .update(notificationUrl + body)
    .digest("base64");
  return {
    "content-type": "application/json",
    "x-square-hmacsha256-signature": signature,
  };
}
