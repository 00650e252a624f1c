import { and, eq, lt } from "drizzle-orm";
import type { Db } from "./client";
import { idempotencyKeys } from "./schema";

export type IdempotencyRecord = typeof idempotencyKeys.$inferSelect;

/** How long a stored response is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export async function findIdempotencyRecord(
  db: Db,
  tenantId: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  return db.query.idempotencyKeys.findFirst({
    where: and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key)),
  });
}

/**
 * The record for the batch that does the request's work: its primary key
 * makes a concurrent request with the same key fail the whole batch.
 */
export function idempotencyInsert(db: Db, record: IdempotencyRecord) {
  return db.insert(idempotencyKeys).values(record);
}

/** Retention across every tenant: only records past their replay window go. */
export async function pruneIdempotencyKeys(db: Db, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString();
  const rows = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, cutoff))
    .returning({ key: idempotencyKeys.key });
  return rows.length;
}
