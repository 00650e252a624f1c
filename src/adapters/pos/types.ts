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
}

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

export interface PosAdapter {
  readonly provider: PosProvider;
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
  /** Whether the request carries a valid signature made with `secret`. */
  verifyWebhook(request: WebhookRequest, secret: string): Promise<boolean>;
  /** The status reports in a verified webhook body (empty when none concern orders). */
  parseWebhook(request: WebhookRequest): PosStatusReport[];
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
