import { getNotifier } from "../adapters/notify";
import type { Db } from "../db/client";
import {
  listUnsentNotifications,
  markNotificationsSent,
  type NotificationRow,
} from "../db/notifications";
import { logLine } from "../log";

/**
 * Hands stored notifications to the notifier and marks the ones it took.
 * One that fails stays unsent and is tried again by the cron pass.
 */
export async function sendNotifications(
  env: Env,
  db: Db,
  rows: NotificationRow[],
  now: Date,
): Promise<number> {
  const notifier = getNotifier(env);
  const sent: NotificationRow[] = [];
  for (const row of rows) {
    try {
      await notifier.notify({
        audience: row.audience,
        kind: row.kind,
        tenantId: row.tenantId,
        orderId: row.orderId,
        message: row.message,
      });
      sent.push(row);
    } catch (err) {
      console.error(
        logLine({
          level: "error",
          msg: "notification not sent; the cron pass tries again",
          notificationId: row.id,
          kind: row.kind,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
    }
  }
  const byTenant = new Map<string, string[]>();
  for (const row of sent)
    byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row.id]);
  for (const [tenantId, ids] of byTenant) await markNotificationsSent(db, tenantId, ids, now);
  return sent.length;
}

/**
 * Notifications left unsent for five minutes (notifier down, Worker stopped):
 * sent now. Long enough that the request which wrote one (Stripe calls
 * included) has finished handing it over.
 */
export async function resendUnsentNotifications(env: Env, db: Db, now: Date): Promise<number> {
  const due = await listUnsentNotifications(db, new Date(now.getTime() - 5 * 60_000), 100);
  return due.length > 0 ? sendNotifications(env, db, due, now) : 0;
}
