import { and, desc, eq, sql } from "drizzle-orm";
import { newId } from "../crypto";
import type { DiscountForPricing } from "../domain/pricing";
import type { Db } from "./client";
import { discountCodes } from "./schema";

export type DiscountRow = typeof discountCodes.$inferSelect;

export interface DiscountInput {
  code: string;
  kind: "percent" | "fixed";
  value: number;
  minSubtotal?: number | undefined;
  expiresAt?: string | null | undefined;
  maxUses?: number | null | undefined;
}

/** Codes are matched case-insensitively by storing and looking them up upper-case. */
export function normalizeCode(code: string): string {
  return code.trim().toUpperCase();
}

export async function createDiscount(
  db: Db,
  tenantId: string,
  input: DiscountInput,
  now: Date,
): Promise<DiscountRow> {
  const [row] = await db
    .insert(discountCodes)
    .values({
      id: newId("dsc"),
      tenantId,
      code: normalizeCode(input.code),
      kind: input.kind,
      value: input.value,
      minSubtotal: input.minSubtotal ?? 0,
      // Stored in UTC, whatever offset the owner wrote it with, so it compares as text too.
      expiresAt: input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
      maxUses: input.maxUses ?? null,
      createdAt: now.toISOString(),
    })
    .returning();
  if (!row) throw new Error("discount insert returned no row");
  return row;
}

export async function findDiscount(
  db: Db,
  tenantId: string,
  code: string,
): Promise<DiscountRow | undefined> {
  const [row] = await discountQuery(db, tenantId, code);
  return row;
}

/** The tenant's discount with this code, as a list of at most one row (so it batches). */
export function discountQuery(db: Db, tenantId: string, code: string) {
  return db.query.discountCodes.findMany({
    where: and(eq(discountCodes.tenantId, tenantId), eq(discountCodes.code, normalizeCode(code))),
    limit: 1,
  });
}

export async function listDiscounts(db: Db, tenantId: string): Promise<DiscountRow[]> {
  return db.query.discountCodes.findMany({
    where: eq(discountCodes.tenantId, tenantId),
    orderBy: [desc(discountCodes.createdAt)],
  });
}

/** The row in the pricing module's terms (percent stored whole, priced in basis points). */
export function discountForPricing(row: DiscountRow): DiscountForPricing {
  return {
    code: row.code,
    kind: row.kind,
    value: row.kind === "percent" ? row.value * 100 : row.value,
    minSubtotal: row.minSubtotal,
    expiresAt: row.expiresAt,
    maxUses: row.maxUses,
    usedCount: row.usedCount,
  };
}

/**
 * Counts one use, for the order's batch. The table's check constraint makes
 * the batch fail when this would pass `max_uses`, so two concurrent orders
 * cannot both take the last use.
 */
export function discountUseIncrement(db: Db, tenantId: string, discountId: string) {
  return db
    .update(discountCodes)
    .set({ usedCount: sql`${discountCodes.usedCount} + 1` })
    .where(and(eq(discountCodes.tenantId, tenantId), eq(discountCodes.id, discountId)));
}
