import { and, asc, eq, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import { newId } from "../crypto";
import { type Db, insertIf } from "./client";
import { outboxEvents, tenants } from "./schema";

/**
 * The client-facing event types (the terminal protocol's server messages),
 * and `access_revoked`, which the hub acts on (it closes the sockets of the
 * keys named) instead of sending it.
 */
export type OutboxEventType =
  | "new_order"
  | "order_updated"
  | "gift_card_purchased"
  | "loyalty_updated"
  | "alert"
  | "menu_updated"
  | "intake_updated"
  | "access_revoked";

/** What `access_revoked` carries: the revoked keys, or every key of a deleted tenant. */
export type AccessRevoked =
  | { keyIds: string[]; reason: "key_revoked" }
  | { reason: "tenant_deleted" };

/** An outbox row as written and as published to the tenant's hub. */
export interface OutboxRecord {
  id: string;
  tenantId: string;
  type: OutboxEventType;
  payload: unknown;
  createdAt: string;
}

export function newOutboxRecord(
  tenantId: string,
  event: { type: OutboxEventType; payload: unknown },
  now: Date,
): OutboxRecord {
  return { id: newId("evt", now.getTime()), tenantId, ...event, createdAt: now.toISOString() };
}

/**
 * The outbox row for an event; callers put it in the same batch as the state
 * change it describes, so the event exists exactly when the change does.
 */
export function outboxInsert(db: Db, record: OutboxRecord) {
  return db.insert(outboxEvents).values({ ...record, attempts: 0 });
}

/**
 * The outbox row, written only when the SQL condition `guard` holds at that
 * point of the batch (for example "the order now has the revision this
 * change gave it").
 */
export function guardedOutboxInsert(db: Db, record: OutboxRecord, guard: SQL) {
  return insertIf(db, outboxEvents, { ...record, attempts: 0 }, guard);
}

/** D1 allows 100 bound parameters a statement; ids are updated in chunks below that. */
const ID_CHUNK = 90;

export async function markOutboxDelivered(
  db: Db,
  tenantId: string,
  ids: readonly string[],
  now: Date,
): Promise<void> {
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    await db
      .update(outboxEvents)
      .set({ deliveredAt: now.toISOString(), attempts: sql`${outboxEvents.attempts} + 1` })
      .where(
        and(
          eq(outboxEvents.tenantId, tenantId),
          inArray(outboxEvents.id, ids.slice(i, i + ID_CHUNK)),
          isNull(outboxEvents.deliveredAt),
        ),
      );
  }
}

export async function countOutboxFailure(
  db: Db,
  tenantId: string,
  ids: readonly string[],
): Promise<void> {
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    await db
      .update(outboxEvents)
      .set({ attempts: sql`${outboxEvents.attempts} + 1` })
      .where(
        and(
          eq(outboxEvents.tenantId, tenantId),
          inArray(outboxEvents.id, ids.slice(i, i + ID_CHUNK)),
        ),
      );
  }
}

/** Undelivered rows created before `olderThan`, oldest first, with their tenant's slug. */
export async function listUndeliveredOutbox(
  db: Db,
  olderThan: Date,
  limit: number,
): Promise<(OutboxRecord & { tenantSlug: string })[]> {
  const rows = await db
    .select({
      id: outboxEvents.id,
      tenantId: outboxEvents.tenantId,
      type: outboxEvents.type,
      payload: outboxEvents.payload,
      createdAt: outboxEvents.createdAt,
      tenantSlug: tenants.slug,
    })
    .from(outboxEvents)
    .innerJoin(tenants, eq(tenants.id, outboxEvents.tenantId))
    .where(
      and(isNull(outboxEvents.deliveredAt), lt(outboxEvents.createdAt, olderThan.toISOString())),
    )
    .orderBy(asc(outboxEvents.createdAt), asc(outboxEvents.id))
    .limit(limit);
  return rows.map((row) => ({ ...row, type: row.type as OutboxEventType }));
}
