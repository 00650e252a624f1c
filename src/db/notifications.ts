import { and, asc, eq, inArray, isNull, lt, type SQL } from "drizzle-orm";
import { newId } from "../crypto";
import { type Db, insertIf } from "./client";
import { notifications } from "./schema";

export type NotificationRow = typeof notifications.$inferSelect;

export interface NewNotification {
  tenantId: string;
  audience: "staff" | "customer";
  kind: string;
  orderId: string | null;
  message: string;
}

/** A notification to write in the caller's batch, unsent until the notifier took it. */
export function newNotification(input: NewNotification, now: Date): NotificationRow {
  return { id: newId("ntf", now.getTime()), ...input, createdAt: now.toISOString(), sentAt: null };
}

/** D1 binds at most 100 parameters per statement. */
const ID_CHUNK = 90;

export async function markNotificationsSent(
  db: Db,
  tenantId: string,
  ids: string[],
  now: Date,
): Promise<void> {
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    await db
      .update(notifications)
      .set({ sentAt: now.toISOString() })
      .where(
        and(
          eq(notifications.tenantId, tenantId),
          inArray(notifications.id, ids.slice(i, i + ID_CHUNK)),
          isNull(notifications.sentAt),
        ),
      );
  }
}

/** Notifications written before `before` that the notifier has not taken yet, oldest first. */
export function listUnsentNotifications(
  db: Db,
  before: Date,
  limit: number,
): Promise<NotificationRow[]> {
  return db
    .select()
    .from(notifications)
    .where(and(isNull(notifications.sentAt), lt(notifications.createdAt, before.toISOString())))
    .orderBy(asc(notifications.createdAt))
    .limit(limit);
}

/** The notification, written in the caller's batch only while `guard` holds (the change won). */
export function guardedNotificationInsert(db: Db, row: NotificationRow, guard: SQL) {
  return insertIf(db, notifications, row, guard);
}
