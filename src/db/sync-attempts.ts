import { and, count, desc, eq, inArray, lt, type SQL, sql } from "drizzle-orm";
import { newId } from "../crypto";
import { type Db, insertIf } from "./client";
import { orders, posSyncAttempts, type SyncAttemptStatus } from "./schema";

export type SyncAttemptRow = typeof posSyncAttempts.$inferSelect;

export function newSyncAttempt(input: {
  tenantId: string;
  orderId: string;
  provider: string;
  attempt: number;
  status: SyncAttemptStatus;
  errorCode?: string | null;
  errorMessage?: string | null;
  durationMs: number;
  posOrderId?: string | null;
  startedAt: Date;
}): SyncAttemptRow {
  return {
    id: newId("att", input.startedAt.getTime()),
    tenantId: input.tenantId,
    orderId: input.orderId,
    provider: input.provider,
    attempt: input.attempt,
    status: input.status,
    errorCode: input.errorCode ?? null,
    errorMessage: input.errorMessage ?? null,
    durationMs: Math.max(0, Math.round(input.durationMs)),
    posOrderId: input.posOrderId ?? null,
    startedAt: input.startedAt.toISOString(),
  };
}

/** Newest first, keyset-paginated by id (ids sort by time). */
export async function listSyncAttempts(
  db: Db,
  tenantId: string,
  filter: {
    status?: SyncAttemptStatus | undefined;
    beforeId?: string | undefined;
    orderId?: string;
    limit: number;
  },
): Promise<SyncAttemptRow[]> {
  const conditions: SQL[] = [eq(posSyncAttempts.tenantId, tenantId)];
  if (filter.status) conditions.push(eq(posSyncAttempts.status, filter.status));
  if (filter.beforeId) conditions.push(lt(posSyncAttempts.id, filter.beforeId));
  if (filter.orderId) conditions.push(eq(posSyncAttempts.orderId, filter.orderId));
  return db
    .select()
    .from(posSyncAttempts)
    .where(and(...conditions))
    .orderBy(desc(posSyncAttempts.id))
    .limit(filter.limit);
}

export interface SyncStats {
  totalSyncs: number;
  successfulSyncs: number;
  failedSyncs: number;
  pendingRetries: number;
  /** successfulSyncs / totalSyncs × 100, one decimal (0–100). */
  successRate: number;
  p50SyncMs: number | null;
  p95SyncMs: number | null;
  /** Orders, not attempts: how many the POS has, how many it refused for good, how many wait. */
  ordersSynced: number;
  ordersFailed: number;
  ordersRetrying: number;
}

/** Attempt totals, orders still waiting for the POS, and percentiles of successful attempts' duration. */
export async function syncStats(db: Db, tenantId: string): Promise<SyncStats> {
  const [totals] = await db
    .select({
      total: count(),
      successful: sql<number>`coalesce(sum(CASE WHEN ${posSyncAttempts.status} = 'success' THEN 1 ELSE 0 END), 0)`,
    })
    .from(posSyncAttempts)
    .where(eq(posSyncAttempts.tenantId, tenantId));
  const byStatus = await db
    .select({ posStatus: orders.posStatus, n: count() })
    .from(orders)
    .where(
      and(
        eq(orders.tenantId, tenantId),
        inArray(orders.posStatus, ["queued", "retrying", "synced", "failed"]),
      ),
    )
    .groupBy(orders.posStatus);
  const ordersIn = (...statuses: string[]) =>
    byStatus.filter((row) => statuses.includes(row.posStatus)).reduce((sum, row) => sum + row.n, 0);
  const total = totals?.total ?? 0;
  const successful = Number(totals?.successful ?? 0);
  return {
    totalSyncs: total,
    successfulSyncs: successful,
    failedSyncs: total - successful,
    pendingRetries: ordersIn("queued", "retrying"),
    successRate: total === 0 ? 0 : Math.round((successful / total) * 1000) / 10,
    ordersSynced: ordersIn("synced"),
    ordersFailed: ordersIn("failed"),
    ordersRetrying: ordersIn("queued", "retrying"),
    p50SyncMs: await successPercentile(db, tenantId, successful, 0.5),
    p95SyncMs: await successPercentile(db, tenantId, successful, 0.95),
  };
}

/** Nearest-rank percentile, read with one indexed OFFSET query. */
async function successPercentile(
  db: Db,
  tenantId: string,
  n: number,
  p: number,
): Promise<number | null> {
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(p * n));
  const [row] = await db
    .select({ ms: posSyncAttempts.durationMs })
    .from(posSyncAttempts)
    .where(and(eq(posSyncAttempts.tenantId, tenantId), eq(posSyncAttempts.status, "success")))
    .orderBy(posSyncAttempts.durationMs)
    .limit(1)
    .offset(rank - 1);
  return row?.ms ?? null;
}

/** The attempt row, written in the caller's batch only while `guard` holds (the change won). */
export function guardedSyncAttemptInsert(db: Db, row: SyncAttemptRow, guard: SQL) {
  return insertIf(db, posSyncAttempts, row, guard);
}
