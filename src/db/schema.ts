import { relations, sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import type {
  OrderStatus,
  OrderType,
  PaymentStatus,
  PosStatus,
  StatusSource,
} from "../domain/order-status";
import type { DeliveryAddressView } from "../domain/order-view";
import type { KeyRole } from "../domain/roles";

export type { KeyRole } from "../domain/roles";

const createdAt = () => text("created_at").notNull();
const updatedAt = () => text("updated_at").notNull();

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  currency: text("currency").notNull(),
  timezone: text("timezone").notNull(),
  taxRateBps: integer("tax_rate_bps").notNull(),
  /** The number the next order gets; taken by an increment in the order's own batch. */
  nextOrderNumber: integer("next_order_number").notNull().default(1001),
  /**
   * The largest money value this tenant accepts anywhere (a price, a
   * modifier, a tip, a discount, an order's total), in minor units.
   */
  maxAmount: integer("max_amount").notNull().default(100_000_000),
  /** Set when the platform deleted the tenant: its keys are revoked, its routes 404. */
  deletedAt: text("deleted_at"),
  /** Origins whose pages may call the storefront routes (CORS); empty means any. */
  allowedOrigins: text("allowed_origins", { mode: "json" })
    .$type<string[]>()
    .notNull()
    .default(sql`'[]'`),
  /** Origins of consoles allowed to call the staff and POS routes (CORS); same-origin always is. */
  consoleOrigins: text("console_origins", { mode: "json" })
    .$type<string[]>()
    .notNull()
    .default(sql`'[]'`),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** Only the SHA-256 of a key is stored; the clear key is shown once at creation. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    role: text("role").$type<KeyRole>().notNull(),
    label: text("label").notNull(),
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull().unique(),
    createdAt: createdAt(),
    revokedAt: text("revoked_at"),
  },
  (t) => [index("api_keys_tenant_idx").on(t.tenantId, t.createdAt)],
);

/** A heading of the menu (Starters, Drinks); from the POS's categories after a sync. */
export const menuCategories = sqliteTable(
  "menu_categories",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    name: text("name").notNull(),
    sortOrder: integer("sort_order").notNull().default(0),
    posCategoryId: text("pos_category_id"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("menu_categories_tenant_idx").on(t.tenantId, t.sortOrder)],
);

export const menuItems = sqliteTable(
  "menu_items",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    categoryId: text("category_id"),
    name: text("name").notNull(),
    /** Local: a sync fills it only while it is empty. */
    description: text("description").notNull().default(""),
    /** Local: never touched by a sync. */
    photoUrl: text("photo_url"),
    /** Local after the first sync, which takes the POS's order. */
    sortOrder: integer("sort_order").notNull().default(0),
    price: integer("price").notNull(),
    /** Staff's switch (86): false until `availableAgainAt`, or until switched back when that is null. */
    available: integer("available", { mode: "boolean" }).notNull().default(true),
    availableAgainAt: text("available_again_at"),
    /** The POS's own word on stock, from a sync or a stock webhook. */
    posAvailable: integer("pos_available", { mode: "boolean" }).notNull().default(true),
    posItemId: text("pos_item_id"),
    /** What the POS's stock signals name the item by. */
    posStockId: text("pos_stock_id"),
    /** When a sync last found it in the POS; null for an item made here. */
    syncedAt: text("synced_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("menu_items_tenant_idx").on(t.tenantId, t.createdAt),
    index("menu_items_pos_stock_idx").on(t.tenantId, t.posStockId),
    check("menu_items_price_check", sql`${t.price} >= 0`),
  ],
);

/** How many of its modifiers one line must and may take ("Size": exactly one). */
export const menuModifierGroups = sqliteTable(
  "menu_modifier_groups",
  {
    id: text("id").primaryKey(),
    menuItemId: text("menu_item_id")
      .notNull()
      .references(() => menuItems.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    name: text("name").notNull(),
    minSelections: integer("min_selections").notNull().default(0),
    /** Null: no upper bound. */
    maxSelections: integer("max_selections"),
    posGroupId: text("pos_group_id"),
    position: integer("position").notNull(),
  },
  (t) => [
    index("menu_modifier_groups_item_idx").on(t.menuItemId, t.position),
    check(
      "menu_modifier_groups_bounds_check",
      sql`${t.minSelections} >= 0 AND (${t.maxSelections} IS NULL OR ${t.maxSelections} >= ${t.minSelections})`,
    ),
  ],
);

export const menuModifiers = sqliteTable(
  "menu_modifiers",
  {
    id: text("id").primaryKey(),
    menuItemId: text("menu_item_id")
      .notNull()
      .references(() => menuItems.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** Null: a free extra outside any group. */
    groupId: text("group_id").references(() => menuModifierGroups.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    price: integer("price").notNull(),
    /** How many of it one line may take. */
    maxQuantity: integer("max_quantity").notNull().default(1),
    available: integer("available", { mode: "boolean" }).notNull().default(true),
    availableAgainAt: text("available_again_at"),
    posAvailable: integer("pos_available", { mode: "boolean" }).notNull().default(true),
    posModifierId: text("pos_modifier_id"),
    posStockId: text("pos_stock_id"),
    position: integer("position").notNull(),
  },
  (t) => [
    index("menu_modifiers_item_idx").on(t.menuItemId, t.position),
    index("menu_modifiers_pos_stock_idx").on(t.tenantId, t.posStockId),
  ],
);

/** What a menu sync found in the POS, and what it did (a dry run changes nothing). */
export interface MenuSyncChanges {
  added: { posItemId: string; name: string; price: number }[];
  changed: {
    menuItemId: string;
    posItemId: string;
    name: string;
    fields: string[];
    price?: { from: number; to: number };
  }[];
  removed: { menuItemId: string; posItemId: string; name: string }[];
}

export const menuSyncs = sqliteTable(
  "menu_syncs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    provider: text("provider").notNull(),
    trigger: text("trigger").$type<"owner" | "schedule" | "webhook">().notNull(),
    dryRun: integer("dry_run", { mode: "boolean" }).notNull(),
    status: text("status").$type<"dry_run" | "applied" | "failed">().notNull(),
    itemsRead: integer("items_read").notNull().default(0),
    added: integer("added").notNull().default(0),
    changed: integer("changed").notNull().default(0),
    removed: integer("removed").notNull().default(0),
    changes: text("changes", { mode: "json" }).$type<MenuSyncChanges | null>(),
    error: text("error"),
    startedAt: text("started_at").notNull(),
    finishedAt: text("finished_at").notNull(),
  },
  (t) => [index("menu_syncs_tenant_idx").on(t.tenantId, t.startedAt)],
);

export const discountCodes = sqliteTable(
  "discount_codes",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** Stored upper-case; customers type codes in any case. */
    code: text("code").notNull(),
    kind: text("kind").$type<"percent" | "fixed">().notNull(),
    /** Whole percent (1–100) for `percent`, minor units for `fixed`. */
    value: integer("value").notNull(),
    minSubtotal: integer("min_subtotal").notNull().default(0),
    expiresAt: text("expires_at"),
    maxUses: integer("max_uses"),
    usedCount: integer("used_count").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("discount_codes_tenant_code_idx").on(t.tenantId, t.code),
    // The use counter is bumped in the order's batch; this check makes an
    // over-used code abort that batch instead of needing a read-then-write.
    check("discount_codes_uses_check", sql`${t.maxUses} IS NULL OR ${t.usedCount} <= ${t.maxUses}`),
  ],
);

export const orders = sqliteTable(
  "orders",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** Per-tenant human number, 1001, 1002, … */
    number: integer("number").notNull(),
    status: text("status").$type<OrderStatus>().notNull(),
    paymentStatus: text("payment_status").$type<PaymentStatus>().notNull(),
    posStatus: text("pos_status").$type<PosStatus>().notNull(),
    orderType: text("order_type").$type<OrderType>().notNull(),
    customerName: text("customer_name").notNull(),
    customerEmail: text("customer_email"),
    customerPhone: text("customer_phone"),
    currency: text("currency").notNull(),
    subtotal: integer("subtotal").notNull(),
    discount: integer("discount").notNull(),
    tax: integer("tax").notNull(),
    tip: integer("tip").notNull(),
    total: integer("total").notNull(),
    discountCode: text("discount_code"),
    specialInstructions: text("special_instructions"),
    deliveryAddress: text("delivery_address", { mode: "json" }).$type<DeliveryAddress>(),
    scheduledFor: text("scheduled_for"),
    /** When the POS expects the order ready, where its answer to the submission said. */
    estimatedReadyAt: text("estimated_ready_at"),
    /**
     * A change made here the POS still has to hear (services/pos-updates.ts): `cancel`, or the
     * fulfillment status staff or a terminal moved the order to. Set in the change's batch,
     * cleared once the POS has it; the cron pass sends it again while it stays set.
     */
    posPush: text("pos_push").$type<PosPush>(),
    /** A manual-entry order (`posStatus: manual`) typed into the POS by hand: when, and by which key. */
    posEnteredAt: text("pos_entered_at"),
    posEnteredBy: text("pos_entered_by"),
    /** When the cron pass last asked the POS for this order's status (services/pos-polling.ts). */
    posPolledAt: text("pos_polled_at"),
    /** The Stripe PaymentIntent paying for this order, when payments are on. */
    paymentIntentId: text("payment_intent_id"),
    /**
     * `manual` when the tenant captures only once the POS accepted the order
     * (`captureMode: on_pos_accept`): until `paymentCapturedAt` is set the
     * money is only authorised, and releasing it replaces a refund.
     */
    paymentCaptureMethod: text("payment_capture_method")
      .$type<"automatic" | "manual">()
      .notNull()
      .default("automatic"),
    paymentCapturedAt: text("payment_captured_at"),
    /** The POS's own id for this order, once synced. */
    externalId: text("external_id"),
    /**
     * Who is submitting the order to the POS right now, and until when: the
     * queue consumer claims the order with a conditional update on these, so
     * concurrent or repeated deliveries make one submission.
     */
    posClaim: text("pos_claim"),
    posClaimedUntil: text("pos_claimed_until"),
    /**
     * A fresh random id per change: updates are conditional on the one they
     * read (optimistic lock), and rows written in the same batch check for the
     * new one, so they exist only if that update won.
     */
    revision: text("revision").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("orders_tenant_number_idx").on(t.tenantId, t.number),
    index("orders_tenant_status_idx").on(t.tenantId, t.status, t.number),
    index("orders_tenant_pos_status_idx").on(t.tenantId, t.posStatus, t.number),
    index("orders_tenant_external_idx").on(t.tenantId, t.externalId),
    // The cron pass's polling: synced orders of the last day (db/orders.ts listOrdersToPoll).
    index("orders_pos_poll_idx").on(t.posStatus, t.createdAt),
    index("orders_payment_intent_idx").on(t.paymentIntentId),
    index("orders_refund_pending_idx")
      .on(t.updatedAt)
      .where(sql`${t.paymentStatus} = 'refund_pending'`),
    index("orders_cancelled_paid_idx")
      .on(t.updatedAt)
      .where(
        sql`${t.status} = 'cancelled' AND ${t.paymentStatus} = 'paid' AND ${t.paymentIntentId} IS NOT NULL`,
      ),
  ],
);

/** A delivery order's address, stored as JSON; the order view shows it as it is. */
export type DeliveryAddress = DeliveryAddressView;

export interface OrderItemModifier {
  id: string;
  name: string;
  /** For one. */
  price: number;
  /** How many of it are on each unit of the line; absent on lines from before quantities (1). */
  quantity?: number;
}

export const orderItems = sqliteTable(
  "order_items",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id),
    tenantId: text("tenant_id").notNull(),
    position: integer("position").notNull(),
    /** Not a foreign key: the line is a snapshot and outlives menu edits. */
    menuItemId: text("menu_item_id").notNull(),
    name: text("name").notNull(),
    quantity: integer("quantity").notNull(),
    unitPrice: integer("unit_price").notNull(),
    modifiers: text("modifiers", { mode: "json" }).$type<OrderItemModifier[]>().notNull(),
    lineTotal: integer("line_total").notNull(),
    specialInstructions: text("special_instructions"),
  },
  (t) => [index("order_items_order_idx").on(t.orderId, t.position)],
);

export const orderStatusHistory = sqliteTable(
  "order_status_history",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id),
    tenantId: text("tenant_id").notNull(),
    fromStatus: text("from_status").$type<OrderStatus>(),
    toStatus: text("to_status").$type<OrderStatus>().notNull(),
    source: text("source").$type<StatusSource>().notNull(),
    at: text("at").notNull(),
  },
  (t) => [index("order_status_history_order_idx").on(t.orderId, t.id)],
);

/** The stored first response of an idempotent request, replayed for 24 h. */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tenantId: text("tenant_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    responseStatus: integer("response_status").notNull(),
    responseBody: text("response_body", { mode: "json" }).$type<unknown>().notNull(),
    /** The order the request created, so a replay can re-derive its access token. */
    orderId: text("order_id"),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.key] }),
    index("idempotency_keys_created_idx").on(t.createdAt),
  ],
);

/**
 * Events clients must hear about, written in the same batch as the change
 * they describe and published to the tenant's terminals afterwards.
 */
export const outboxEvents = sqliteTable(
  "outbox_events",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    type: text("type").notNull(),
    payload: text("payload", { mode: "json" }).$type<unknown>().notNull(),
    createdAt: createdAt(),
    deliveredAt: text("delivered_at"),
    attempts: integer("attempts").notNull().default(0),
  },
  (t) => [
    index("outbox_events_undelivered_idx").on(t.createdAt).where(sql`${t.deliveredAt} IS NULL`),
    index("outbox_events_tenant_idx").on(t.tenantId, t.createdAt),
  ],
);

export const menuItemsRelations = relations(menuItems, ({ many }) => ({
  modifiers: many(menuModifiers),
  modifierGroups: many(menuModifierGroups),
}));

export const menuModifierGroupsRelations = relations(menuModifierGroups, ({ one }) => ({
  menuItem: one(menuItems, {
    fields: [menuModifierGroups.menuItemId],
    references: [menuItems.id],
  }),
}));

export const menuModifiersRelations = relations(menuModifiers, ({ one }) => ({
  menuItem: one(menuItems, { fields: [menuModifiers.menuItemId], references: [menuItems.id] }),
}));

export const ordersRelations = relations(orders, ({ many }) => ({
  items: many(orderItems),
  history: many(orderStatusHistory),
}));

export const orderItemsRelations = relations(orderItems, ({ one }) => ({
  order: one(orders, { fields: [orderItems.orderId], references: [orders.id] }),
}));

export const orderStatusHistoryRelations = relations(orderStatusHistory, ({ one }) => ({
  order: one(orders, { fields: [orderStatusHistory.orderId], references: [orders.id] }),
}));

/** Single-use, short-lived credentials for browser terminals (`?ticket=`); only hashes stored. */
export const terminalTickets = sqliteTable(
  "terminal_tickets",
  {
    ticketHash: text("ticket_hash").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    apiKeyId: text("api_key_id").notNull(),
    expiresAt: text("expires_at").notNull(),
    usedAt: text("used_at"),
    createdAt: createdAt(),
  },
  (t) => [index("terminal_tickets_expires_idx").on(t.expiresAt)],
);

/**
 * OAuth connects under way (POST …/pos/oauth/:provider/start): the state handed to the vendor,
 * bound to the tenant, single use, 10 minutes; only its hash is stored, and the owner's
 * webhook secret sealed.
 */
export const posOAuthStates = sqliteTable(
  "pos_oauth_states",
  {
    stateHash: text("state_hash").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    provider: text("provider").notNull(),
    /** The location to connect; null: the vendor's (Square's main location, Clover's merchant). */
    locationId: text("location_id"),
    redirectUri: text("redirect_uri").notNull(),
    settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    webhookSecretCiphertext: text("webhook_secret_ciphertext"),
    expiresAt: text("expires_at").notNull(),
    usedAt: text("used_at"),
    createdAt: createdAt(),
  },
  (t) => [index("pos_oauth_states_expires_idx").on(t.expiresAt)],
);

/** Gift cards; the code is shown once and looked up by its hash. */
export const giftCards = sqliteTable(
  "gift_cards",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    codeHash: text("code_hash").notNull().unique(),
    codeLast4: text("code_last4").notNull(),
    initialAmount: integer("initial_amount").notNull(),
    balance: integer("balance").notNull(),
    currency: text("currency").notNull(),
    purchaserName: text("purchaser_name").notNull(),
    recipientName: text("recipient_name"),
    recipientEmail: text("recipient_email"),
    expiresAt: text("expires_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("gift_cards_tenant_idx").on(t.tenantId, t.createdAt),
    check("gift_cards_balance_check", sql`${t.balance} >= 0`),
  ],
);

/** A customer's points with a tenant, keyed by normalised phone number. */
export const loyaltyAccounts = sqliteTable(
  "loyalty_accounts",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    phone: text("phone").notNull(),
    balance: integer("balance").notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.phone] }),
    // Redeeming is an unconditional decrement in a batch; this check makes an
    // overdraft fail the whole batch, so concurrent redeems never go below 0.
    check("loyalty_accounts_balance_check", sql`${t.balance} >= 0`),
  ],
);

export const loyaltyTransactions = sqliteTable(
  "loyalty_transactions",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    phone: text("phone").notNull(),
    kind: text("kind").$type<"add" | "redeem">().notNull(),
    points: integer("points").notNull(),
    reason: text("reason").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("loyalty_transactions_account_idx").on(t.tenantId, t.phone, t.createdAt)],
);

export type FailurePolicy = "hold" | "auto_refund";
export type CaptureMode = "immediate" | "on_pos_accept";

/**
 * A tenant's POS connection. Credentials, the webhook secret and the cached
 * session are AES-GCM ciphertexts (key from `CREDENTIALS_KEY`); nothing here
 * is ever returned by the API.
 */
export const posIntegrations = sqliteTable("pos_integrations", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  provider: text("provider").notNull(),
  locationId: text("location_id").notNull(),
  credentialsCiphertext: text("credentials_ciphertext").notNull(),
  webhookSecretCiphertext: text("webhook_secret_ciphertext"),
  sessionCiphertext: text("session_ciphertext"),
  /** When the cron pass renews the sealed session (null: never); its expiry is sealed with it. */
  sessionRefreshAt: text("session_refresh_at"),
  status: text("status").$type<"connected" | "disconnected">().notNull(),
  autoSync: integer("auto_sync", { mode: "boolean" }).notNull(),
  syncCustomerInfo: integer("sync_customer_info", { mode: "boolean" }).notNull(),
  failurePolicy: text("failure_policy").$type<FailurePolicy>().notNull(),
  captureMode: text("capture_mode").$type<CaptureMode>().notNull(),
  maxAttempts: integer("max_attempts").notNull(),
  /** What the vendor said of the location when it was connected (checkConnection). */
  locationName: text("location_name"),
  locationCurrency: text("location_currency"),
  locationTimezone: text("location_timezone"),
  /** Ids the adapter found or created at connect (Clover order types); not secret. */
  vendorSettings: text("vendor_settings", { mode: "json" })
    .$type<Record<string, string>>()
    .notNull()
    .default({}),
  /** Orders in a row that ended `failed`; reset by a success. */
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  /** Submission attempts in a row, across orders, the POS did not answer (retryable); reset by a success. */
  unansweredStreak: integer("unanswered_streak").notNull().default(0),
  /** When the current streak of unanswered attempts began; null while the POS answers. */
  unansweredSince: text("unanswered_since"),
  /**
   * Since when the POS is taken to be down (services/pos-outage.ts): new paid orders go to the
   * terminals for entry by hand (`posStatus: manual`) until a probe or a submission succeeds.
   */
  downSince: text("down_since"),
  /** When the cron pass next asks the down POS whether it answers, and how often it did not. */
  probeAt: text("probe_at"),
  probeFailures: integer("probe_failures").notNull().default(0),
  degradedAt: text("degraded_at"),
  /** When the menu was last read from the POS (null: never imported, so no automatic re-sync). */
  menuSyncedAt: text("menu_synced_at"),
  /** Set by a catalog webhook: the next pass (or the queued sync) reads the menu again. */
  menuSyncRequestedAt: text("menu_sync_requested_at"),
  connectedAt: text("connected_at").notNull(),
  disconnectedAt: text("disconnected_at"),
  updatedAt: updatedAt(),
});

/** What services/pos-updates.ts still has to tell the POS about an order. */
export type PosPush = "cancel" | "preparing" | "ready" | "completed";

export type SyncAttemptStatus = "success" | "retryable_error" | "permanent_error";

/** One try at handing an order to the POS, for the sync history and stats. */
export const posSyncAttempts = sqliteTable(
  "pos_sync_attempts",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    orderId: text("order_id").notNull(),
    provider: text("provider").notNull(),
    attempt: integer("attempt").notNull(),
    status: text("status").$type<SyncAttemptStatus>().notNull(),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    durationMs: integer("duration_ms").notNull(),
    posOrderId: text("pos_order_id"),
    startedAt: text("started_at").notNull(),
  },
  (t) => [
    index("pos_sync_attempts_tenant_idx").on(t.tenantId, t.startedAt),
    index("pos_sync_attempts_tenant_status_idx").on(t.tenantId, t.status, t.startedAt),
    index("pos_sync_attempts_order_idx").on(t.orderId, t.startedAt),
  ],
);

export type AlertLevel = "info" | "warning" | "critical";

/** Staff alerts; open until acknowledged, raised again while open. */
export const alerts = sqliteTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    kind: text("kind").notNull(),
    level: text("level").$type<AlertLevel>().notNull(),
    orderId: text("order_id"),
    message: text("message").notNull(),
    createdAt: createdAt(),
    lastRaisedAt: text("last_raised_at").notNull(),
    raiseCount: integer("raise_count").notNull().default(1),
    acknowledgedAt: text("acknowledged_at"),
    acknowledgedBy: text("acknowledged_by"),
  },
  (t) => [
    index("alerts_tenant_open_idx").on(t.tenantId, t.acknowledgedAt, t.createdAt),
    index("alerts_open_raised_idx").on(t.lastRaisedAt).where(sql`${t.acknowledgedAt} IS NULL`),
  ],
);

/** Refunds the payment processor made for orders, as it last reported them. */
export const refunds = sqliteTable(
  "refunds",
  {
    /** The processor's refund id (`re_…`). */
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    orderId: text("order_id").notNull(),
    paymentIntentId: text("payment_intent_id").notNull(),
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    status: text("status")
      .$type<"pending" | "requires_action" | "succeeded" | "failed" | "canceled">()
      .notNull(),
    /** For a refund made outside the platform (`refund-settled`): what staff wrote… */
    note: text("note"),
    /** …and which key recorded it. */
    recordedBy: text("recorded_by", { mode: "json" }).$type<{ keyId: string; label: string }>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("refunds_order_idx").on(t.tenantId, t.orderId)],
);

/** Messages for staff and customers, handed to the notifier. */
export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    audience: text("audience").$type<"staff" | "customer">().notNull(),
    kind: text("kind").notNull(),
    orderId: text("order_id"),
    message: text("message").notNull(),
    createdAt: createdAt(),
    sentAt: text("sent_at"),
  },
  (t) => [
    index("notifications_tenant_idx").on(t.tenantId, t.createdAt),
    index("notifications_unsent_idx").on(t.createdAt).where(sql`${t.sentAt} IS NULL`),
  ],
);

/** Vendor webhook events already processed, so a replay changes nothing. */
/**
 * The newest URL-verification code a vendor sent (Clover's `{"verificationCode": …}`), for the
 * person who must paste it into the vendor's dashboard: the tenant's owner for its own URL,
 * the platform's operator (tenant id "") for the app-wide one.
 */
export const webhookVerifications = sqliteTable(
  "webhook_verifications",
  {
    provider: text("provider").notNull(),
    tenantId: text("tenant_id").notNull(),
    code: text("code").notNull(),
    receivedAt: text("received_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.tenantId] })],
);

export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    provider: text("provider").notNull(),
    eventId: text("event_id").notNull(),
    tenantId: text("tenant_id"),
    receivedAt: text("received_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.eventId] })],
);
