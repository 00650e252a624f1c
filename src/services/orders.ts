import { type CreatedPaymentIntent, PaymentError } from "../adapters/payments/types";
import { getPosAdapter } from "../adapters/pos";
import { POS_PROVIDERS } from "../adapters/pos/types";
import { readConfig } from "../config";
import { canonicalJson, hmacSha256, sha256Hex, timingSafeEqual, toBase64Url } from "../crypto";
import { type Db, isConstraintError } from "../db/client";
import {
  type DiscountRow,
  discountForPricing,
  discountUseIncrement,
  findDiscount,
} from "../db/discounts";
import { findIdempotencyRecord, type IdempotencyRecord } from "../db/idempotency";
import { loadMenuForPricing, toPricingMenu } from "../db/menu";
import { findPlacementContext } from "../db/order-context";
import {
  insertOrder,
  newOrderId,
  newOrderItemId,
  newRevision,
  type OrderChange,
  type OrderWithItems,
} from "../db/orders";
import { newOutboxRecord } from "../db/outbox";
import type { DeliveryAddress, PosPush } from "../db/schema";
import type { Tenant } from "../db/tenants";
import {
  decideTransition,
  type OrderStatus,
  type OrderType,
  type StatusSource,
} from "../domain/order-status";
import { orderView } from "../domain/order-view";
import {
  type MenuItemForPricing,
  type PricedOrder,
  type PricingError,
  priceOrder,
} from "../domain/pricing";
import { ApiError } from "../http/errors";
import { requireWithinLimit } from "../http/router";
import { logLine } from "../log";
import { releaseUnpaidIntent } from "./capture";
import { type Effects, effectsOf, NO_EFFECTS } from "./effects";
import { orderUpdatedEvent, withFreshOrder } from "./order-change";
import { paymentGateway } from "./payment-gateway";
import { fulfillmentPushFor, posUpdateMessage } from "./pos-updates";

/** An order draft after zod validation, amounts in minor units. */
export interface OrderDraft {
  orderType: OrderType;
  items: {
    menuItemId: string;
    quantity: number;
    modifierIds?: string[] | undefined;
    specialInstructions?: string | undefined;
  }[];
  customer: { name: string; email?: string | undefined; phone?: string | undefined };
  scheduledFor?: string | undefined;
  tip?: { amount: number; currency: string } | undefined;
  discountCode?: string | undefined;
  specialInstructions?: string | undefined;
  deliveryAddress?: DeliveryAddress | undefined;
}

export interface PlacedOrder {
  status: 201;
  body: {
    order: ReturnType<typeof orderView>;
    accessToken: string;
    payment:
      | { provider: "stripe"; clientSecret: string }
      | { provider: "none"; clientSecret: null };
  };
  /** Whether this is a replay of an earlier request with the same key. */
  replayed: boolean;
  /** The tenant as read with the order's context. */
  tenant: Tenant;
  /** The committed `order_updated`, to deliver after the response (none for a replay). */
  effects: Effects;
}

/**
 * Prices a draft against the menu as stored. Errors in the draft (unknown
 * items, unusable discount, wrong currency) are `validation_failed`.
 */
export async function priceDraft(
  db: Db,
  tenant: Tenant,
  draft: Pick<OrderDraft, "items" | "tip" | "discountCode">,
  now: Date,
): Promise<{ priced: PricedOrder; discountId: string | null }> {
  checkTipCurrency(tenant, draft);
  const [menu, discount] = await Promise.all([
    loadMenuForPricing(
      db,
      tenant.id,
      draft.items.map((i) => i.menuItemId),
      now,
    ),
    draft.discountCode ? findDiscount(db, tenant.id, draft.discountCode) : undefined,
  ]);
  return priceWith(tenant, draft, menu, discount, now);
}

function checkTipCurrency(tenant: Tenant, draft: Pick<OrderDraft, "tip">): void {
  if (draft.tip && draft.tip.currency !== tenant.currency) {
    throw new ApiError("validation_failed", `tip.currency: must be ${tenant.currency}`, {
      issues: [{ path: "tip.currency", message: `must be ${tenant.currency}` }],
    });
  }
}

/** Prices a draft against menu entries and a discount already read. */
function priceWith(
  tenant: Tenant,
  draft: Pick<OrderDraft, "items" | "tip" | "discountCode">,
  menu: ReadonlyMap<string, MenuItemForPricing>,
  discount: DiscountRow | undefined,
  now: Date,
): { priced: PricedOrder; discountId: string | null } {
  checkTipCurrency(tenant, draft);
  if (draft.discountCode && !discount) {
    throw pricingError({
      code: "unknown_discount",
      message: "unknown discount code",
      path: "discountCode",
    });
  }
  const result = priceOrder({
    lines: draft.items,
    menu,
    taxRateBps: tenant.taxRateBps,
    discount: discount ? discountForPricing(discount) : null,
    tip: requireWithinLimit(tenant, draft.tip?.amount ?? 0, "tip.amount"),
    now,
    maxAmount: tenant.maxAmount,
  });
  if (!result.ok) throw pricingError(result.error);
  return { priced: result.value, discountId: discount?.id ?? null };
}

/**
 * A draft naming something 86'd is a conflict with the menu as it is now (409 `item_unavailable`,
 * CONTRACT.md); every other pricing problem is the draft's own (400), naming a broken group.
 */
function pricingError(
  error: PricingError | { code: string; message: string; path: string },
): ApiError {
  if (
    "menuItemId" in error &&
    (error.code === "item_unavailable" || error.code === "modifier_unavailable")
  ) {
    return new ApiError("conflict", `${error.path}: ${error.message}`, {
      reason: "item_unavailable",
      menuItemId: error.menuItemId,
      ...(error.modifierId ? { modifierId: error.modifierId } : {}),
      issues: [{ path: error.path, message: error.message }],
    });
  }
  return new ApiError("validation_failed", `${error.path}: ${error.message}`, {
    reason: error.code,
    ...("group" in error && error.group ? { group: error.group } : {}),
    issues: [{ path: error.path, message: error.message }],
  });
}

/** 422 naming each field of the draft the tenant's POS cannot accept (Toast's customer rules). */
function refuseWhatThePosCannotTake(
  integration: {
    provider: string;
    syncCustomerInfo: boolean;
    vendorSettings: Record<string, string>;
  },
  draft: OrderDraft,
  discounted: boolean,
): void {
  const provider = POS_PROVIDERS.find((p) => p === integration.provider);
  if (!provider) return;
  const problems = getPosAdapter(provider).draftProblems(
    {
      orderType: draft.orderType,
      discounted,
      customer: {
        name: draft.customer.name,
        email: draft.customer.email ?? null,
        phone: draft.customer.phone ?? null,
      },
      deliveryAddress: draft.deliveryAddress ?? null,
    },
    { syncCustomerInfo: integration.syncCustomerInfo, settings: integration.vendorSettings },
  );
  const [first] = problems;
  if (!first) return;
  throw ApiError.unprocessable(`${first.field}: ${first.message}`, {
    reason: "pos_requirements",
    provider,
    issues: problems.map((p) => ({ path: p.field, message: p.message })),
  });
}

/**
 * Places an order idempotently: the same key and body answer the first
 * response again, the same key with another body is `idempotency_mismatch`.
 * The order, its lines, history, outbox event, idempotency record and the
 * discount's use count are written in one batch.
 */
export async function placeOrder(
  env: Env,
  db: Db,
  tenantId: string,
  draft: OrderDraft,
  idempotencyKey: string,
  now: Date,
): Promise<PlacedOrder> {
  const requestHash = await sha256Hex(canonicalJson(draft));
  // Everything the decision needs in one round trip; the writes in one more (insertOrder).
  const context = await findPlacementContext(db, tenantId, {
    idempotencyKey,
    menuItemIds: draft.items.map((i) => i.menuItemId),
    discountCode: draft.discountCode,
  });
  const tenant = context.tenant;
  if (!tenant) throw new ApiError("not_found", "unknown tenant");
  if (context.earlier) return replay(env, tenant, context.earlier, requestHash);

  const { priced, discountId } = priceWith(
    tenant,
    draft,
    toPricingMenu(context.menu, now),
    context.discount,
    now,
  );
  // Checked before payment: a draft the POS cannot take never becomes a paid order it refuses.
  const integration = context.integration;
  if (integration?.status === "connected" && integration.autoSync) {
    refuseWhatThePosCannotTake(integration, draft, priced.discount > 0);
  }
  const at = now.toISOString();
  const id = newOrderId(now);
  // Capture on POS acceptance only makes sense when a POS will be asked.
  const captureMethod =
    integration?.status === "connected" &&
    integration.autoSync &&
    integration.captureMode === "on_pos_accept"
      ? ("manual" as const)
      : ("automatic" as const);
  const payment = await createPayment(env, tenant, { id, total: priced.total, captureMethod });
  const order: OrderWithItems = {
    id,
    tenantId: tenant.id,
    // Taken inside the order's batch (insertOrder), so a rejected order takes no number.
    number: 0,
    status: "pending_payment",
    paymentStatus: "unpaid",
    posStatus: "not_required",
    orderType: draft.orderType,
    customerName: draft.customer.name,
    customerEmail: draft.customer.email ?? null,
    customerPhone: draft.customer.phone ?? null,
    currency: tenant.currency,
    subtotal: priced.subtotal,
    discount: priced.discount,
    tax: priced.tax,
    tip: priced.tip,
    total: priced.total,
    discountCode: discountId && draft.discountCode ? draft.discountCode.trim().toUpperCase() : null,
    specialInstructions: draft.specialInstructions ?? null,
    deliveryAddress: draft.deliveryAddress ?? null,
    // Stored and answered in UTC, whatever offset the client wrote it with.
    scheduledFor: draft.scheduledFor ? new Date(draft.scheduledFor).toISOString() : null,
    estimatedReadyAt: null,
    posPush: null,
    posPolledAt: null,
    posEnteredAt: null,
    posEnteredBy: null,
    paymentIntentId: payment?.id ?? null,
    paymentCaptureMethod: captureMethod,
    paymentCapturedAt: null,
    externalId: null,
    posClaim: null,
    posClaimedUntil: null,
    revision: newRevision(),
    createdAt: at,
    updatedAt: at,
    items: priced.lines.map((line, position) => ({
      id: newOrderItemId(),
      orderId: id,
      tenantId: tenant.id,
      position,
      menuItemId: line.menuItemId,
      name: line.name,
      quantity: line.quantity,
      unitPrice: line.unitPrice,
      modifiers: line.modifiers,
      lineTotal: line.lineTotal,
      specialInstructions: line.specialInstructions,
    })),
  };
  const dto = orderView(order, tenant.slug);
  // The client secret is kept with the stored response so a replay answers it again.
  const storedBody = {
    order: dto,
    payment: payment
      ? { provider: "stripe" as const, clientSecret: payment.clientSecret }
      : { provider: "none" as const, clientSecret: null },
  };
  const event = newOutboxRecord(
    tenant.id,
    { type: "order_updated", payload: { order: dto, previousStatus: null, change: "status" } },
    now,
  );
  let number: number;
  try {
    number = await insertOrder(
      db,
      {
        order,
        extra: discountId ? [discountUseIncrement(db, tenant.id, discountId)] : [],
        idempotency: {
          tenantId: tenant.id,
          key: idempotencyKey,
          requestHash,
          responseStatus: 201,
          responseBody: storedBody,
          orderId: id,
          createdAt: at,
        },
        event,
      },
      now,
    );
  } catch (err) {
    // The order was not stored: its PaymentIntent must never be paid.
    if (payment) await releaseUnpaidIntent(env, { id, paymentIntentId: payment.id });
    if (isConstraintError(err, "idempotency_keys")) {
      // A concurrent request with the same key won the race: answer as it did.
      const winner = await replayIfKnown(env, db, tenant, idempotencyKey, requestHash);
      if (winner) return winner;
    }
    if (isConstraintError(err, "discount_codes_uses_check")) {
      throw pricingError({
        code: "discount_exhausted",
        message: "discount code has been used up",
        path: "discountCode",
      });
    }
    throw err;
  }
  const numbered = { ...dto, number };
  return {
    status: 201,
    body: { ...storedBody, order: numbered, accessToken: await orderAccessToken(env, id) },
    replayed: false,
    tenant,
    effects: effectsOf(tenant, {
      events: [{ ...event, payload: { order: numbered, previousStatus: null, change: "status" } }],
    }),
  };
}

/**
 * The PaymentIntent for a new order, when payments are on. Its idempotency
 * key is the order id, which is new for every attempt: an intent always
 * names the order it pays for (a retried storefront request that lost its
 * first answer is replayed from the idempotency record instead).
 */
async function createPayment(
  env: Env,
  tenant: Tenant,
  order: { id: string; total: number; captureMethod: "automatic" | "manual" },
): Promise<CreatedPaymentIntent | null> {
  const gateway = paymentGateway(env);
  if (!gateway) return null;
  try {
    return await gateway.createPaymentIntent({
      orderId: order.id,
      tenantId: tenant.id,
      amount: order.total,
      currency: tenant.currency,
      captureMethod: order.captureMethod,
      idempotencyKey: `pi:${order.id}`,
      description: `${tenant.name} order`,
    });
  } catch (err) {
    if (
      err instanceof PaymentError &&
      (err.code === "invalid_request" || err.code === "card_error")
    ) {
      // Stripe refused the amount itself (below its minimum, for example).
      throw new ApiError("validation_failed", `payment could not be set up: ${err.message}`, {
        reason: err.code,
      });
    }
    if (err instanceof PaymentError && err.kind === "retryable") {
      // Down, slow or rate limited: nothing was stored, so the same request can simply be sent again.
      console.error(
        logLine({
          level: "error",
          msg: "payment processor unavailable while placing an order",
          tenantId: tenant.id,
          code: err.code,
          status: err.details.status,
        }),
      );
      throw new ApiError(
        "internal",
        "the payment processor could not be reached; nothing was stored, retry the same request",
        { reason: "payment_unavailable", retryable: true },
      );
    }
    throw err;
  }
}

async function replayIfKnown(
  env: Env,
  db: Db,
  tenant: Tenant,
  key: string,
  requestHash: string,
): Promise<PlacedOrder | null> {
  const record = await findIdempotencyRecord(db, tenant.id, key);
  return record ? replay(env, tenant, record, requestHash) : null;
}

/** The first response again, for the same key and body; another body is a mismatch. */
async function replay(
  env: Env,
  tenant: Tenant,
  record: IdempotencyRecord,
  requestHash: string,
): Promise<PlacedOrder> {
  if (record.requestHash !== requestHash) {
    throw new ApiError(
      "idempotency_mismatch",
      "this Idempotency-Key was used with a different request body",
    );
  }
  const stored = record.responseBody as Omit<PlacedOrder["body"], "accessToken">;
  return {
    status: 201,
    body: {
      ...stored,
      accessToken: record.orderId ? await orderAccessToken(env, record.orderId) : "",
    },
    replayed: true,
    tenant,
    effects: NO_EFFECTS,
  };
}

/**
 * The order's access token is derived, not stored: an HMAC of the order id
 * under a key derived from `CREDENTIALS_KEY`, so replays can give it again
 * and nothing at rest reveals it.
 */
export async function orderAccessToken(env: Env, orderId: string): Promise<string> {
  const mac = await hmacSha256(readConfig(env).credentialsKey, `order-access:v1:${orderId}`);
  return toBase64Url(mac);
}

export async function verifyOrderAccessToken(
  env: Env,
  orderId: string,
  token: string,
): Promise<boolean> {
  return timingSafeEqual(await orderAccessToken(env, orderId), token);
}

/**
 * Moves an order's status through the state machine. A rejected move is 409;
 * an ignored one (a late or repeated report) changes nothing and returns the
 * order as it is; an applied one writes history and `order_updated`.
 */
export async function changeOrderStatus(
  db: Db,
  tenant: Tenant,
  orderId: string,
  to: OrderStatus,
  source: StatusSource,
  now: Date,
  extra?: OrderChange["extra"],
  known?: OrderWithItems,
): Promise<{ order: OrderWithItems; changed: boolean; effects: Effects }> {
  let push: PosPush | null = null;
  const result = await withFreshOrder(
    db,
    tenant,
    orderId,
    async (order) => {
      const decision = decideTransition({
        from: order.status,
        to,
        source,
        orderType: order.orderType,
      });
      if (decision.outcome === "reject") {
        throw new ApiError("conflict", decision.reason, { from: order.status, to });
      }
      if (decision.outcome === "ignore") return "unchanged";
      // Moved here by people: the POS's fulfillment follows (a POS webhook's move it made itself).
      push = source === "staff" || source === "terminal" ? fulfillmentPushFor(order, to) : null;
      return {
        patch: push ? { status: to, posPush: push } : { status: to },
        source,
        ...(extra ? { extra } : {}),
        event: orderUpdatedEvent(tenant, order, "status"),
      };
    },
    now,
    known,
  );
  const messages = result.changed && push ? [posUpdateMessage(tenant.id, orderId)] : [];
  return { ...result, effects: effectsOf(tenant, { events: result.events, messages }) };
}
