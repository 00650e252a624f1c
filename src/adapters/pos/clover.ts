import { z } from "zod";
import { ORDER_TYPES, type OrderStatus, type OrderType } from "../../domain/order-status";
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
  type PosDraftProblem,
  PosError,
  type PosLocationInfo,
  type PosMenuSignal,
  type PosOAuth,
  type PosOAuthApp,
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
 * Connecting (`checkConnection`) reads the merchant and its properties, and
 * finds or creates what every order needs later, returned in `settings`:
 * - `orderTypePickup`, `orderTypeDelivery`, `orderTypeDineIn`: order types
 *   labelled "Online pickup", "Online delivery", "Online dine-in", unless the
 *   credentials name the merchant's own (kept for connections made before);
 * - `tenderId`: our custom tender "Orderlane (paid online)", with which every
 *   order is recorded as paid, so the register does not charge it again.
 *
 * Amounts: Clover takes integer cents, our minor units as they are.
 *
 * Menu import (`readCatalog`) reads the inventory by Clover's own item and
 * modifier ids, the ids `createOrder` sends, so an imported menu orders by
 * reference; inventory webhooks (`parseMenuSignals`) only say "read again".
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

// Clover Payment (the fields read here); `result` is SUCCESS, FAIL, VOIDED, …:
// https://docs.clover.com/docs/payment-response-reference
const cloverPayment = z.object({
  id: z.string().min(1),
  tender: z.object({ id: z.string().min(1) }).nullish(),
  amount: z.number().int().nullish(),
  result: z.string().nullish(),
});
type CloverPayment = z.infer<typeof cloverPayment>;

// GET an order with `expand=payments` nests them as `{ elements }` (expand is listed on the order
// resource: https://docs.clover.com/reference/orderupdateorder-3)
const cloverOrderWithPayments = cloverOrder.extend({
  payments: z.object({ elements: z.array(cloverPayment) }).nullish(),
});

// GET /v3/merchants/{mId} answers the merchant, with its `name`: https://docs.clover.com/build/web-api
const cloverMerchant = z.object({ id: z.string().min(1), name: z.string().nullish() });

// GET /v3/merchants/{mId}/properties: the merchant's `defaultCurrency` and `timezone` live there, not on
// the merchant (the MerchantProperties fields, as listed for the properties endpoint; Clover's own
// reference page for it was not reachable from here):
// https://www.withone.ai/knowledge/clover/conn_mod_def%3A%3AF8_9WstwF_0%3A%3AP4dF_N53QDOyR7ef9eVUcw
const cloverMerchantProperties = z.object({
  defaultCurrency: z.string().nullish(),
  timezone: z.string().nullish(),
});

// Order type: `label`, `labelKey`, `taxable`, `isDefault`, `filterCategories`, `isHidden`, `hoursAvailable`,
// `isDeleted`, listed as `{ elements }` by GET /v3/merchants/{mId}/order_types:
// https://www.withone.ai/knowledge/clover/conn_mod_def%3A%3AF8_9GKbMgRg%3A%3AV5HR0bkbRQOYg2eHnt7MBA
const cloverOrderType = z.object({
  id: z.string().min(1),
  label: z.string().nullish(),
  isDeleted: z.boolean().nullish(),
});
const cloverOrderTypeList = z.object({ elements: z.array(cloverOrderType) });

// Tender: `labelKey` (internal name), `label` (shown to merchant and customer), `enabled`, `visible`,
// `opensCashDrawer`, `editable`, `instructions`: https://docs.clover.com/docs/payment-response-reference
const cloverTender = z.object({
  id: z.string().min(1),
  labelKey: z.string().nullish(),
  label: z.string().nullish(),
});
const cloverTenderList = z.object({ elements: z.array(cloverTender) });

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

// Inventory, read for the menu import. Nested lists come as `{ elements }`, and an expanded nested
// list holds at most its first 100 elements (it cannot be paged):
// https://docs.clover.com/docs/paginating-elements
const cloverRef = z.object({ id: z.string().min(1) });

// Item fields (`hidden`, `price`, `priceType` FIXED | VARIABLE | PER_UNIT, `stockCount`, the
// expandable `modifierGroups`, `categories`, `itemStock`) as in Clover's Item:
// https://github.com/clover/clover-android-sdk/blob/master/clover-android-sdk/src/main/java/com/clover/sdk/v3/inventory/Item.java
// `available` and `autoManage` (Clover makes an item unavailable when its stock reaches zero):
// https://docs.clover.com/changelog/clover-platform-api-updates-august-2021
const cloverItem = z.object({
  id: z.string().min(1),
  name: z.string(),
  hidden: z.boolean().nullish(),
  price: z.number().int().nonnegative().nullish(),
  priceType: z.string().nullish(),
  available: z.boolean().nullish(),
  autoManage: z.boolean().nullish(),
  // Deprecated: `itemStock.quantity` rounded (https://docs.clover.com/docs/querying-inventory).
  stockCount: z.number().nullish(),
  itemStock: z
    .object({ quantity: z.number().nullish(), stockCount: z.number().nullish() })
    .nullish(),
  categories: z.object({ elements: z.array(cloverRef) }).nullish(),
  modifierGroups: z.object({ elements: z.array(cloverRef) }).nullish(),
});
type CloverItem = z.infer<typeof cloverItem>;

// Modifier `available`: https://docs.clover.com/dev/docs/manage-item-modifiers-availability
const cloverModifier = z.object({
  id: z.string().min(1),
  name: z.string(),
  price: z.number().int().nonnegative().nullish(),
  available: z.boolean().nullish(),
});

// Modifier group: `minRequired`, `maxAllowed` (https://docs.clover.com/docs/managing-modifier-groups-modifiers)
// and `modifierIds`, "the ordered, comma-separated list of modifier ids in this group":
// https://github.com/clover/clover-android-sdk/blob/master/clover-android-sdk/src/main/java/com/clover/sdk/v3/inventory/ModifierGroup.java
const cloverModifierGroup = z.object({
  id: z.string().min(1),
  name: z.string(),
  minRequired: z.number().int().nonnegative().nullish(),
  maxAllowed: z.number().int().nonnegative().nullish(),
  modifierIds: z.string().nullish(),
  modifiers: z.object({ elements: z.array(cloverModifier) }).nullish(),
});
type CloverModifierGroup = z.infer<typeof cloverModifierGroup>;

const cloverCategory = z.object({
  id: z.string().min(1),
  name: z.string(),
  sortOrder: z.number().int().nullish(),
});
type CloverCategory = z.infer<typeof cloverCategory>;

// The webhook message as the menu reads it: the same envelope, `ts` not required (the newer
// inventory event types carry richer updates, and an update without a time still means "re-read").
const cloverMenuMessage = z.object({
  merchants: z.record(
    z.string(),
    z.array(z.object({ objectId: z.string().min(1), type: z.string(), ts: z.number().nullish() })),
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
    orderType: { id: cloverOrderTypeId(connection, order.orderType) },
    note: cloverNote(connection, order),
    lineItems,
    // One line item per unit (see cloverLineItems); grouping shows them as
    // "2 × Burger" on the register again.
    groupLineItems: true,
  };
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

/**
 * The labels of the order types Orderlane creates and finds again by. Clover's docs name no
 * convention for an integration's order types (a merchant's are free text), so the labels say
 * where the order came from, as staff read them on the register.
 */
export const CLOVER_ORDER_TYPE_LABELS: Readonly<Record<OrderType, string>> = {
  pickup: "Online pickup",
  delivery: "Online delivery",
  dine_in: "Online dine-in",
};

/**
 * The Clover order type id for `orderType`: what connecting found or created (`settings`), else one the
 * owner gave in the credentials. An order without one would land at the register as a plain in-store
 * sale, so there is no order without it.
 */
export function cloverOrderTypeId(connection: PosConnection, orderType: OrderType): string {
  const key = ORDER_TYPE_KEY[orderType];
  const id = connection.settings?.[key] || connection.credentials[key];
  if (!id) {
    throw new PosError(
      "permanent",
      "missing_order_type",
      `the Clover connection has no order type for ${orderType} orders: reconnect the POS`,
    );
  }
  return id;
}

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
 * states, only payment ones: a refunded or deleted order is cancelled; anything
 * else (PAID included, which our own payment record makes it) is no news.
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
  // PAID is no news: every order is recorded as paid with our tender when it is created.
  return { vendorStatus: payment ?? order.state?.toUpperCase() ?? "OPEN", status: null };
}

/** The `labelKey` of the tender Orderlane creates; a custom tender may not use Clover's `com.clover.` keys. */
// System tenders' labelKeys (com.clover.tender.cash, …external_payment, …) in the Clover Android SDK:
// https://github.com/clover/clover-android-sdk/blob/master/clover-android-sdk/src/main/java/com/clover/sdk/v3/base/TenderConstants.java
export const CLOVER_TENDER_LABEL_KEY = "com.orderlane.tender.paid_online";

// Tender fields (POST /v3/merchants/{mId}/tenders; `label` required, the rest optional):
// https://www.withone.ai/knowledge/clover/conn_mod_def%3A%3AF8_9Ht0RRNg%3A%3AkDaN0TxKQECRNNN6I7BGqg
// and their meaning: https://docs.clover.com/docs/payment-response-reference
/** The tender Orderlane records online payments with: no cash drawer, tips allowed, not editable. */
export const CLOVER_TENDER = {
  labelKey: CLOVER_TENDER_LABEL_KEY,
  label: "Orderlane (paid online)",
  // Nothing lands in the drawer: the money was taken online.
  opensCashDrawer: false,
  // The customer's tip rides on our payment record.
  supportsTipping: true,
  enabled: true,
  visible: true,
  // A merchant who disabled or renamed it would break the payment records of every order.
  editable: false,
  instructions: "Paid online through Orderlane. Refund it in Orderlane, not at the register.",
} as const;

/**
 * The payment record that marks our order paid at the register: what the customer paid through Stripe,
 * with our tender. `amount` is the order's total with tax and without the tip, which is `tipAmount`
 * beside it, as Clover's own payments carry them (a paid order of total 125 had `amount` 125,
 * `taxAmount` 5, `tipAmount` 20: https://community.clover.com/questions/27777/clarification-on-refunds.html).
 * Null when there is nothing to record (Clover refuses a payment that is not positive).
 */
// Create a payment record on an order: a positive amount and a valid tender id; it logs external tenders for
// bookkeeping: https://docs.clover.com/reference/ordercreatepaymentfororder
export function buildCloverPaymentRequest(
  order: PosOrder,
  tenderId: string,
): Record<string, unknown> | null {
  const amount = order.total - order.tip;
  assertCents(amount, "amount paid");
  assertCents(order.tax, "tax");
  assertCents(order.tip, "tip");
  if (amount === 0) return null;
  return {
    tender: { id: tenderId },
    amount,
    taxAmount: order.tax,
    tipAmount: order.tip,
    // Our order id, so staff and reports can tell which online payment this is.
    externalPaymentId: order.orderId,
    note: `Paid online, Orderlane #${order.number}`,
  };
}

/** Whether a payment record still stands (not voided or failed): Payment `result`, same page as above. */
function paymentStands(payment: CloverPayment): boolean {
  const result = payment.result?.toUpperCase() ?? "SUCCESS";
  return result !== "VOIDED" && result !== "FAIL" && result !== "VOIDING";
}

/** The tender our payments carry: what connecting created (`settings.tenderId`). */
function cloverTenderId(connection: PosConnection): string {
  const tenderId = connection.settings?.tenderId;
  // An order without our payment would show unpaid at the register, and staff would charge the customer
  // a second time; a clear failure (reconnecting creates the tender) is the safer of the two.
  if (!tenderId) {
    throw new PosError(
      "permanent",
      "missing_tender",
      "the Clover connection has no Orderlane tender to record the payment with: reconnect the POS",
    );
  }
  return tenderId;
}

/** What a webhook's event type alone says: only a deletion is news without fetching the order. */
export function mapCloverWebhookType(type: string): OrderStatus | null {
  return type === "DELETE" ? "cancelled" : null;
}

// --------------------------------------------------------------- menu import

/** What the menu import reads from Clover: every page of items, modifier groups and categories. */
export interface CloverInventory {
  items: CloverItem[];
  modifierGroups: CloverModifierGroup[];
  categories: CloverCategory[];
}

/**
 * Clover's inventory as the vendor-neutral catalog. Item and modifier ids are Clover's own, which
 * `createOrder` sends back as a line's `item.id` and a modification's `modifier.id`; the stock id is
 * the item id, as Clover's item webhooks name items. Hidden items (not on the register) are left
 * out. An open-priced item (`priceType` VARIABLE) has price 0: Clover holds no price for it.
 */
export function mapCloverCatalog(inventory: CloverInventory, currency: string | null): PosCatalog {
  const categories = inventory.categories
    .map((category, index) => ({
      posCategoryId: category.id,
      name: category.name,
      sortOrder: category.sortOrder ?? index,
    }))
    .sort((a, b) => a.sortOrder - b.sortOrder);
  const categoryRank = new Map(
    categories.map((category, index) => [category.posCategoryId, index]),
  );
  const groups = new Map(
    inventory.modifierGroups.map((group) => [group.id, mapCloverModifierGroup(group)]),
  );
  const items = inventory.items
    .filter((item) => item.hidden !== true)
    .map((item) => mapCloverItem(item, groups, categoryRank));
  return { categories, items, currency };
}

function mapCloverItem(
  item: CloverItem,
  groups: ReadonlyMap<string, PosCatalogModifierGroup>,
  categoryRank: ReadonlyMap<string, number>,
): PosCatalogItem {
  // An item may sit in several categories; the menu shows it once, in the first of them.
  const [posCategoryId = null] = (item.categories?.elements ?? [])
    .map((category) => category.id)
    .filter((id) => categoryRank.has(id))
    .sort((a, b) => (categoryRank.get(a) ?? 0) - (categoryRank.get(b) ?? 0));
  return {
    posItemId: item.id,
    posStockId: item.id,
    name: item.name,
    // The Inventory API has no item description (it belongs to Clover Online Ordering):
    // https://docs.clover.com/dev/docs/inventory-faqs
    description: null,
    price: item.priceType?.toUpperCase() === "VARIABLE" ? 0 : (item.price ?? 0),
    posCategoryId,
    available: cloverItemAvailable(item),
    modifierGroups: (item.modifierGroups?.elements ?? []).flatMap((ref) => {
      const group = groups.get(ref.id);
      return group ? [group] : [];
    }),
  };
}

/**
 * Whether Clover would sell the item now: not marked unavailable, and, where Clover manages its
 * availability from its stock (`autoManage`), not out of stock. Stock is `itemStock.quantity`,
 * else the deprecated whole-number `stockCount` (https://docs.clover.com/docs/querying-inventory);
 * with no stock record the stock is unknown and only `available` counts.
 */
// Auto-managed items become unavailable when their stock reaches zero:
// https://docs.clover.com/docs/managing-item-availability
export function cloverItemAvailable(
  item: Pick<CloverItem, "available" | "autoManage" | "itemStock" | "stockCount">,
): boolean {
  if (item.available === false) return false;
  const stock = item.itemStock?.quantity ?? item.itemStock?.stockCount ?? item.stockCount ?? null;
  return !(item.autoManage === true && stock !== null && stock <= 0);
}

function mapCloverModifierGroup(group: CloverModifierGroup): PosCatalogModifierGroup {
  const order = (group.modifierIds ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  const position = new Map(order.map((id, index) => [id, index]));
  const modifiers = (group.modifiers?.elements ?? [])
    .map((modifier, index) => ({
      modifier,
      rank: position.get(modifier.id) ?? order.length + index,
    }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ modifier }) => ({
      posModifierId: modifier.id,
      posStockId: modifier.id,
      name: modifier.name,
      price: modifier.price ?? 0,
      available: modifier.available !== false,
      // A Clover modification is one modifier; the API sets no per-modifier limit to import.
      maxQuantity: 1,
    }));
  return {
    posGroupId: group.id,
    name: group.name,
    minSelections: group.minRequired ?? 0,
    // No `maxAllowed` is no limit. A maximum of 0 would forbid the whole group (and contradict any
    // `minRequired`), so it is read as no limit too.
    maxSelections: group.maxAllowed ? group.maxAllowed : null,
    modifiers,
  };
}

// Webhook event types: "I" inventory items (https://docs.clover.com/docs/webhooks), and the item
// stock "IS" and item availability "IA" types Clover splits off it:
// https://docs.clover.com/dev/docs/upcoming-changes-to-inventory-webhooks
const INVENTORY_OBJECT_PREFIXES = ["I:", "IS:", "IA:"] as const;

/** Whether a webhook update's `objectId` names an inventory item. */
function isInventoryObject(objectId: string): boolean {
  return INVENTORY_OBJECT_PREFIXES.some((prefix) => objectId.startsWith(prefix));
}

/** FNV-1a, 64 bits, as hex: a short stable digest for ids derived from a message. */
function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of encoder.encode(text)) {
    hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  }
  return hash.toString(16).padStart(16, "0");
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

/** One Clover API call below the merchant: JSON in, the 2xx answer's JSON out. */
async function cloverCall(
  connection: PosConnection,
  method: "GET" | "POST" | "DELETE",
  path: string,
  options: PosCallOptions,
  body?: unknown,
): Promise<unknown> {
  const headers: Record<string, string> = authHeaders(connection);
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await vendorFetch(
    merchantUrl(connection, path),
    { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    options,
  );
  return readJson(response);
}

/**
 * Clover's page size for the inventory reads: its hard limit (the default is 100):
 * https://docs.clover.com/docs/paginating-elements
 */
export const CLOVER_PAGE_LIMIT = 1000;

/** Pages read before a list is refused as too large to import (100 000 entries). */
const CLOVER_MAX_PAGES = 100;

/**
 * How a 429 during the import is waited out. Clover's 429 carries `retry-after` in seconds, and
 * calling before it has passed makes the wait longer, so a longer wait is left to the caller:
 * https://community.clover.com/articles/11615/improved-429-response-headers.html
 * Without the header (Clover documents it for its concurrency limit,
 * https://docs.clover.com/docs/api-usage-rate-limits) one second covers the per-second limits.
 */
const CLOVER_RATE_LIMIT_POLICY = { retries: 3, maxWaitSeconds: 10, defaultWaitSeconds: 1 };

/**
 * Every element of a Clover list, read with `limit`/`offset` until a short page. Offsets shift when
 * the merchant edits the inventory meanwhile, so an element seen twice is kept once.
 */
// Items have `limit`/`offset` since https://docs.clover.com/changelog/clover-api-updates-june-2023,
// categories and modifier groups since https://docs.clover.com/changelog/clover-api-updates-september-2023
async function readAllPages<T extends { id: string }>(
  connection: PosConnection,
  path: string,
  query: Record<string, string>,
  schema: z.ZodType<T>,
  what: string,
  options: PosCallOptions,
): Promise<T[]> {
  const list = z.object({ elements: z.array(schema) });
  const byId = new Map<string, T>();
  for (let page = 0; page < CLOVER_MAX_PAGES; page += 1) {
    const params = new URLSearchParams({
      ...query,
      limit: String(CLOVER_PAGE_LIMIT),
      offset: String(page * CLOVER_PAGE_LIMIT),
    });
    const answer = await withRateLimitRetries(
      () => cloverCall(connection, "GET", `${path}?${params}`, options),
      CLOVER_RATE_LIMIT_POLICY,
    );
    const { elements } = parseAnswer(list, answer, what);
    for (const element of elements) if (!byId.has(element.id)) byId.set(element.id, element);
    if (elements.length < CLOVER_PAGE_LIMIT) return [...byId.values()];
  }
  throw new PosError(
    "permanent",
    "catalog_too_large",
    `the Clover ${what} has more than ${CLOVER_MAX_PAGES * CLOVER_PAGE_LIMIT} entries`,
  );
}

// GET /v3/merchants/{mId}: https://docs.clover.com/build/web-api
/**
 * The merchant the token reaches. A 404 is a merchant id Clover does not know. A 401 stays `auth`:
 * Clover answers 401 alike for a bad token, one without the permission and a mistyped merchant id
 * (https://docs.clover.com/docs/401-unauthorized), so the token is what the owner must check first.
 */
async function getMerchant(connection: PosConnection, options: PosCallOptions) {
  try {
    return parseAnswer(
      cloverMerchant,
      await cloverCall(connection, "GET", "", options),
      "merchant",
    );
  } catch (err) {
    if (err instanceof PosError && err.details.status === 404) {
      throw new PosError(
        "permanent",
        "unknown_location",
        `Clover has no merchant ${connection.locationId}`,
        err.details,
      );
    }
    throw err;
  }
}

/** ISO 4217 upper case, or null when Clover's value is not a currency code. */
function currencyOf(value: string | null | undefined): string | null {
  const code = value?.trim().toUpperCase() ?? "";
  return /^[A-Z]{3}$/.test(code) ? code : null;
}

/** The IANA time zone Clover names, or null when it names none the runtime knows. */
function timezoneOf(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/**
 * The ids of our order types for every order type the credentials do not name: the merchant's order
 * type with our label, else a new one. Found by label, so connecting again creates none twice.
 */
// GET/POST /v3/merchants/{mId}/order_types; fields label, taxable, isDefault, filterCategories (false: every
// category of the menu), isHidden, hoursAvailable ALL|BUSINESS|CUSTOM:
// https://www.withone.ai/knowledge/clover/conn_mod_def%3A%3AF8_9GKbMgRg%3A%3AV5HR0bkbRQOYg2eHnt7MBA
async function ensureOrderTypes(
  connection: PosConnection,
  options: PosCallOptions,
): Promise<Record<string, string>> {
  const missing = ORDER_TYPES.filter((type) => !connection.credentials[ORDER_TYPE_KEY[type]]);
  if (missing.length === 0) return {};
  const { elements } = parseAnswer(
    cloverOrderTypeList,
    await cloverCall(connection, "GET", "/order_types?limit=1000", options),
    "order type list",
  );
  const settings: Record<string, string> = {};
  for (const type of missing) {
    const label = CLOVER_ORDER_TYPE_LABELS[type];
    const found = elements.find((candidate) => candidate.label === label && !candidate.isDeleted);
    const orderType =
      found ??
      parseAnswer(
        cloverOrderType,
        await cloverCall(connection, "POST", "/order_types", options, {
          label,
          // Online orders are taxed like any other; the merchant's tax rates apply.
          taxable: true,
          // Staff's own default for walk-in sales stays theirs.
          isDefault: false,
          filterCategories: false,
          isHidden: false,
          hoursAvailable: "ALL",
        }),
        "order type",
      );
    settings[ORDER_TYPE_KEY[type]] = orderType.id;
  }
  return settings;
}

/** Our tender's id: the merchant's tender with our labelKey, else a new one. */
// GET/POST /v3/merchants/{mId}/tenders (fields cited at CLOVER_TENDER).
async function ensureTender(connection: PosConnection, options: PosCallOptions): Promise<string> {
  const { elements } = parseAnswer(
    cloverTenderList,
    await cloverCall(connection, "GET", "/tenders?limit=1000", options),
    "tender list",
  );
  const found = elements.find((tender) => tender.labelKey === CLOVER_TENDER_LABEL_KEY);
  if (found) return found.id;
  const created = parseAnswer(
    cloverTender,
    await cloverCall(connection, "POST", "/tenders", options, CLOVER_TENDER),
    "tender",
  );
  return created.id;
}

/** The order with its payments, or null when Clover has no such order (any more). */
// GET /v3/merchants/{mId}/orders/{orderId}?expand=payments: https://docs.clover.com/reference/orderupdateorder-3
async function getOrderWithPayments(
  connection: PosConnection,
  posOrderId: string,
  options: PosCallOptions,
) {
  try {
    const order = parseAnswer(
      cloverOrderWithPayments,
      await cloverCall(
        connection,
        "GET",
        `/orders/${encodeURIComponent(posOrderId)}?expand=payments`,
        options,
      ),
      "order",
    );
    return order.deletedTime ? null : order;
  } catch (err) {
    if (err instanceof PosError && err.details.status === 404) return null;
    throw err;
  }
}

/**
 * Records our payment on the Clover order, once: Clover's payment record takes no idempotency key, so a
 * payment with our tender already on the order (an earlier attempt whose answer was lost) is the one.
 */
async function payOnce(
  connection: PosConnection,
  order: PosOrder,
  posOrderId: string,
  tenderId: string,
  options: PosCallOptions,
): Promise<void> {
  const request = buildCloverPaymentRequest(order, tenderId);
  if (!request) return;
  const current = await getOrderWithPayments(connection, posOrderId, options);
  if (!current) {
    throw new PosError(
      "permanent",
      "order_deleted",
      `the Clover order ${posOrderId} was deleted before its payment was recorded`,
    );
  }
  const payments = current.payments?.elements ?? [];
  if (payments.some((payment) => payment.tender?.id === tenderId && paymentStands(payment))) return;
  parseAnswer(
    cloverPayment,
    await cloverCall(
      connection,
      "POST",
      `/orders/${encodeURIComponent(posOrderId)}/payments`,
      options,
      request,
    ),
    "payment",
  );
}

// Clover atomic orders, POST /v3/merchants/{mId}/atomic_order/orders: https://docs.clover.com/reference/orders-1
async function createAtomicOrder(
  connection: PosConnection,
  body: { orderCart: Record<string, unknown> },
  options: PosCallOptions,
): Promise<string> {
  const created = parseAnswer(
    cloverOrder,
    await cloverCall(connection, "POST", "/atomic_order/orders", options, body),
    "order",
  );
  return created.id;
}

// ------------------------------------------------------------------- OAuth

// Clover high-trust apps, v2/OAuth: the merchant is sent to `/oauth/v2/authorize` (Clover's web
// origin, www.clover.com) and comes back with `merchant_id`, `client_id` and `code`; the code is
// exchanged at `/oauth/v2/token` (the API origin) with the app secret for an access and refresh
// token pair, expirations in Unix seconds: https://docs.clover.com/docs/high-trust-app-auth-flow.
// That page does not list `state`; it is sent as RFC 6749 section 4.1.1 has it, and the callback
// refuses to connect without it.
/**
 * A token pair from Clover's `/oauth/v2/token` (a code) or `/oauth/v2/refresh` (a refresh token),
 * which answer alike; a refusal stays refused (`permanent`, with `refused.code`).
 */
async function tokenPair(
  url: string,
  body: Record<string, string>,
  options: PosCallOptions,
  refused: { code: string; message: string },
): Promise<z.infer<typeof cloverRefreshResponse>> {
  let response: Response;
  try {
    response = await vendorFetch(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
      },
      options,
    );
  } catch (err) {
    if (err instanceof PosError && (err.kind === "auth" || err.kind === "permanent")) {
      throw new PosError("permanent", refused.code, refused.message, err.details);
    }
    throw err;
  }
  return parseAnswer(cloverRefreshResponse, await readJson(response), "token answer");
}

/** Clover's authorization-code flow (high-trust app: the secret stays on the server). */
export const cloverOAuth: PosOAuth = {
  authorizeUrl(app: PosOAuthApp, state: string): string {
    const query = new URLSearchParams({
      client_id: app.clientId,
      redirect_uri: app.redirectUri,
      state,
    });
    return `${app.authorizeBaseUrl.replace(/\/+$/, "")}/oauth/v2/authorize?${query}`;
  },

  async exchangeCode(app, callback, options) {
    const code = callback.get("code");
    if (!code) {
      throw new PosError(
        "permanent",
        "authorization_denied",
        "Clover did not grant access: no code",
      );
    }
    // A used, expired or foreign code stays refused.
    const token = await tokenPair(
      `${app.apiBaseUrl.replace(/\/+$/, "")}/oauth/v2/token`,
      { client_id: app.clientId, client_secret: app.clientSecret, code },
      options,
      { code: "code_refused", message: "Clover refused the code" },
    );
    return {
      session: {
        accessToken: token.access_token,
        expiresAt: new Date(token.access_token_expiration * 1000).toISOString(),
        refreshToken: token.refresh_token,
      },
      merchantId: callback.get("merchant_id"),
      // A refresh needs only the app id and the (rotating) refresh token.
      credentials: {
        accessToken: token.access_token,
        refreshToken: token.refresh_token,
        clientId: app.clientId,
      },
    };
  },
};

/**
 * Clover: OAuth v2 access tokens, orders by atomic order create, exactly once
 * through a lookup by our reference in `title` before every create, each paid
 * with our tender once (checked on the order before the payment is recorded).
 */
export const cloverAdapter: PosAdapter = {
  provider: "clover",
  oauth: cloverOAuth,

  async createOrder(connection, order, options): Promise<CreatedPosOrder> {
    // Both checked before any call: no order reaches the register without its type and its payment.
    const body = buildCloverOrderRequest(connection, order);
    const tenderId = cloverTenderId(connection);
    const title = cloverOrderTitle(order.orderId);
    const existing = await findByTitle(connection, title, options);
    const posOrderId = existing?.id ?? (await createAtomicOrder(connection, body, options));
    await payOnce(connection, order, posOrderId, tenderId, options);
    return { posOrderId, alreadyExisted: existing !== null };
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

  async checkConnection(connection, options): Promise<PosLocationInfo> {
    const merchant = await getMerchant(connection, options);
    const properties = parseAnswer(
      cloverMerchantProperties,
      await cloverCall(connection, "GET", "/properties", options),
      "merchant properties",
    );
    const orderTypes = await ensureOrderTypes(connection, options);
    const tenderId = await ensureTender(connection, options);
    return {
      name: merchant.name ?? null,
      currency: currencyOf(properties.defaultCurrency),
      timezone: timezoneOf(properties.timezone),
      settings: { ...orderTypes, tenderId },
    };
  },

  draftProblems(): PosDraftProblem[] {
    return [];
  },

  /**
   * Deletes the order where Clover allows it: an order can be deleted until it has been paid for, and
   * Clover documents no API to void or refund a payment recorded with an external tender. So an order
   * with our payment standing answers false (staff refund it at the register, `pos_void_needed`); one
   * without (nothing to pay, or its payment voided by staff) is deleted. One already gone answers true.
   */
  // DELETE /v3/merchants/{mId}/orders/{orderId}: https://docs.clover.com/reference/orderdeleteorder
  // "An order can be deleted until it has been paid for":
  // https://community.clover.com/questions/35174/can-an-order-be-deleted-when-it-has-only-been-prin.html
  async cancelOrder(connection, posOrderId, options): Promise<boolean> {
    const order = await getOrderWithPayments(connection, posOrderId, options);
    if (!order) return true;
    if ((order.payments?.elements ?? []).some(paymentStands)) return false;
    try {
      await cloverCall(connection, "DELETE", `/orders/${encodeURIComponent(posOrderId)}`, options);
    } catch (err) {
      // Deleted by someone else between the read and the delete: gone is what we wanted.
      if (err instanceof PosError && err.details.status === 404) return true;
      throw err;
    }
    return true;
  },

  // Clover orders carry `state` and `paymentState` only; the order update takes no preparation state, and
  // `orderFulfillmentEvent` is listed as an expansion with no documented way to set it:
  // https://docs.clover.com/reference/orderupdateorder-3
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
    // Clover OAuth, POST /oauth/v2/refresh with { client_id, refresh_token }: https://docs.clover.com/docs/refresh-access-tokens
    // A refused refresh token stays refused: the merchant must reconnect.
    const answer = await tokenPair(
      `${connection.baseUrl.replace(/\/+$/, "")}/oauth/v2/refresh`,
      { client_id: clientId, refresh_token: refreshToken },
      options,
      { code: "refresh_failed", message: "Clover refused the refresh token" },
    );
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

  /**
   * The merchant's inventory: categories, modifier groups with their modifiers, then items with
   * their categories, modifier groups and stock, every page. The currency is the merchant's where
   * connecting stored it (`settings.currency`), else null.
   */
  // GET /v3/merchants/{mId}/items, /modifier_groups, /categories, with `expand` for nested lists:
  // https://docs.clover.com/docs/managing-items-item-groups, https://docs.clover.com/docs/managing-modifier-groups-modifiers
  async readCatalog(connection, options): Promise<PosCatalog> {
    const categories = await readAllPages(
      connection,
      "/categories",
      {},
      cloverCategory,
      "category list",
      options,
    );
    const modifierGroups = await readAllPages(
      connection,
      "/modifier_groups",
      { expand: "modifiers" },
      cloverModifierGroup,
      "modifier group list",
      options,
    );
    const items = await readAllPages(
      connection,
      "/items",
      { expand: "categories,modifierGroups,itemStock" },
      cloverItem,
      "item list",
      options,
    );
    return mapCloverCatalog(
      { items, modifierGroups, categories },
      currencyOf(connection.settings?.currency),
    );
  },

  /**
   * One `catalog_changed` for a message naming any inventory item: Clover's item update says that
   * an item changed, not how, so the sync reads the catalog again. Its id is derived from the
   * inventory updates alone, so a message delivered again gives the same id.
   */
  parseMenuSignals(request: WebhookRequest): PosMenuSignal[] {
    const parsed = cloverMenuMessage.safeParse(jsonOrUndefined(request.rawBody));
    if (!parsed.success) return [];
    const changes = Object.entries(parsed.data.merchants)
      .flatMap(([merchantId, updates]) =>
        updates
          .filter((update) => isInventoryObject(update.objectId))
          .map((update) => `${merchantId}:${update.objectId}:${update.type}:${update.ts ?? ""}`),
      )
      .sort();
    if (changes.length === 0) return [];
    return [
      { kind: "catalog_changed", eventId: `clover-inventory:${fnv1a64(changes.join("\n"))}` },
    ];
  },
};

// Clover's webhook URL verification: a POST whose body is `{ "verificationCode": "…" }`, sent without
// `X-Clover-Auth`; the developer pastes the code into the dashboard: https://docs.clover.com/docs/webhooks
// Bounded: the code is stored and shown to whoever pastes it into Clover (a UUID in practice).
const cloverVerificationRequest = z.object({ verificationCode: z.string().min(1).max(200) });

/**
 * The code of a Clover webhook URL verification request, or null when the body is not one. The
 * route answers it (the request carries no auth code to check) instead of parsing it as a message.
 */
export function cloverVerificationCode(rawBody: string): string | null {
  const parsed = cloverVerificationRequest.safeParse(jsonOrUndefined(rawBody));
  return parsed.success ? parsed.data.verificationCode : null;
}

/**
 * A Clover webhook message split by merchant, each part a message of its own (same `appId`, one
 * merchant's updates), so the app-wide route can hand each part to that merchant's tenant; empty
 * when the body is not a Clover message.
 */
export function cloverMessagesByMerchant(
  rawBody: string,
): { merchantId: string; rawBody: string }[] {
  const parsed = cloverWebhookMessage.safeParse(jsonOrUndefined(rawBody));
  if (!parsed.success) return [];
  return Object.entries(parsed.data.merchants).map(([merchantId, updates]) => ({
    merchantId,
    rawBody: JSON.stringify({ appId: parsed.data.appId, merchants: { [merchantId]: updates } }),
  }));
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

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
