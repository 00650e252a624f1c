import { and, asc, eq, type SQL } from "drizzle-orm";
import { type Db, insertIf } from "./client";
import { refunds } from "./schema";

export type RefundRow = typeof refunds.$inferSelect;

/**
 * Records a refund as the processor reports it (a later report updates its
 * status), so staff see it on the order and a retried refund finds it in D1
 * before asking the processor.
 */
export async function recordRefund(
  db: Db,
  refund: Omit<RefundRow, "createdAt" | "updatedAt" | "note" | "recordedBy">,
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  await db
    .insert(refunds)
    .values({ ...refund, createdAt: at, updatedAt: at })
    .onConflictDoUpdate({
      target: refunds.id,
      set: { status: refund.status, updatedAt: at },
      // The processor's id is global; only this tenant's row may be touched.
      setWhere: eq(refunds.tenantId, refund.tenantId),
    });
}

export function listRefunds(db: Db, tenantId: string, orderId: string): Promise<RefundRow[]> {
  return db
    .select()
    .from(refunds)
    .where(and(eq(refunds.tenantId, tenantId), eq(refunds.orderId, orderId)))
    .orderBy(asc(refunds.createdAt));
}

/**
 * The record of a refund staff made outside the platform (`refund-settled`),
 * for the batch that settles the order: its id says so (`manual_<order id>`),
 * with the note and the key that recorded it.
 */
export function manualRefundRow(
  order: {
    id: string;
    tenantId: string;
    paymentIntentId: string | null;
    total: number;
    currency: string;
  },
  by: { keyId: string; label: string },
  note: string,
  now: Date,
): RefundRow {
  const at = now.toISOString();
  return {
    id: `manual_${order.id}`,
    tenantId: order.tenantId,
    orderId: order.id,
    paymentIntentId: order.paymentIntentId ?? "",
    amount: order.total,
    currency: order.currency,
    status: "succeeded",
    note,
    recordedBy: by,
    createdAt: at,
    updatedAt: at,
  };
}

/** The refund record, written in the caller's batch only while `guard` holds (the change won). */
export function guardedRefundInsert(db: Db, row: RefundRow, guard: SQL) {
  return insertIf(db, refunds, row, guard);
}
