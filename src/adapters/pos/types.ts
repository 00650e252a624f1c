import type { OrderStatus, OrderType } from "../../domain/order-status";

/**
 * What Orderlane needs from a point-of-sale system. One implementation per
 * vendor (toast.ts, clover.ts, square.ts, webhook.ts, sandbox.ts); code
 * outside `src/adapters` never sees a vendor's field names.
 */

export const POS_PROVIDERS = ["toast", "clover", "square", "webhook", "sandbox"] as const;
export type PosProvider = (typeof POS_PROVIDERS)[number];

/** A cached access token and what is needed to renew it. */
export interface PosSession {
  accessToken: string;
  /** ISO time after which the token must be refreshed first; null when unknown. */
  expiresAt: string | null;
  /** OAuth refresh token (Square, Clover); rotated by some vendors on refresh. */
  refreshToken: string | null;
}

/**
 * One tenant's connection to its POS, credentials already decrypted. The
 * credential keys per provider:
 * - toast: `clientId`, `clientSecret` (machine client, client-credentials login)
 * - clover: `accessToken`, and for refresh `clientId`, `clientSecret`, `refreshToken`
 * - square: `accessToken`, and for refresh `clientId`, `clientSecret`, `refreshToken`
 * - webhook: `url` (where orders are POSTed) and `secret` (HMAC signing key)
 * - sandbox: none (`latencyMs`, `failureRate` may be given as strings)
 */
export interface PosConnection {
  provider: PosProvider;
  /** Toast restaurant GUID, Clover merchant id, Square location id; free text otherwise. */
  locationId: string;
  credentials: Readonly<Record<string, string>>;
  session: PosSession | null;
  /** The vendor API's base URL, from configuration (a local double in tests). */
  baseUrl: string;
  /** When false, no customer name, phone or email leaves for the POS. */
  syncCustomerInfo: boolean;
  /** What `checkConnection` returned in `settings` when the tenant connected; `{}` before. */
  settings?: Readonly<Record<string, string>>;
}

export interface PosModifier {
  name: string;
  /** Minor units. */
  price: number;
  posModifierId: string | null;
}

export interface PosOrderLine {
  /** Our menu item id. */
  menuItemId: string;
  name: string;
  quantity: number;
  /** Item price plus modifiers, minor units. */
  unitPrice: number;
  /** Item price alone, minor units. */
  basePrice: number;
  posItemId: string | null;
  modifiers: PosModifier[];
  specialInstructions: string | null;
}

/** The order as a POS receives it. Amounts are integer minor units of `currency`. */
export interface PosOrder {
  /** Our order id: the vendor idempotency key or external reference. */
  orderId: string;
  number: number;
  orderType: OrderType;
  /** Null when the tenant does not sync customer details. */
  customer: { name: string; email: string | null; phone: string | null } | null;
  lines: PosOrderLine[];
  currency: string;
  subtotal: number;
  discount: number;
  tax: number;
  tip: number;
  total: number;
  specialInstructions: string | null;
  scheduledFor: string | null;
  deliveryAddress: {
    line1: string;
    line2?: string | undefined;
    city: string;
    postalCode: string;
    region?: string | undefined;
    country: string;
  } | null;
  createdAt: string;
}

export interface CreatedPosOrder {
  /** The vendor's own id of the order. */
  posOrderId: string;
  /** True when an earlier attempt had already created it and it was found by our reference. */
  alreadyExisted: boolean;
  /** When the POS expects the order ready (ISO), where its answer says; else null. */
  estimatedReadyAt?: string | null;
}

/** What `checkConnection` learnt of the location the credentials reach. */
export interface PosLocationInfo {
  /**
   * The location's own id where the connection named it by an alias (Square's `main`); the
   * connection is stored under this id. Absent: the id the connection was given.
   */
  id?: string;
  /** The location's or merchant's name, as the vendor shows it. */
  name: string | null;
  /** ISO 4217, upper case; null where there is no vendor to ask (sandbox, webhook). */
  currency: string | null;
  /** IANA time zone, e.g. America/New_York; null when the vendor does not say. */
  timezone: string | null;
  /**
   * Settings the adapter found or created and needs later (e.g. Clover's order type ids per
   * order type), stored beside the credentials and given back in `PosConnection.settings`.
   */
  settings: Record<string, string>;
}

/** A reason an order draft cannot satisfy the tenant's POS, for a 422 naming the field. */
export interface PosDraftProblem {
  /** The request field, as a JSON path in the storefront's draft (e.g. `customer.phone`). */
  field: string;
  message: string;
}

/** What the storefront's draft carries that a POS may require (checked before payment). */
export interface PosDraft {
  orderType: OrderType;
  /** Whether the priced draft has a discount (a code that took something off). */
  discounted: boolean;
  customer: { name: string; email: string | null; phone: string | null };
  deliveryAddress: PosOrder["deliveryAddress"];
}

/** Where an order stands in its preparation, as we push it to a POS that tracks it. */
export type PosFulfillmentStatus = "preparing" | "ready" | "completed";

/** A status report parsed from a vendor webhook. */
export interface PosStatusReport {
  /** The vendor's event id, for deduplication. */
  eventId: string;
  posOrderId: string | null;
  /** Our order id when the vendor echoes our reference. */
  orderId: string | null;
  /** The vendor's own status word, kept for the record. */
  vendorStatus: string;
  /** Mapped onto our status; null when it means no change for us. */
  status: OrderStatus | null;
  occurredAt: string | null;
}

export interface WebhookRequest {
  /** Header names lower-case. */
  headers: Readonly<Record<string, string>>;
  /** The body exactly as received. */
  rawBody: string;
  /** The full URL the vendor called (Square signs it). */
  url: string;
}

export interface PosCallOptions {
  /** Per request; a request still running then is a retryable `timeout`. */
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

/** Our OAuth app at a vendor (Square, Clover): its id and secret from configuration. */
export interface PosOAuthApp {
  clientId: string;
  clientSecret: string;
  /** Where the owner's browser is sent to grant access (Square: the API origin; Clover: its web origin). */
  authorizeBaseUrl: string;
  /** The vendor API's base URL, where the code is exchanged. */
  apiBaseUrl: string;
  /** Our callback, `PUBLIC_BASE_URL/oauth/<provider>/callback`, as registered with the vendor. */
  redirectUri: string;
}

/** What an authorization code was exchanged for. */
export interface PosOAuthGrant {
  session: PosSession;
  /** The merchant that granted access (Clover names it in the callback; Square in the token answer). */
  merchantId: string | null;
  /** What a connection needs to refresh the session later (keys as in `PosConnection.credentials`). */
  credentials: Record<string, string>;
}

/** The OAuth authorization-code flow of a vendor that has one (Square, Clover). */
export interface PosOAuth {
  /** The vendor's authorize URL for `state`, where the owner grants access. */
  authorizeUrl(app: PosOAuthApp, state: string): string;
  /**
   * Exchanges the code in the callback's query for tokens. Throws `PosError`: `permanent` for a
   * code the vendor refuses (used, expired, another app's) or a callback without one.
   */
  exchangeCode(
    app: PosOAuthApp,
    callback: URLSearchParams,
    options: PosCallOptions,
  ): Promise<PosOAuthGrant>;
}

/**
 * A modifier as the POS's catalog holds it. `maxQuantity` is how many of it one line may take
 * (1 where the vendor has no quantities per modifier).
 */
export interface PosCatalogModifier {
  /** What an order names it by (as `PosModifier.posModifierId`). */
  posModifierId: string;
  /** What the vendor's stock signals name it by (often the same id). */
  posStockId: string;
  name: string;
  /** Minor units. */
  price: number;
  available: boolean;
  maxQuantity: number;
}

/** A modifier group: how many of its modifiers one line must and may take. */
export interface PosCatalogModifierGroup {
  posGroupId: string;
  name: string;
  minSelections: number;
  /** Null: no upper bound. */
  maxSelections: number | null;
  modifiers: PosCatalogModifier[];
}

/**
 * A sellable item as the POS's catalog holds it. Vendors with variations (Square) give one item
 * per variation, named "Item (Variation)" when there are several.
 */
export interface PosCatalogItem {
  /** What an order names it by (as `PosOrderLine.posItemId`). */
  posItemId: string;
  /** What the vendor's stock signals name it by (often the same id). */
  posStockId: string;
  name: string;
  description: string | null;
  /** Minor units; 0 for an open-priced item. */
  price: number;
  posCategoryId: string | null;
  available: boolean;
  modifierGroups: PosCatalogModifierGroup[];
}

/** The POS's whole sellable catalog for the connection's location, every page read. */
export interface PosCatalog {
  categories: { posCategoryId: string; name: string; sortOrder: number }[];
  items: PosCatalogItem[];
  /** ISO 4217 of the prices, where the vendor says; null when not. */
  currency: string | null;
}

/** What a vendor webhook says about the menu (Square catalog and inventory, Toast menus and stock, Clover inventory). */
export type PosMenuSignal =
  /** The catalog changed: read it again. */
  | { kind: "catalog_changed"; eventId: string }
  /** One item's or modifier's stock changed; `id` is its `posStockId`. */
  | {
      kind: "stock";
      eventId: string;
      target: "item" | "modifier";
      posStockId: string;
      available: boolean;
    };

export interface PosAdapter {
  readonly provider: PosProvider;
  /** The vendor's OAuth flow, for vendors an owner connects by granting access (Square, Clover). */
  readonly oauth?: PosOAuth;
  /**
   * Creates the order in the POS, exactly once per `order.orderId`: vendors
   * with an idempotency key get our order id as that key; others are first
   * searched by our reference. Throws `PosError`.
   */
  createOrder(
    connection: PosConnection,
    order: PosOrder,
    options: PosCallOptions,
  ): Promise<CreatedPosOrder>;
  /** The order's status as the POS sees it. Throws `PosError`. */
  getOrderStatus(
    connection: PosConnection,
    posOrderId: string,
    options: PosCallOptions,
  ): Promise<{ vendorStatus: string; status: OrderStatus | null }>;
  /** A new session (client credentials or OAuth refresh). Throws `PosError` (`permanent` when refused). */
  refreshSession(connection: PosConnection, options: PosCallOptions): Promise<PosSession>;
  /**
   * Calls the vendor once with the credentials (Square RetrieveLocation, Toast restaurant
   * info, Clover merchant) and answers what it learnt; finds or creates what orders need
   * later (Clover order types). Throws `PosError`: `auth` for refused credentials,
   * `permanent` with code `unknown_location` when the location is not theirs.
   */
  checkConnection(connection: PosConnection, options: PosCallOptions): Promise<PosLocationInfo>;
  /**
   * What in the draft this POS cannot take (Toast requires a customer's first and last name,
   * phone and email, and a delivery address with a two-letter state); empty when it can.
   * Pure: no call to the vendor.
   */
  draftProblems(
    draft: PosDraft,
    connection: Pick<PosConnection, "syncCustomerInfo" | "settings">,
  ): PosDraftProblem[];
  /**
   * Cancels (voids) the order in the POS where the vendor's API allows it; answers false
   * where it does not (staff must void it by hand: `pos_void_needed`). An order the POS has
   * already cancelled answers true. Throws `PosError` for a call that failed.
   */
  cancelOrder(
    connection: PosConnection,
    posOrderId: string,
    options: PosCallOptions,
  ): Promise<boolean>;
  /**
   * Moves the order's fulfillment in the POS to `status` where the vendor tracks it (Square
   * fulfillment states); answers false where it does not. A POS already at or past `status`
   * is left alone and answers true. Throws `PosError`.
   */
  updateFulfillment(
    connection: PosConnection,
    posOrderId: string,
    status: PosFulfillmentStatus,
    options: PosCallOptions,
  ): Promise<boolean>;
  /** Whether the request carries a valid signature made with `secret`. */
  verifyWebhook(request: WebhookRequest, secret: string): Promise<boolean>;
  /** The status reports in a verified webhook body (empty when none concern orders). */
  parseWebhook(request: WebhookRequest): PosStatusReport[];
  /**
   * Reads the location's whole catalog, following every page, waiting out a 429's Retry-After a
   * few times before giving up (`retryable`). Absent for providers without a catalog (webhook,
   * sandbox). Throws `PosError`.
   */
  readCatalog?(connection: PosConnection, options: PosCallOptions): Promise<PosCatalog>;
  /** The menu signals in a verified webhook body (empty when none concern the menu). */
  parseMenuSignals?(request: WebhookRequest): PosMenuSignal[];
}

/** How the caller should treat a failure. */
export type PosErrorKind = "retryable" | "permanent" | "auth";

/**
 * Every adapter failure. `retryable`: network, timeout, 5xx, 429 (with its
 * Retry-After); `permanent`: 400/422, an unmapped item, a refused refresh;
 * `auth`: 401/403, which the caller answers with one session refresh.
 */
export class PosError extends Error {
  constructor(
    readonly kind: PosErrorKind,
    readonly code: string,
    message: string,
    readonly details: { status?: number; retryAfterSeconds?: number; vendorMessage?: string } = {},
  ) {
    super(message);
    this.name = "PosError";
  }
}
