import { and, eq, sql } from "drizzle-orm";
import { newId } from "../crypto";
import { type Db, insertIf, isConstraintError } from "./client";
import { guardedOutboxInsert, type OutboxRecord } from "./outbox";
import { loyaltyAccounts, loyaltyTransactions } from "./schema";

export interface LoyaltyChange {
  tenantId: string;
  phone: string;
  kind: "add" | "redeem";
  points: number;
  reason: string;
}

export type LoyaltyResult =
  | { ok: true; balance: number; event: OutboxRecord }
  | { ok: false; balance: number };

export async function findLoyaltyBalance(db: Db, tenantId: string, phone: string): Promise<number> {
  const row = await db.query.loyaltyAccounts.findFirst({
    where: and(eq(loyaltyAccounts.tenantId, tenantId), eq(loyaltyAccounts.phone, phone)),
  });
  return row?.balance ?? 0;
}

/**
 * Adds or redeems points in one batch: the balance change, the transaction
 * row and the `loyalty_updated` event, whose balance is read inside the batch
 * so concurrent changes each report their own result. A redeem that would
 * take the balance below zero fails the table's check, so the whole batch is
 * undone and `{ ok: false }` comes back with the balance as it is.
 */
export async function applyLoyaltyChange(
  db: Db,
  change: LoyaltyChange,
  now: Date,
): Promise<LoyaltyResult> {
  const { tenantId, phone, kind, points, reason } = change;
  const at = now.toISOString();
  const eventId = newId("evt", now.getTime());
  const account = and(eq(loyaltyAccounts.tenantId, tenantId), eq(loyaltyAccounts.phone, phone));
  const balanceNow = sql`(SELECT ${loyaltyAccounts.balance} FROM ${loyaltyAccounts} WHERE ${account})`;
  const exists = sql`EXISTS (SELECT 1 FROM ${loyaltyAccounts} WHERE ${account})`;
  const txId = newId("lty");
  const payload = sql`json_object('phone', ${phone}, 'pointsChange', ${kind === "add" ? points : -points}, 'balance', ${balanceNow}, 'transactionType', ${kind}, 'reason', ${reason})`;
  const balanceChange =
    kind === "add"
      ? db
          .insert(loyaltyAccounts)
          .values({ tenantId, phone, balance: points, updatedAt: at })
          .onConflictDoUpdate({
            target: [loyaltyAccounts.tenantId, loyaltyAccounts.phone],
            set: { balance: sql`${loyaltyAccounts.balance} + ${points}`, updatedAt: at },
          })
      : db
          .update(loyaltyAccounts)
          .set({ balance: sql`${loyaltyAccounts.balance} - ${points}`, updatedAt: at })
          .where(and(eq(loyaltyAccounts.tenantId, tenantId), eq(loyaltyAccounts.phone, phone)));
  try {
    await db.batch([
      balanceChange,
      insertIf(
        db,
        loyaltyTransactions,
        {
          id: txId,
          tenantId,
          phone,
          kind,
          points,
          reason,
          balanceAfter: balanceNow,
          createdAt: at,
        },
        exists,
      ),
      guardedOutboxInsert(
        db,
        { id: eventId, tenantId, type: "loyalty_updated", payload, createdAt: at },
        exists,
      ),
    ]);
  } catch (err) {
    if (kind === "redeem" && isConstraintError(err, "loyalty_accounts_balance_check")) {
      return { ok: false, balance: await findLoyaltyBalance(db, tenantId, phone) };
    }
    throw err;
  }
  const row = await db.query.loyaltyTransactions.findFirst({
    where: eq(loyaltyTransactions.id, txId),
  });
  if (!row) return { ok: false, balance: await findLoyaltyBalance(db, tenantId, phone) };
  const event: OutboxRecord = {
    id: eventId,
    tenantId,
    type: "loyalty_updated",
    payload: {
      phone,
      pointsChange: kind === "add" ? points : -points,
      balance: row.balanceAfter,
      transactionType: kind,
      reason,
    },
    createdAt: at,
  };
  return { ok: true, balance: row.balanceAfter, event };
}
