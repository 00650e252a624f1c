import { and, asc, eq } from "drizzle-orm";
import type { Db } from "./client";
import { refunds } from "./schema";

export type RefundRow = typeof refunds.$inferSelect;

/**
 * Records a refund as the processor reports it (a later report updates its
 * status), so staff see it on the order and a retried refund finds it in D1
 * before asking the processor.
 */
export async function recordRefund(
  db: Db,
  refund: Omit<RefundRow, "createdAt" | "updatedAt">,
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
