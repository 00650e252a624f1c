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
  type PosCatalogModifierGroup,
  type PosConnection,
  type PosDraft,
  type PosDraftProblem,
  PosError,
  type PosLocationInfo,
  type PosMenuSignal,
  type PosOrder,
  type PosOrderLine,
  type PosSession,
  type PosStatusReport,
  type WebhookRequest,
} from "./types";

/*
 * Toast POS adapter.
 *
 * One order is three calls, after a client-credentials login:
 * 1. GET the order by our `externalId`: a create that timed out may have gone through.
 * 2. POST /prices with the order: Toast computes every amount (menu prices, modifiers, its own
 *    taxes per selection), and Toast calls it "the only reliable and supported way to determine
 *    the payment amount for a check". An order Toast prices away from ours is not sent.
 * 3. POST /orders with the same body and, when configured, an OTHER payment of Toast's total.
 *
 * Connection settings beyond the client credentials (read from `connection.settings` first,
 * then `connection.credentials`, where the owner types them at connect):
 * - `diningOptionPickup`, `diningOptionDelivery`, `diningOptionDineIn`: the
 *   restaurant's dining option GUIDs (Toast requires one on every order);
 * - `otherPaymentGuid` (optional): an "Other" payment type configured by the
 *   restaurant; when set, the order carries a payment for what the customer
 *   already paid online, so staff do not collect it again. Toast voids only
 *   orders paid that way, so without it a cancel is left to staff.
 *
 * Menu references: Toast needs both the menu group and the item GUID on every
 * selection, and both the modifier group and the modifier GUID on every
 * modifier, so `posItemId` is `"<menu group GUID>/<menu item GUID>"` and
 * `posModifierId` is `"<modifier group GUID>/<modifier GUID>"`.
 *
 * Menu import (`readCatalog`) is three reads: the restaurant (its currency, which the menus API
 * does not state), the published menus (menus API V3, the version for ordering integrations), and
 * the stock API (the menus API carries no stock). Its ids are the ones above, so an imported item
 * orders as it is; `toastCatalogFrom` says how the menu maps.
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
  // Order.estimatedFulfillmentDate: when the order is expected ready for pickup or delivered, set
  // for TAKE_OUT and DELIVERY dining behaviors only: https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Order
  estimatedFulfillmentDate: z.string().nullish(),
  deliveryInfo: z.object({ deliveryState: z.string().nullish() }).nullish(),
  checks: z
    .array(
      z.object({
        voided: z.boolean().nullish(),
        selections: z.array(toastSelection).nullish(),
        // Payment.type is CASH, CREDIT, GIFTCARD, HOUSE_ACCOUNT, REWARDCARD, LEVELUP, OTHER, …:
        // https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Payment
        payments: z.array(z.object({ type: z.string().nullish() })).nullish(),
      }),
    )
    .nullish(),
});
type ToastOrder = z.infer<typeof toastOrder>;

// POST /prices answers the Order with Toast's amounts and no GUIDs; Check.totalAmount is "the total
// calculated price of this check including discounts and taxes" (tips are on the payments):
// https://doc.toasttab.com/openapi/orders/operation/pricesPost and https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Check
const toastPricesResponse = z.object({
  checks: z
    .array(
      z.object({
        amount: z.number().nullish(),
        taxAmount: z.number().nullish(),
        totalAmount: z.number(),
      }),
    )
    .min(1),
});

// Restaurants API, GET /restaurants/v1/restaurants/{restaurantGUID} answers a RestaurantInfo whose
// `general` holds the guest-facing `name`, the IANA `timeZone` and the ISO-4217 `currencyCode`:
// https://doc.toasttab.com/openapi/restaurants/operation/restaurantsRestaurantGuidGet and
// https://doc.toasttab.com/openapi/restaurants/tag/Data-definitions/schema/General
const toastRestaurantInfo = z.object({
  guid: z.string().nullish(),
  general: z
    .object({
      name: z.string().nullish(),
      locationName: z.string().nullish(),
      timeZone: z.string().nullish(),
      currencyCode: z.string().nullish(),
    })
    .nullish(),
});

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

// Menus API V3, GET /menus/v3/menus: the restaurant's published menus, fully resolved, in one
// answer (no paging). Ordering integrations must use V3, which returns only the entities visible
// to the partner asking, where V2 returns every entity with a `visibility` array to filter on:
// https://doc.toasttab.com/openapi/menusv3/operation/menusGet and
// https://doc.toasttab.com/doc/devguide/apiComparingMenusAPIV2AndV3.html
// Menu, MenuGroup (groups nest through `menuGroups`), MenuItem, ModifierGroup, ModifierOption:
// https://doc.toasttab.com/openapi/menusv3/tag/Data-definitions/schema/Restaurant
const toastMenuItem = z.object({
  guid: z.string().min(1),
  name: z.string().nullish(),
  description: z.string().nullish(),
  // Null for size-priced and open-priced items: https://doc.toasttab.com/openapi/menusv3/tag/Data-definitions/schema/MenuItem
  price: z.number().nullish(),
  modifierGroupReferences: z.array(z.number().int()).nullish(),
});

const toastMenuGroup = z.object({
  guid: z.string().min(1),
  name: z.string().nullish(),
  menuItems: z.array(toastMenuItem).nullish(),
  get menuGroups() {
    return z.array(toastMenuGroup).nullish();
  },
});
type ToastMenuGroup = z.infer<typeof toastMenuGroup>;

// ModifierGroup: `maxSelections` "is null if a customer can choose an unlimited number of modifier
// options"; with `isMultiSelect` false "the Toast POS system enforces a setting of 1":
// https://doc.toasttab.com/openapi/menusv3/tag/Data-definitions/schema/ModifierGroup
const toastModifierGroup = z.object({
  guid: z.string().min(1),
  name: z.string().nullish(),
  minSelections: z.number().int().nonnegative().nullish(),
  maxSelections: z.number().int().nonnegative().nullish(),
  isMultiSelect: z.boolean().nullish(),
  modifierOptionReferences: z.array(z.number().int()).nullish(),
});
type ToastModifierGroup = z.infer<typeof toastModifierGroup>;

// ModifierOption: `guid` is its item reference's, the id the stock API and webhook name;
// `allowsDuplicates` says whether it "may be added to a menu item multiple times":
// https://doc.toasttab.com/openapi/menusv3/tag/Data-definitions/schema/ModifierOption
const toastModifierOption = z.object({
  guid: z.string().min(1),
  name: z.string().nullish(),
  price: z.number().nullish(),
  allowsDuplicates: z.boolean().nullish(),
});
type ToastModifierOption = z.infer<typeof toastModifierOption>;

/** The parts of a menus API V3 answer the catalog import reads. */
const toastMenusResponse = z.object({
  restaurantGuid: z.string().nullish(),
  menus: z.array(
    z.object({
      guid: z.string().min(1),
      name: z.string().nullish(),
      menuGroups: z.array(toastMenuGroup).nullish(),
    }),
  ),
  // Maps keyed by each entity's `referenceId`, which items and groups refer to.
  modifierGroupReferences: z.record(z.string(), toastModifierGroup).nullish(),
  modifierOptionReferences: z.record(z.string(), toastModifierOption).nullish(),
});
export type ToastMenusResponse = z.infer<typeof toastMenusResponse>;

// Stock API, GET /stock/v1/inventory: "inventory information for all menu items that have an
// OUT_OF_STOCK or QUANTITY status" (IN_STOCK items are not listed); modifiers are listed by their
// item reference's GUID: https://doc.toasttab.com/openapi/stock/operation/getInventory and
// https://doc.toasttab.com/openapi/stock/tag/Data-definitions/schema/MenuItemInventory
const toastInventory = z.array(
  z.object({
    guid: z.string().min(1),
    status: z.string(),
    quantity: z.number().nullish(),
  }),
);
export type ToastInventory = z.infer<typeof toastInventory>;

// Menus webhook: eventCategory `menus`, and "Currently, menus_updated is the only eventType":
// https://doc.toasttab.com/doc/devguide/apiMenusWebhook.html
const MENUS_UPDATED = "menus_updated";
// Stock webhook: eventCategory `stock`, eventType in_stock, low_quantity or out_of_stock, one menu
// item (or modifier item reference) per message in `details.itemGuid`, with its `status` (IN_STOCK,
// QUANTITY, OUT_OF_STOCK) and, for QUANTITY, its `quantity`:
// https://doc.toasttab.com/doc/devguide/apiStockWebhook.html
const toastStockWebhookDetails = z.object({
  itemGuid: z.string().min(1),
  status: z.string(),
  quantity: z.number().nullish(),
});

// ------------------------------------------------------------------- mapping

/** The GUIDs the owner typed that are not secret, kept as settings so drafts can be checked against them. */
const PUBLIC_SETTING_KEYS = [
  "diningOptionPickup",
  "diningOptionDelivery",
  "diningOptionDineIn",
  "otherPaymentGuid",
  "openDiscountGuid",
] as const;

function publicSettings(connection: Pick<PosConnection, "credentials">): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of PUBLIC_SETTING_KEYS) {
    const value = connection.credentials[key];
    if (value) out[key] = value;
  }
  return out;
}

/** A connection setting: what connect stored in `settings` first, else what the owner typed. */
function settingOf(
  connection: Pick<PosConnection, "settings" | "credentials">,
  key: string,
): string | undefined {
  return connection.settings?.[key] || connection.credentials[key] || undefined;
}

interface ToastRef {
  guid: string;
}

interface ToastCustomer {
  firstName: string;
  lastName: string;
  phone: string;
  email: string;
}

interface ToastDeliveryInfo {
  address1: string;
  address2?: string;
  city: string;
  state: string;
  zipCode: string;
  country?: string;
}

interface ToastPayment {
  type: "OTHER";
  otherPayment: ToastRef;
  amount: number;
  tipAmount: number;
}

type ToastSelectionBody = Record<string, unknown> & { modifiers: Record<string, unknown>[] };

interface ToastCheckBody {
  displayNumber: string;
  tabName: string;
  selections: ToastSelectionBody[];
  customer?: ToastCustomer;
  appliedDiscounts?: ToastAppliedDiscount[];
  payments?: ToastPayment[];
}

interface ToastAppliedDiscount {
  discount: ToastRef & { entityType: "Discount" };
  discountAmount: number;
}

/** The Order body this adapter sends to /prices and /orders. */
export interface ToastOrderBody {
  externalId: string;
  diningOption: ToastRef;
  promisedDate?: string;
  deliveryInfo?: ToastDeliveryInfo;
  checks: [ToastCheckBody];
}

// Toast orders API, POST /orders (Order, Check, Selection, Customer, Payment, DeliveryInfo): https://doc.toasttab.com/openapi/orders/operation/ordersPost
/**
 * Our order as the Order body of Toast's `POST /orders/v2/prices` and `POST /orders/v2/orders`,
 * without a payment (`withOtherPayment` adds it once Toast has priced the order). Throws a
 * `permanent` `PosError` before any network call when something cannot be sent: an item or
 * modifier without a Toast id, a missing dining option.
 */
export function buildToastOrderRequest(connection: PosConnection, order: PosOrder): ToastOrderBody {
  const selections = order.lines.map((line) => toastSelectionFor(line, order.currency));
  if (order.specialInstructions && selections[0]) {
    // The Order and Check objects have no free-text note the kitchen sees;
    // a special request on the first selection does reach the KDS.
    appendSpecialRequest(selections[0], `Order note: ${order.specialInstructions}`);
  }

  const check: ToastCheckBody = {
    displayNumber: String(order.number),
    tabName: `Orderlane #${order.number}`,
    selections,
  };
  const customer = checkCustomer(connection.syncCustomerInfo, order);
  if (customer) check.customer = customer;
  if (order.discount > 0) check.appliedDiscounts = [checkDiscount(connection, order)];

  const body: ToastOrderBody = {
    externalId: toastExternalId(order.orderId),
    diningOption: { guid: diningOptionGuid(connection, order) },
    checks: [check],
  };
  if (order.scheduledFor) body.promisedDate = toToastDate(order.scheduledFor);
  // Order.deliveryInfo: "Delivery information related to orders with a DELIVERY dining option":
  // https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Order
  if (order.orderType === "delivery" && order.deliveryAddress) {
    body.deliveryInfo = toastDeliveryInfo(order.deliveryAddress);
  }
  return body;
}

// Discounts: "In a POST request, you cannot apply open percent discounts. You can apply open amount
// discounts", referenced by the GUID of a discount the restaurant configured, with the amount in
// `discountAmount`; Toast computes tax after discounts:
// https://doc.toasttab.com/doc/devguide/apiDiscountingOrders.html and
// https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/AppliedDiscount
// So our discount, whatever its kind here (a percentage or an amount), goes to Toast as the
// amount it came to, on the restaurant's open amount discount (`openDiscountGuid`).
function checkDiscount(connection: PosConnection, order: PosOrder): ToastAppliedDiscount {
  const guid = settingOf(connection, "openDiscountGuid");
  if (!guid) {
    throw new PosError(
      "permanent",
      "missing_discount",
      `order #${order.number} has a discount, and the Toast connection names no open amount discount to carry it (setting openDiscountGuid)`,
    );
  }
  return {
    discount: { guid, entityType: "Discount" },
    discountAmount: toDecimalAmount(order.discount, order.currency),
  };
}

/**
 * The body with an OTHER payment of Toast's own total (`toastTotal`, minor units) and our tip,
 * when the restaurant configured an Other payment type; unchanged otherwise. Toast: a payment
 * that does not match /prices leaves staff to handle an under- or overpayment:
 * https://doc.toasttab.com/doc/devguide/apiOrderPrices.html
 */
export function withOtherPayment(
  connection: PosConnection,
  body: ToastOrderBody,
  order: PosOrder,
  toastTotal: number,
): ToastOrderBody {
  const otherPaymentGuid = settingOf(connection, "otherPaymentGuid");
  if (!otherPaymentGuid) return body;
  // Payment requires type, amount and tipAmount; OTHER needs otherPayment.guid:
  // https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Payment
  const payment: ToastPayment = {
    type: "OTHER",
    otherPayment: { guid: otherPaymentGuid },
    amount: toDecimalAmount(toastTotal, order.currency),
    tipAmount: toDecimalAmount(order.tip, order.currency),
  };
  const [check] = body.checks;
  return { ...body, checks: [{ ...check, payments: [payment] }] };
}

// Prices on selections. Toast prices every selection from the restaurant's menu. Of the fields that
// set a price from outside, `externalPriceAmount` is for designated marketplace facilitators only,
// needs a `marketplaceFacilitatorTaxInfo` with the taxes and its own scope, and is not taken by
// /prices ("Externally-priced orders are only accepted using the /orders endpoint"):
// https://doc.toasttab.com/doc/devguide/devMpfOrdersandDiscounts.html and
// https://doc.toasttab.com/doc/apiordersdraftdoc/apiExternallyPricedOrdersandDiscounts.html
// so it is never sent. `openPriceAmount` "sets the price of a menu item that is configured to use
// the Open Price pricing strategy" (per unit, before quantity and modifiers), and without it Toast
// prices such an item at 0.00: https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Selection
// Every selection and modifier carries our price there, so an open-price item (or modifier, which
// is a Selection too) is priced as the customer paid. The docs are silent on `openPriceAmount` for
// an item with a set price; we take it that the menu price stands, and the /prices comparison in
// createOrder catches any item whose Toast price differs from ours.
function toastSelectionFor(line: PosOrderLine, currency: string): ToastSelectionBody {
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
  const modifiers = line.modifiers.map((modifier) => toastModifierFor(modifier, line, currency));
  const modifierTotal = line.modifiers.reduce((sum, m) => sum + m.price, 0);
  const selection: ToastSelectionBody = {
    itemGroup: { guid: ids.group },
    item: { guid: ids.item },
    quantity: line.quantity,
    openPriceAmount: toDecimalAmount(line.unitPrice - modifierTotal, currency),
    modifiers,
  };
  if (line.specialInstructions) appendSpecialRequest(selection, line.specialInstructions);
  return selection;
}

function toastModifierFor(
  modifier: PosOrderLine["modifiers"][number],
  line: PosOrderLine,
  currency: string,
): Record<string, unknown> {
  const ids = splitToastId(modifier.posModifierId);
  if (!ids) {
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
    optionGroup: { guid: ids.group },
    item: { guid: ids.item },
    quantity: line.quantity,
    openPriceAmount: toDecimalAmount(modifier.price, currency),
  };
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

/** Our one `name` as Toast's first name (the first word) and last name (the rest). */
function splitName(name: string): { firstName: string; lastName: string } {
  const [firstName = "", ...rest] = name.trim().split(/\s+/);
  return { firstName, lastName: rest.join(" ") };
}

// Check.customer: "Required for POST requests for orders that use the takeout or delivery dining
// options": https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Check
// Customer requires firstName, lastName, phone and email:
// https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Customer
/**
 * The check's customer. A takeout or delivery order always has one (Toast requires it); a
 * dine-in order has one only when the guest's details are shared and complete. Without shared
 * details (customer sync off, or none on the order) the customer is `anonymousCustomer`.
 */
function checkCustomer(syncCustomerInfo: boolean, order: PosOrder): ToastCustomer | undefined {
  const required = order.orderType !== "dine_in";
  const shared = syncCustomerInfo ? order.customer : null;
  if (!shared) return required ? anonymousCustomer(order) : undefined;
  const customer: ToastCustomer = {
    ...splitName(shared.name),
    phone: shared.phone?.trim() ?? "",
    email: shared.email?.trim() ?? "",
  };
  const complete = Object.values(customer).every(Boolean);
  if (complete || !required) return complete ? customer : undefined;
  // draftProblems keeps such drafts out; an older order missing a field still reaches the kitchen.
  const anonymous = anonymousCustomer(order);
  return {
    firstName: customer.firstName || anonymous.firstName,
    lastName: customer.lastName || anonymous.lastName,
    phone: customer.phone || anonymous.phone,
    email: customer.email || anonymous.email,
  };
}

// Toast documents no placeholder for a guest who shares no details, only that every field is
// required and that "the email address is the key that identifies a unique restaurant guest. All
// distinct guests should have distinct email addresses" (Customer, cited above). So the stand-in is
// one per order: the order number as the name, and an address in the reserved `.invalid` domain
// (RFC 2606), which no mail ever reaches, built from our order id so no two guests merge. The phone
// is ten zeros: the docs give no format and no number to use instead.
const ANONYMOUS_EMAIL_DOMAIN = "@orderlane.invalid";
// The orders API supports email addresses "up to 53 characters long" (the orders API reference's
// introduction, https://doc.toasttab.com/openapi/orders/overview).
const EMAIL_MAX = 53;

function anonymousCustomer(order: PosOrder): ToastCustomer {
  const local = order.orderId.replace(/[^A-Za-z0-9_]/g, "_");
  return {
    firstName: "Orderlane",
    lastName: `Order ${order.number}`,
    phone: "0000000000",
    email: `${local.slice(0, EMAIL_MAX - ANONYMOUS_EMAIL_DOMAIN.length)}${ANONYMOUS_EMAIL_DOMAIN}`,
  };
}

// DeliveryInfo requires address1, city, state ("the postal abbreviation ... in ISO 3166-2 format
// (two capital letters)") and zipCode; country is the two-letter code:
// https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/DeliveryInfo
function toastDeliveryInfo(address: NonNullable<PosOrder["deliveryAddress"]>): ToastDeliveryInfo {
  const country = address.country.trim().toUpperCase();
  return {
    address1: address.line1,
    ...(address.line2 ? { address2: address.line2 } : {}),
    city: address.city,
    state: (address.region ?? "").trim().toUpperCase(),
    zipCode: address.postalCode,
    ...(/^[A-Z]{2}$/.test(country) ? { country } : {}),
  };
}

/**
 * What Toast cannot take in a storefront draft (see `draftProblems`), each at the draft's JSON
 * path. Pure.
 */
export function toastDraftProblems(
  draft: PosDraft,
  connection: Pick<PosConnection, "syncCustomerInfo" | "settings">,
): PosDraftProblem[] {
  return [
    ...customerProblems(draft, connection.syncCustomerInfo),
    ...deliveryProblems(draft),
    ...discountProblems(draft, connection),
  ];
}

/** A discounted draft needs the restaurant's open amount discount to carry it (see checkDiscount). */
function discountProblems(
  draft: PosDraft,
  connection: Pick<PosConnection, "settings">,
): PosDraftProblem[] {
  if (!draft.discounted || connection.settings?.openDiscountGuid) return [];
  return [
    {
      field: "discountCode",
      message:
        "Toast takes a discount only on an open amount discount this restaurant has not named yet; order without the code",
    },
  ];
}

function customerProblems(draft: PosDraft, syncCustomerInfo: boolean): PosDraftProblem[] {
  // Without customer sync a takeout or delivery order carries the anonymous customer, and a
  // dine-in order needs none (Check.customer, cited above).
  if (!syncCustomerInfo || draft.orderType === "dine_in") return [];
  const problems: PosDraftProblem[] = [];
  const { firstName, lastName } = splitName(draft.customer.name);
  if (!firstName || !lastName) {
    problems.push({
      field: "customer.name",
      message: "Toast needs a first and a last name on takeout and delivery orders",
    });
  }
  if (!draft.customer.phone?.trim()) {
    problems.push({
      field: "customer.phone",
      message: "Toast needs a phone number on takeout and delivery orders",
    });
  }
  const email = draft.customer.email?.trim() ?? "";
  const emailProblem = toastEmailProblem(email);
  if (emailProblem) problems.push({ field: "customer.email", message: emailProblem });
  return problems;
}

// The same introduction: email addresses of up to 53 characters, a prefix and a domain separated
// by @, "International characters are not supported".
function toastEmailProblem(email: string): string | null {
  if (!email) return "Toast needs an email address on takeout and delivery orders";
  if (email.length > EMAIL_MAX)
    return `Toast takes email addresses of up to ${EMAIL_MAX} characters`;
  if (!/^[\x21-\x7e]+@[\x21-\x7e]+$/.test(email)) {
    return "Toast takes email addresses without international characters";
  }
  return null;
}

function deliveryProblems(draft: PosDraft): PosDraftProblem[] {
  if (draft.orderType !== "delivery") return [];
  const address = draft.deliveryAddress;
  // Delivery orders "must provide customer and deliveryInfo information":
  // https://doc.toasttab.com/doc/devguide/apiOrderTypeDetails.html
  if (!address) {
    return [
      { field: "deliveryAddress", message: "Toast needs a delivery address on delivery orders" },
    ];
  }
  const problems: PosDraftProblem[] = [];
  const required = [
    ["line1", address.line1, "a street address"],
    ["city", address.city, "a city"],
    ["postalCode", address.postalCode, "a postal code"],
  ] as const;
  for (const [field, value, what] of required) {
    if (!value?.trim()) {
      problems.push({
        field: `deliveryAddress.${field}`,
        message: `Toast needs ${what} for delivery`,
      });
    }
  }
  if (!/^[A-Za-z]{2}$/.test(address.region?.trim() ?? "")) {
    problems.push({
      field: "deliveryAddress.region",
      message: "Toast needs the state as its two-letter code (e.g. MA) for delivery",
    });
  }
  return problems;
}

const DINING_OPTION_KEY = {
  pickup: "diningOptionPickup",
  delivery: "diningOptionDelivery",
  dine_in: "diningOptionDineIn",
} as const;

function diningOptionGuid(connection: PosConnection, order: PosOrder): string {
  const key = DINING_OPTION_KEY[order.orderType];
  const guid = settingOf(connection, key);
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

/** A decimal amount from Toast (12.5) in minor units (1250), rounded to the nearest unit. */
export function toMinorAmount(decimal: number, currency: string): number {
  return Math.round(decimal * 10 ** currencyDigits(currency));
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

// A modifier option that allows duplicates in a group without a maximum may be added any number of
// times; the catalog wants a number, so it gets one no order would reach.
const UNBOUNDED_DUPLICATES = 99;

/**
 * The menus API V3 answer as our catalog. Pure.
 *
 * - Every item of every menu group, nested groups included, is one catalog item per group it is
 *   in: Toast needs the group on every selection, and resolves a price per menu (an item on the
 *   Lunch and Dinner menus appears once in each with that menu's price), so each placement is
 *   its own `"<menu group GUID>/<menu item GUID>"`. The same placement seen twice is kept once.
 * - Categories are the top-level menu groups of every menu, in the order Toast answers them
 *   (the order the restaurant set); an item's category is the top-level group above it.
 * - Modifiers are `"<modifier group GUID>/<modifier option GUID>"`; stock ids are the bare item
 *   and option GUIDs, which the stock API and webhook name.
 * - `stock` is the stock API's list: an entry OUT_OF_STOCK, or QUANTITY with nothing left, is
 *   unavailable; everything it does not list is in stock.
 * - A price Toast leaves null (open, size or sequence pricing) is 0.
 */
export function toastCatalogFrom(
  menus: ToastMenusResponse,
  stock: ToastInventory,
  currency: string | null,
): PosCatalog {
  // Prices are decimals of the restaurant's currency; without one, two decimals (USD's) are assumed.
  const digitsOf = currency ?? "USD";
  const unavailable = new Set(
    stock
      .filter(
        (s) => s.status === "OUT_OF_STOCK" || (s.status === "QUANTITY" && (s.quantity ?? 0) <= 0),
      )
      .map((s) => s.guid),
  );
  const groups = menus.modifierGroupReferences ?? {};
  const options = menus.modifierOptionReferences ?? {};
  const modifierGroup = (group: ToastModifierGroup): PosCatalogModifierGroup => {
    const max = group.isMultiSelect === false ? 1 : (group.maxSelections ?? null);
    return {
      posGroupId: group.guid,
      name: group.name ?? "",
      minSelections: group.minSelections ?? 0,
      maxSelections: max,
      modifiers: (group.modifierOptionReferences ?? [])
        .map((ref) => options[String(ref)])
        .filter((option): option is ToastModifierOption => option !== undefined)
        .map((option) => ({
          posModifierId: `${group.guid}/${option.guid}`,
          posStockId: option.guid,
          name: option.name ?? "",
          price: toMinorAmount(option.price ?? 0, digitsOf),
          available: !unavailable.has(option.guid),
          maxQuantity: option.allowsDuplicates && max !== 1 ? (max ?? UNBOUNDED_DUPLICATES) : 1,
        })),
    };
  };

  const categories: PosCatalog["categories"] = [];
  const categoryIds = new Set<string>();
  const items: PosCatalogItem[] = [];
  const seen = new Set<string>();
  const walk = (group: ToastMenuGroup, categoryId: string): void => {
    for (const item of group.menuItems ?? []) {
      const posItemId = `${group.guid}/${item.guid}`;
      if (seen.has(posItemId)) continue;
      seen.add(posItemId);
      items.push({
        posItemId,
        posStockId: item.guid,
        name: item.name ?? "",
        description: item.description || null,
        price: toMinorAmount(item.price ?? 0, digitsOf),
        posCategoryId: categoryId,
        available: !unavailable.has(item.guid),
        modifierGroups: (item.modifierGroupReferences ?? [])
          .map((ref) => groups[String(ref)])
          .filter((g): g is ToastModifierGroup => g !== undefined)
          .map(modifierGroup),
      });
    }
    for (const child of group.menuGroups ?? []) walk(child, categoryId);
  };
  for (const menu of menus.menus) {
    for (const group of menu.menuGroups ?? []) {
      if (!categoryIds.has(group.guid)) {
        categoryIds.add(group.guid);
        categories.push({
          posCategoryId: group.guid,
          name: group.name ?? "",
          sortOrder: categories.length,
        });
      }
      walk(group, group.guid);
    }
  }
  return { categories, items, currency };
}

// ------------------------------------------------------------------- calls

function apiUrl(connection: PosConnection, path: string): string {
  return `${connection.baseUrl.replace(/\/+$/, "")}${path}`;
}

function ordersUrl(connection: PosConnection, path = ""): string {
  return apiUrl(connection, `/orders/v2/orders${path}`);
}

// Toast API requests carry `Authorization: Bearer` and the restaurant GUID in `Toast-Restaurant-External-ID`:
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

function jsonHeaders(connection: PosConnection): Record<string, string> {
  return { ...orderHeaders(connection), "content-type": "application/json" };
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
    return await getToastOrder(connection, externalId, options);
  } catch (err) {
    if (err instanceof PosError && err.details.status === 404) return null;
    throw err;
  }
}

// Toast orders API, GET /orders/v2/orders/{guid}: https://doc.toasttab.com/openapi/orders/operation/ordersGuidGet
async function getToastOrder(
  connection: PosConnection,
  key: string,
  options: PosCallOptions,
): Promise<ToastOrder> {
  const response = await vendorFetch(
    ordersUrl(connection, `/${encodeURIComponent(key)}`),
    { method: "GET", headers: orderHeaders(connection) },
    options,
  );
  return parseAnswer(toastOrder, await readJson(response), "order");
}

// Toast orders API, POST /orders/v2/prices; it validates the order like a POST /orders (404 for an
// entity that does not exist) and stores nothing: https://doc.toasttab.com/openapi/orders/operation/pricesPost
/** Toast's total of the order's checks (with tax, without tips), in minor units. */
async function priceWithToast(
  connection: PosConnection,
  body: ToastOrderBody,
  currency: string,
  options: PosCallOptions,
): Promise<number> {
  const response = await vendorFetch(
    apiUrl(connection, "/orders/v2/prices"),
    { method: "POST", headers: jsonHeaders(connection), body: JSON.stringify(body) },
    options,
  );
  const priced = parseAnswer(toastPricesResponse, await readJson(response), "prices answer");
  return priced.checks.reduce((sum, check) => sum + toMinorAmount(check.totalAmount, currency), 0);
}

/**
 * Throws `price_mismatch` when Toast's total differs from ours by more than rounding. Both are
 * totals with tax and without the tip: Toast's Check.totalAmount includes discounts and taxes, and
 * tips travel on the payment (`tipAmount`), as ours is `total - tip`. Toast computes its own tax
 * per selection (Selection.tax) where we tax the order once, so each line may round one minor unit
 * apart: the tolerance is one minor unit per line.
 */
export function assertToastPrice(order: PosOrder, toastTotal: number): void {
  const ours = order.total - order.tip;
  const tolerance = Math.max(1, order.lines.length);
  if (Math.abs(toastTotal - ours) <= tolerance) return;
  const amount = (minor: number) => `${toDecimalAmount(minor, order.currency)} ${order.currency}`;
  throw new PosError(
    "permanent",
    "price_mismatch",
    `Toast prices order #${order.number} at ${amount(toastTotal)}, Orderlane at ${amount(ours)} (total less tip): the order was not sent to Toast; check the item and tax settings in Toast against the menu`,
  );
}

// Toast orders API, POST /orders/{orderGuid}/void with `selections.voidAll` and `payments.voidAll`
// true; "Only Orders with OTHER payment types can be voided":
// https://doc.toasttab.com/openapi/orders/operation/voidOrder
async function voidToastOrder(
  connection: PosConnection,
  posOrderId: string,
  options: PosCallOptions,
): Promise<ToastOrder> {
  const response = await vendorFetch(
    ordersUrl(connection, `/${encodeURIComponent(posOrderId)}/void`),
    {
      method: "POST",
      headers: jsonHeaders(connection),
      body: JSON.stringify({ selections: { voidAll: true }, payments: { voidAll: true } }),
    },
    options,
  );
  return parseAnswer(toastOrder, await readJson(response), "void answer");
}

// Void prerequisites: an order paid with an Other payment (not cash, card or gift card), not
// already voided or deleted, voided by the client that created it: https://doc.toasttab.com/doc/devguide/apiVoidOrder.html
/** Whether Toast lets this adapter void the order. */
function voidable(order: ToastOrder): boolean {
  const payments = (order.checks ?? []).flatMap((check) => check.payments ?? []);
  return !order.deleted && payments.length > 0 && payments.every((p) => p.type === "OTHER");
}

function clientCredentials(
  connection: PosConnection,
): { clientId: string; clientSecret: string } | null {
  const { clientId, clientSecret } = connection.credentials;
  return clientId && clientSecret ? { clientId, clientSecret } : null;
}

/**
 * A client-credentials login; Toast's refusal comes through as `vendorFetch` classed it (401
 * is `auth`).
 */
async function login(
  connection: PosConnection,
  credentials: { clientId: string; clientSecret: string },
  options: PosCallOptions,
): Promise<PosSession> {
  // Toast authentication API, POST /authentication/v1/authentication/login with TOAST_MACHINE_CLIENT:
  // https://doc.toasttab.com/openapi/authentication/operation/authenticationLoginPost
  const response = await vendorFetch(
    apiUrl(connection, "/authentication/v1/authentication/login"),
    {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ ...credentials, userAccessType: "TOAST_MACHINE_CLIENT" }),
    },
    options,
  );
  const { token } = parseAnswer(toastLoginResponse, await readJson(response), "login answer");
  const now = options.now?.() ?? new Date();
  return {
    accessToken: token.accessToken,
    expiresAt: new Date(now.getTime() + token.expiresIn * 1000).toISOString(),
    refreshToken: null,
  };
}

/**
 * The restaurant's configuration. A GUID Toast does not know (404, also for an archived
 * restaurant) or one this client may not reach (403) is `unknown_location`.
 */
async function fetchRestaurant(
  connection: PosConnection,
  options: PosCallOptions,
): Promise<z.infer<typeof toastRestaurantInfo>> {
  let response: Response;
  try {
    // Restaurants API, GET /restaurants/v1/restaurants/{restaurantGUID}, the GUID in the path and in
    // Toast-Restaurant-External-ID; 404 for an invalid or archived GUID:
    // https://doc.toasttab.com/openapi/restaurants/operation/restaurantsRestaurantGuidGet
    response = await vendorFetch(
      apiUrl(
        connection,
        `/restaurants/v1/restaurants/${encodeURIComponent(connection.locationId)}`,
      ),
      { method: "GET", headers: orderHeaders(connection) },
      options,
    );
  } catch (err) {
    // Toast answers 403 when "the API client does not have access to the restaurant":
    // https://doc.toasttab.com/openapi/orders/operation/pricesPost
    if (err instanceof PosError && (err.details.status === 404 || err.details.status === 403)) {
      throw new PosError(
        "permanent",
        "unknown_location",
        `Toast has no restaurant ${connection.locationId} that these credentials can reach`,
        err.details,
      );
    }
    throw err;
  }
  return parseAnswer(toastRestaurantInfo, await readJson(response), "restaurant");
}

/**
 * The published menus. A restaurant without any is a permanent `no_menu` (Toast: "No published
 * data was found for the restaurant"): https://doc.toasttab.com/openapi/menusv3/operation/menusGet
 */
async function fetchMenus(
  connection: PosConnection,
  options: PosCallOptions,
): Promise<ToastMenusResponse> {
  let response: Response;
  try {
    response = await vendorFetch(
      apiUrl(connection, "/menus/v3/menus"),
      { method: "GET", headers: orderHeaders(connection) },
      options,
    );
  } catch (err) {
    if (err instanceof PosError && err.details.status === 404) {
      throw new PosError(
        "permanent",
        "no_menu",
        `Toast has no published menu for restaurant ${connection.locationId}`,
        err.details,
      );
    }
    throw err;
  }
  return parseAnswer(toastMenusResponse, await readJson(response), "menus answer");
}

/**
 * What the stock API lists as out of stock or limited. When it cannot answer (down, rate limited
 * past our waits, or this client lacks the `stock:read` scope), Toast advises assuming "the items
 * or modifiers are in stock", so that is an empty list: https://doc.toasttab.com/doc/devguide/apiStock.html
 */
async function fetchInventory(
  connection: PosConnection,
  options: PosCallOptions,
): Promise<ToastInventory> {
  try {
    const response = await withRateLimitRetries(() =>
      vendorFetch(
        apiUrl(connection, "/stock/v1/inventory"),
        { method: "GET", headers: orderHeaders(connection) },
        options,
      ),
    );
    return parseAnswer(toastInventory, await readJson(response), "inventory");
  } catch (err) {
    if (err instanceof PosError && (err.kind === "retryable" || err.details.status === 403)) {
      return [];
    }
    throw err;
  }
}

/** One stock webhook message as a signal; null when it is not the documented shape. */
function stockSignal(eventId: string, details: unknown): PosMenuSignal | null {
  const parsed = toastStockWebhookDetails.safeParse(details);
  if (!parsed.success) return null;
  const { itemGuid, status, quantity } = parsed.data;
  return {
    kind: "stock",
    eventId,
    // The message names a menu item or a modifier's item reference alike, and does not say which.
    target: "item",
    posStockId: itemGuid,
    available: status !== "OUT_OF_STOCK" && !(status === "QUANTITY" && (quantity ?? 0) <= 0),
  };
}

function ianaTimeZoneOrNull(zone: string | null | undefined): string | null {
  if (!zone) return null;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone;
  } catch {
    return null;
  }
}

function currencyOrNull(code: string | null | undefined): string | null {
  const upper = code?.trim().toUpperCase() ?? "";
  return /^[A-Z]{3}$/.test(upper) ? upper : null;
}

function createdOrder(order: ToastOrder, alreadyExisted: boolean): CreatedPosOrder {
  return {
    posOrderId: order.guid,
    alreadyExisted,
    estimatedReadyAt: fromToastDate(order.estimatedFulfillmentDate),
  };
}

/**
 * Toast: orders by client-credentials session, priced by Toast before they are sent, exactly once
 * per order through the order's `externalId` (looked up before every create, because a create
 * that timed out may still have gone through).
 */
export const toastAdapter: PosAdapter = {
  provider: "toast",

  async createOrder(connection, order, options): Promise<CreatedPosOrder> {
    const body = buildToastOrderRequest(connection, order);
    const externalId = toastExternalId(order.orderId);
    const existing = await findByExternalId(connection, externalId, options);
    if (existing) return createdOrder(existing, true);

    const toastTotal = await priceWithToast(connection, body, order.currency, options);
    assertToastPrice(order, toastTotal);
    const paid = withOtherPayment(connection, body, order, toastTotal);
    try {
      // Toast orders API, POST /orders/v2/orders: https://doc.toasttab.com/openapi/orders/operation/ordersPost
      const response = await vendorFetch(
        ordersUrl(connection),
        { method: "POST", headers: jsonHeaders(connection), body: JSON.stringify(paid) },
        options,
      );
      const created = parseAnswer(toastPostOrderResponse, await readJson(response), "order");
      return createdOrder(created, false);
    } catch (err) {
      // Toast refuses a second order with an `externalId` it already holds, so
      // a refusal may only mean a concurrent attempt won: look once more.
      if (err instanceof PosError && err.kind === "permanent") {
        const raced = await findByExternalId(connection, externalId, options).catch(() => null);
        if (raced) return createdOrder(raced, true);
      }
      throw err;
    }
  },

  async getOrderStatus(connection, posOrderId, options) {
    return mapToastOrderStatus(await getToastOrder(connection, posOrderId, options));
  },

  async checkConnection(connection, options): Promise<PosLocationInfo> {
    const credentials = clientCredentials(connection);
    if (!credentials) {
      throw new PosError("auth", "missing_credentials", "Toast needs a clientId and clientSecret");
    }
    const session = await login(connection, credentials, options);
    const { general } = await fetchRestaurant({ ...connection, session }, options);
    return {
      name: general?.name || general?.locationName || null,
      currency: currencyOrNull(general?.currencyCode),
      timezone: ianaTimeZoneOrNull(general?.timeZone),
      settings: publicSettings(connection),
    };
  },

  draftProblems(draft, connection): PosDraftProblem[] {
    return toastDraftProblems(draft, connection);
  },

  async cancelOrder(connection, posOrderId, options): Promise<boolean> {
    const order = await getToastOrder(connection, posOrderId, options);
    // "Once an order has been voided, it can not be updated": https://doc.toasttab.com/doc/devguide/apiVoidOrder.html
    if (order.voided) return true;
    // Toast voids only orders paid with an Other payment; staff void the rest (pos_void_needed).
    if (!voidable(order)) return false;
    try {
      return (await voidToastOrder(connection, posOrderId, options)).voided === true;
    } catch (err) {
      if (!(err instanceof PosError) || err.kind !== "permanent") throw err;
      // A refusal: someone voided it meanwhile, or Toast will not let this client void it (a
      // restricted order, one another client created), which staff must do by hand.
      return (await getToastOrder(connection, posOrderId, options)).voided === true;
    }
  },

  async updateFulfillment(): Promise<boolean> {
    // Toast has no fulfillment state an integration can set: Selection.fulfillmentStatus is
    // "Response only" and moves as staff use the POS and KDS
    // (https://doc.toasttab.com/openapi/orders/tag/Data-definitions/schema/Selection), the guest
    // order status moves "when a restaurant's kitchen moves an order"
    // (https://doc.toasttab.com/doc/devguide/apiGuestOrderFulfillmentStatusWebhook.html), and the
    // orders API's writes are payments, selections, discounts, delivery info and void only
    // (https://doc.toasttab.com/openapi/orders/operation/ordersPost and the pages beside it).
    return false;
  },

  async refreshSession(connection, options): Promise<PosSession> {
    const credentials = clientCredentials(connection);
    if (!credentials) {
      throw new PosError(
        "permanent",
        "refresh_failed",
        "the Toast connection has no client credentials",
      );
    }
    try {
      return await login(connection, credentials, options);
    } catch (err) {
      // Refused credentials will not get better by retrying the same call.
      if (err instanceof PosError && (err.kind === "auth" || err.kind === "permanent")) {
        throw new PosError("permanent", "refresh_failed", "Toast refused the client credentials", {
          ...err.details,
        });
      }
      throw err;
    }
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

  async readCatalog(connection, options): Promise<PosCatalog> {
    // Toast rate limits GET /menus to one request per second per location, and answers 429 with
    // Retry-After: https://doc.toasttab.com/doc/devguide/apiRateLimiting.html
    const { general } = await withRateLimitRetries(() => fetchRestaurant(connection, options));
    const menus = await withRateLimitRetries(() => fetchMenus(connection, options));
    const stock = await fetchInventory(connection, options);
    return toastCatalogFrom(menus, stock, currencyOrNull(general?.currencyCode));
  },

  parseMenuSignals(request: WebhookRequest): PosMenuSignal[] {
    const parsed = toastWebhookMessage.safeParse(parseJsonBody(request.rawBody));
    if (!parsed.success) return [];
    const { eventCategory, eventType, guid, details } = parsed.data;
    if (eventCategory === "menus" && eventType === MENUS_UPDATED) {
      return [{ kind: "catalog_changed", eventId: guid }];
    }
    if (eventCategory !== "stock") return [];
    const signal = stockSignal(guid, details);
    return signal ? [signal] : [];
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
