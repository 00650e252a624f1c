import { and, asc, desc, eq, inArray, isNotNull, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { newId, randomToken } from "../crypto";
import type { OrderStatus, PaymentStatus, PosStatus, StatusSource } from "../domain/order-status";
import { type Db, insertIf } from "./client";
import type { IdempotencyRecord } from "./idempotency";
import {
  guardedOutboxInsert,
  newOutboxRecord,
  type OutboxEventType,
  type OutboxRecord,
} from "./outbox";
import {
  idempotencyKeys,
  orderItems,
  orderStatusHistory,
  orders,
  outboxEvents,
  type PosPush,
  posIntegrations,
} from "./schema";
import { orderNumberIncrement, takenOrderNumber } from "./tenants";

export type OrderRow = typeof orders.$inferSelect;
export type OrderItemRow = typeof orderItems.$inferSelect;
export type OrderWithItems = OrderRow & { items: OrderItemRow[] };
export type HistoryRow = typeof orderStatusHistory.$inferSelect;

export interface OrderCreation {
  order: OrderWithItems;
  /** Extra statements that belong to the same batch (discount use, …). */
  extra: BatchItem<"sqlite">[];
  idempotency: IdempotencyRecord;
  /** The client event announcing the order. */
  event: OutboxRecord;
}

/**
 * Stores a new order with its lines, first history row, outbox event and
 * idempotency record in one D1 batch: all of it or none of it. The order's
 * number is taken inside that batch too, so a rejected order takes none:
 * `order.number` is ignored, and the number given is written into the row,
 * the stored response and the event (each at `$.order.number`) and returned.
 */
export async function insertOrder(db: Db, creation: OrderCreation, now: Date): Promise<number> {
  const { order, extra, idempotency, event } = creation;
  const { items, ...row } = order;
  const number = takenOrderNumber(order.tenantId);
  const withNumber = (json: unknown) =>
    sql`json_set(${JSON.stringify(json)}, '$.order.number', ${number})`;
  const [, inserted] = await db.batch([
    orderNumberIncrement(db, order.tenantId),
    db
      .insert(orders)
      .values({ ...row, number })
      .returning({ number: orders.number }),
    // One statement per line: a multi-row insert would pass D1's 100-parameter limit.
    ...items.map((item) => db.insert(orderItems).values(item)),
    db.insert(orderStatusHistory).values({
      orderId: order.id,
      tenantId: order.tenantId,
      fromStatus: null,
      toStatus: order.status,
      source: "storefront",
      at: now.toISOString(),
    }),
    db.insert(outboxEvents).values({ ...event, payload: withNumber(event.payload), attempts: 0 }),
    db
      .insert(idempotencyKeys)
      .values({ ...idempotency, responseBody: withNumber(idempotency.responseBody) }),
    ...extra,
  ]);
  const taken = inserted[0]?.number;
  if (taken === undefined) throw new Error("order insert returned no number");
  return taken;
}

export function newOrderItemId(): string {
  return newId("oli");
}

export function newRevision(): string {
  return randomToken(16);
}

export function newOrderId(now: Date): string {
  return newId("ord", now.getTime());
}

export async function findOrder(
  db: Db,
  tenantId: string,
  id: string,
): Promise<OrderWithItems | undefined> {
  return db.query.orders.findFirst({
    where: and(eq(orders.tenantId, tenantId), eq(orders.id, id)),
    with: { items: { orderBy: [asc(orderItems.position)] } },
  });
}

export interface OrderListFilter {
  status?: OrderStatus | undefined;
  posStatus?: PosStatus | undefined;
  /** `refund_failed` lists the orders waiting for manual review. */
  paymentStatus?: PaymentStatus | undefined;
  /** Orders with a number below this one (the previous page's last). */
  beforeNumber?: number | undefined;
  limit: number;
}

/** Newest first, keyset-paginated by order number. */
export async function listOrders(
  db: Db,
  tenantId: string,
  filter: OrderListFilter,
): Promise<OrderWithItems[]> {
  const conditions: SQL[] = [eq(orders.tenantId, tenantId)];
  if (filter.status) conditions.push(eq(orders.status, filter.status));
  if (filter.posStatus) conditions.push(eq(orders.posStatus, filter.posStatus));
  if (filter.paymentStatus) conditions.push(eq(orders.paymentStatus, filter.paymentStatus));
  if (filter.beforeNumber !== undefined) conditions.push(lt(orders.number, filter.beforeNumber));
  return db.query.orders.findMany({
    where: and(...conditions),
    with: { items: { orderBy: [asc(orderItems.position)] } },
    orderBy: [desc(orders.number)],
    limit: filter.limit,
  });
}

export async function listOrderHistory(db: Db, orderId: string): Promise<HistoryRow[]> {
  return db.query.orderStatusHistory.findMany({
    where: eq(orderStatusHistory.orderId, orderId),
    orderBy: [asc(orderStatusHistory.id)],
  });
}

/** The columns a change may set; everything else about an order is fixed at creation. */
export type OrderPatch = Partial<
  Pick<
    OrderRow,
    | "status"
    | "paymentStatus"
    | "posStatus"
    | "externalId"
    | "estimatedReadyAt"
    | "posPush"
    | "posClaim"
    | "posClaimedUntil"
    | "paymentCapturedAt"
    | "paymentIntentId"
    | "posEnteredAt"
    | "posEnteredBy"
  >
>;

export interface OrderChange {
  patch: OrderPatch;
  /** The history row's source, when the change moves `status`. */
  source: StatusSource;
  /** The client event describing the change, built from the order as changed; null for none. */
  event: ((updated: OrderWithItems) => { type: OutboxEventType; payload: unknown }) | null;
  /** More rows for the same batch, each written only if the change wins (use `insertIf` with `won`). */
  extra?: (won: SQL) => BatchItem<"sqlite">[];
  /** More events (alerts) for the same batch, written only if the change wins. */
  extraEvents?: OutboxRecord[];
}

/**
 * Applies `change` if nobody changed the order since it was read (its
 * `revision`), with the status-history row, the outbox events and any extra
 * rows guarded by the new revision, all in one batch. Returns the updated
 * order and the events written, or `null` when a concurrent change won
 * (nothing is written then).
 */
export async function applyOrderChange(
  db: Db,
  order: OrderWithItems,
  change: OrderChange,
  now: Date,
): Promise<{ order: OrderWithItems; events: OutboxRecord[] } | null> {
  const at = now.toISOString();
  const updated: OrderWithItems = {
    ...order,
    ...change.patch,
    revision: newRevision(),
    updatedAt: at,
  };
  const won = sql`EXISTS (SELECT 1 FROM ${orders} WHERE ${orders.id} = ${order.id} AND ${orders.revision} = ${updated.revision})`;
  const events = [
    ...(change.event ? [newOutboxRecord(order.tenantId, change.event(updated), now)] : []),
    ...(change.extraEvents ?? []),
  ];
  const statusMoved = updated.status !== order.status;
  const [rows] = await db.batch([
    db
      .update(orders)
      .set({ ...change.patch, revision: updated.revision, updatedAt: at })
      .where(
        and(
          eq(orders.tenantId, order.tenantId),
          eq(orders.id, order.id),
          eq(orders.revision, order.revision),
        ),
      )
      .returning({ id: orders.id }),
    // Guarded by the new revision: these rows exist only if the update above won.
    ...events.map((event) => guardedOutboxInsert(db, event, won)),
    ...(statusMoved
      ? [
          insertIf(
            db,
            orderStatusHistory,
            {
              orderId: order.id,
              tenantId: order.tenantId,
              fromStatus: order.status,
              toStatus: updated.status,
              source: change.source,
              at,
            },
            won,
          ),
        ]
      : []),
    ...(change.extra?.(won) ?? []),
  ]);
  return rows.length === 1 ? { order: updated, events } : null;
}

/** The order a POS knows by its own id. */
export async function findOrderByExternalId(
  db: Db,
  tenantId: string,
  externalId: string,
): Promise<OrderWithItems | undefined> {
  return db.query.orders.findFirst({
    where: and(eq(orders.tenantId, tenantId), eq(orders.externalId, externalId)),
    with: { items: { orderBy: [asc(orderItems.position)] } },
  });
}

/** The order a Stripe PaymentIntent pays for. */
export async function findOrderByPaymentIntent(
  db: Db,
  paymentIntentId: string,
): Promise<OrderWithItems | undefined> {
  return db.query.orders.findFirst({
    where: eq(orders.paymentIntentId, paymentIntentId),
    with: { items: { orderBy: [asc(orderItems.position)] } },
  });
}

/**
 * Paid orders whose payment is only authorised (manual capture) since before
 * `createdBefore` and that the POS has not taken (not answered, or refused
 * and the release lost). One the POS took (its capture failed and staff were
 * alerted) is not released: the kitchen has it.
 */
export async function listExpiringAuthorisations(db: Db, createdBefore: string) {
  return db
    .select({ id: orders.id, tenantId: orders.tenantId, number: orders.number })
    .from(orders)
    .where(
      and(
        eq(orders.paymentCaptureMethod, "manual"),
        eq(orders.paymentStatus, "paid"),
        isNull(orders.paymentCapturedAt),
        isNotNull(orders.paymentIntentId),
        // Not synced (the kitchen has it) nor not_required (captured when confirmed).
        inArray(orders.posStatus, ["queued", "retrying", "failed"]),
        lt(orders.createdAt, createdBefore),
      ),
    )
    .limit(100);
}

/**
 * Card-paid orders cancelled before `updatedBefore` whose refund never
 * started (the process stopped between the cancel and the refund's batch).
 */
export async function listCancelledUnrefunded(db: Db, updatedBefore: string) {
  return db
    .select({ id: orders.id, tenantId: orders.tenantId })
    .from(orders)
    .where(
      and(
        eq(orders.status, "cancelled"),
        eq(orders.paymentStatus, "paid"),
        isNotNull(orders.paymentIntentId),
        lt(orders.updatedAt, updatedBefore),
      ),
    )
    .limit(100);
}

/** Orders with a change for the POS still unsent since before `updatedBefore` (at most 100). */
export async function listPendingPosPushes(db: Db, updatedBefore: string) {
  return db
    .select({ id: orders.id, tenantId: orders.tenantId })
    .from(orders)
    .where(and(isNotNull(orders.posPush), lt(orders.updatedAt, updatedBefore)))
    .limit(100);
}

/**
 * Marks `push` as what the POS still has to hear about the order; one statement, which the
 * caller runs alone (a cancel) or in a batch. Leaves the revision: nothing a client sees moved.
 */
export function setPosPush(db: Db, tenantId: string, orderId: string, push: PosPush) {
  return db
    .update(orders)
    .set({ posPush: push })
    .where(and(eq(orders.tenantId, tenantId), eq(orders.id, orderId)));
}

/**
 * Orders the POS has and the kitchen is still working on, with no news from the POS (a webhook
 * or a poll) for `quietMs`, from POS connections that can be asked; created within `maxAgeMs`.
 * Those asked longest ago first.
 */
export async function listOrdersToPoll(
  db: Db,
  now: Date,
  window: { quietMs: number; maxAgeMs: number; perTenant: number; limit: number },
): Promise<{ id: string; tenantId: string; externalId: string }[]> {
  const quietSince = new Date(now.getTime() - window.quietMs).toISOString();
  const createdAfter = new Date(now.getTime() - window.maxAgeMs).toISOString();
  // The newest news: a poll, or any change since (a webhook's, staff's).
  const lastNews = sql`MAX(COALESCE(${orders.posPolledAt}, ''), ${orders.updatedAt})`;
  // Ranked within each tenant first, so one tenant's many open orders never crowd out the rest;
  // POS connections taken to be down are probed instead (services/pos-polling.ts).
  const ranked = db.$with("ranked").as(
    db
      .select({
        id: orders.id,
        tenantId: orders.tenantId,
        externalId: sql<string>`${orders.externalId}`.as("external_id"),
        lastNews: sql<string>`${lastNews}`.as("last_news"),
        rank: sql<number>`ROW_NUMBER() OVER (PARTITION BY ${orders.tenantId} ORDER BY ${lastNews})`.as(
          "rank",
        ),
      })
      .from(orders)
      .innerJoin(posIntegrations, eq(posIntegrations.tenantId, orders.tenantId))
      .where(
        and(
          eq(orders.posStatus, "synced"),
          sql`${orders.createdAt} > ${createdAfter}`,
          isNotNull(orders.externalId),
          inArray(orders.status, ["confirmed", "preparing", "ready", "out_for_delivery"]),
          sql`${lastNews} < ${quietSince}`,
          eq(posIntegrations.status, "connected"),
          isNull(posIntegrations.downSince),
          inArray(posIntegrations.provider, ["toast", "clover", "square"]),
        ),
      ),
  );
  return db
    .with(ranked)
    .select({ id: ranked.id, tenantId: ranked.tenantId, externalId: ranked.externalId })
    .from(ranked)
    .where(sql`${ranked.rank} <= ${window.perTenant}`)
    .orderBy(asc(ranked.lastNews))
    .limit(window.limit);
}

/** This tenant's orders waiting to be sent again (`retrying`), at most `limit`, oldest first. */
export function listRetryingOrders(db: Db, tenantId: string, limit: number) {
  return db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), eq(orders.posStatus, "retrying")))
    .orderBy(asc(orders.number))
    .limit(limit);
}

/** Records that the POS was asked for these orders' status now (whatever it answered). */
export function markPolled(db: Db, tenantId: string, orderIds: string[], now: Date) {
  return db
    .update(orders)
    .set({ posPolledAt: now.toISOString() })
    .where(and(eq(orders.tenantId, tenantId), inArray(orders.id, orderIds)));
}

/** Clears the push once the POS has it, unless a newer one replaced it meanwhile. */
export function clearPosPush(db: Db, tenantId: string, orderId: string, push: PosPush) {
  return db
    .update(orders)
    .set({ posPush: null })
    .where(and(eq(orders.tenantId, tenantId), eq(orders.id, orderId), eq(orders.posPush, push)));
}

/** Orders whose refund was started before `updatedBefore` and has not settled. */
export async function listStaleRefunds(db: Db, updatedBefore: string) {
  return db
    .select({ id: orders.id, tenantId: orders.tenantId })
    .from(orders)
    .where(and(eq(orders.paymentStatus, "refund_pending"), lt(orders.updatedAt, updatedBefore)))
    .limit(100);
}

/**
 * Claims a queued or retrying order for one POS submission until `until`:
 * one conditional update, so of concurrent or repeated deliveries exactly one
 * submits. The claim does not change the revision. Null when another holds it.
 */
export async function claimOrderForSubmission(
  db: Db,
  order: Pick<OrderRow, "id" | "tenantId">,
  claim: string,
  now: Date,
  until: Date,
): Promise<{ revision: string } | null> {
  const [row] = await db
    .update(orders)
    .set({ posClaim: claim, posClaimedUntil: until.toISOString() })
    .where(
      and(
        eq(orders.tenantId, order.tenantId),
        eq(orders.id, order.id),
        inArray(orders.posStatus, ["queued", "retrying"]),
        or(isNull(orders.posClaimedUntil), lt(orders.posClaimedUntil, now.toISOString())),
      ),
    )
    .returning({ revision: orders.revision });
  return row ?? null;
}

/**
 * Orders the POS queue seems to have lost: `queued` for two minutes, or
 * `retrying` past any backoff (65 minutes), and not claimed now.
 */
export async function listStuckSubmissions(db: Db, now: Date) {
  const queuedBefore = new Date(now.getTime() - 2 * 60_000).toISOString();
  const retryingBefore = new Date(now.getTime() - 65 * 60_000).toISOString();
  return db
    .select({ id: orders.id, tenantId: orders.tenantId })
    .from(orders)
    .where(
      and(
        or(
          and(eq(orders.posStatus, "queued"), lt(orders.updatedAt, queuedBefore)),
          and(eq(orders.posStatus, "retrying"), lt(orders.updatedAt, retryingBefore)),
        ),
        or(isNull(orders.posClaimedUntil), lt(orders.posClaimedUntil, now.toISOString())),
      ),
    )
    .limit(100);
}
