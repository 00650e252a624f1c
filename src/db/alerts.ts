import { and, desc, eq, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { newId } from "../crypto";
import { type Db, insertIf } from "./client";
import { guardedOutboxInsert, newOutboxRecord, type OutboxRecord, outboxInsert } from "./outbox";
import { type AlertLevel, alerts, tenants } from "./schema";

export type AlertRow = typeof alerts.$inferSelect;

export interface NewAlert {
  tenantId: string;
  kind: string;
  level: AlertLevel;
  orderId: string | null;
  message: string;
}

/** The `alert` event terminals receive for an alert row. */
export function alertEvent(alert: AlertRow, now: Date): OutboxRecord {
  return newOutboxRecord(
    alert.tenantId,
    {
      type: "alert",
      payload: {
        alertId: alert.id,
        level: alert.level,
        kind: alert.kind,
        orderId: alert.orderId,
        message: alert.message,
        raisedAt: alert.lastRaisedAt,
        raiseCount: alert.raiseCount,
        // Set once staff acknowledged it (anywhere): every terminal takes it down.
        acknowledgedAt: alert.acknowledgedAt,
      },
    },
    now,
  );
}

/** The alert row, written in the caller's batch only while `guard` holds (the change won). */
export function guardedAlertInsert(db: Db, row: AlertRow, guard: SQL) {
  return insertIf(db, alerts, row, guard);
}

/**
 * Raises an alert on its own: the row and its `alert` event in one batch,
 * with `also` (statements that belong with it, such as a webhook's dedupe
 * row). Returns the event for the caller to deliver.
 */
export async function raiseAlert(
  db: Db,
  input: NewAlert,
  now: Date,
  also: BatchItem<"sqlite">[] = [],
): Promise<OutboxRecord[]> {
  const built = buildAlert(db, input, now);
  await db.batch([...built.statements, ...also]);
  return [built.event];
}

/** A new open alert and its event, as statements for the caller's batch. */
export function buildAlert(db: Db, input: NewAlert, now: Date) {
  const at = now.toISOString();
  const row: AlertRow = {
    id: newId("alr", now.getTime()),
    ...input,
    createdAt: at,
    lastRaisedAt: at,
    raiseCount: 1,
    acknowledgedAt: null,
    acknowledgedBy: null,
  };
  const event = alertEvent(row, now);
  return {
    row,
    event,
    statements: [db.insert(alerts).values(row), outboxInsert(db, event)] as const,
  };
}

export async function listAlerts(
  db: Db,
  tenantId: string,
  options: { openOnly: boolean; limit: number },
): Promise<AlertRow[]> {
  return db.query.alerts.findMany({
    where: options.openOnly
      ? and(eq(alerts.tenantId, tenantId), isNull(alerts.acknowledgedAt))
      : eq(alerts.tenantId, tenantId),
    orderBy: [desc(alerts.createdAt), desc(alerts.id)],
    limit: options.limit,
  });
}

/**
 * Closes an open alert, with the `alert` event (now carrying `acknowledgedAt`)
 * that takes it off every terminal, in one batch. Null when there is no such
 * open alert (nothing is written then).
 */
export async function acknowledgeAlert(
  db: Db,
  tenantId: string,
  alertId: string,
  by: string,
  now: Date,
): Promise<{ alert: AlertRow; event: OutboxRecord } | null> {
  const open = await db.query.alerts.findFirst({
    where: and(
      eq(alerts.tenantId, tenantId),
      eq(alerts.id, alertId),
      isNull(alerts.acknowledgedAt),
    ),
  });
  if (!open) return null;
  const at = now.toISOString();
  const closed: AlertRow = { ...open, acknowledgedAt: at, acknowledgedBy: by };
  const event = alertEvent(closed, now);
  const [rows] = await db.batch([
    db
      .update(alerts)
      .set({ acknowledgedAt: at, acknowledgedBy: by })
      .where(
        and(eq(alerts.tenantId, tenantId), eq(alerts.id, alertId), isNull(alerts.acknowledgedAt)),
      )
      .returning(),
    guardedOutboxInsert(
      db,
      event,
      sql`EXISTS (SELECT 1 FROM ${alerts} WHERE ${alerts.id} = ${alertId} AND ${alerts.acknowledgedAt} = ${at} AND ${alerts.acknowledgedBy} = ${by})`,
    ),
  ]);
  const row = rows[0];
  return row ? { alert: row, event } : null;
}

/**
 * Closes the order's open alerts of `kind` (staff have nothing left to do
 * about them), for the batch of the change that settled the matter: written
 * only while `guard` holds (the change won).
 */
export function closeOrderAlerts(
  db: Db,
  alert: { tenantId: string; orderId: string; kind: string },
  now: Date,
  guard: SQL,
) {
  return db
    .update(alerts)
    .set({ acknowledgedAt: now.toISOString(), acknowledgedBy: "system" })
    .where(
      and(
        eq(alerts.tenantId, alert.tenantId),
        eq(alerts.orderId, alert.orderId),
        eq(alerts.kind, alert.kind),
        isNull(alerts.acknowledgedAt),
        guard,
      ),
    );
}

export async function findAlert(
  db: Db,
  tenantId: string,
  alertId: string,
): Promise<AlertRow | undefined> {
  return db.query.alerts.findFirst({
    where: and(eq(alerts.tenantId, tenantId), eq(alerts.id, alertId)),
  });
}

/**
 * Raises again every open alert of `level` last raised before `olderThan`:
 * each gets its raise time bumped and a new `alert` event in one batch, the
 * event guarded by the bump so two cron passes cannot both raise it.
 */
export async function reraiseOpenAlerts(
  db: Db,
  level: AlertLevel,
  olderThan: Date,
  now: Date,
  limit = 100,
): Promise<OutboxRecord[]> {
  const due = await db.query.alerts.findMany({
    where: and(
      eq(alerts.level, level),
      isNull(alerts.acknowledgedAt),
      lt(alerts.lastRaisedAt, olderThan.toISOString()),
      // Nobody would hear an alert of a tenant that is gone or deleted.
      inArray(
        alerts.tenantId,
        db.select({ id: tenants.id }).from(tenants).where(isNull(tenants.deletedAt)),
      ),
    ),
    limit,
  });
  const events: OutboxRecord[] = [];
  for (const alert of due) {
    const at = now.toISOString();
    const raised: AlertRow = { ...alert, lastRaisedAt: at, raiseCount: alert.raiseCount + 1 };
    const event = alertEvent(raised, now);
    const won = sql`EXISTS (SELECT 1 FROM ${alerts} WHERE ${alerts.id} = ${alert.id} AND ${alerts.lastRaisedAt} = ${at} AND ${alerts.raiseCount} = ${raised.raiseCount})`;
    await db.batch([
      db
        .update(alerts)
        .set({ lastRaisedAt: at, raiseCount: raised.raiseCount })
        .where(
          and(
            eq(alerts.tenantId, alert.tenantId),
            eq(alerts.id, alert.id),
            eq(alerts.lastRaisedAt, alert.lastRaisedAt),
            isNull(alerts.acknowledgedAt),
          ),
        ),
      guardedOutboxInsert(db, event, won),
    ]);
    const stored = await db.query.alerts.findFirst({ where: eq(alerts.id, alert.id) });
    if (stored?.lastRaisedAt === at && stored.raiseCount === raised.raiseCount) events.push(event);
  }
  return events;
}
