import { and, eq, type SQL } from "drizzle-orm";
import { type Db, insertIf } from "./client";
import { webhookEvents } from "./schema";

/** Whether a vendor event was processed already. */
export async function webhookEventSeen(
  db: Db,
  provider: string,
  eventId: string,
): Promise<boolean> {
  const row = await db.query.webhookEvents.findFirst({
    where: and(eq(webhookEvents.provider, provider), eq(webhookEvents.eventId, eventId)),
  });
  return row !== undefined;
}

/** The dedupe row; in the same batch as the change the event causes, so both or neither exist. */
export function webhookEventInsert(
  db: Db,
  event: { provider: string; eventId: string; tenantId: string | null },
  now: Date,
) {
  return db.insert(webhookEvents).values({ ...event, receivedAt: now.toISOString() });
}

/** The dedupe row, written in the caller's batch only while `guard` holds (the change won). */
export function guardedWebhookEventInsert(
  db: Db,
  event: { provider: string; eventId: string; tenantId: string | null },
  now: Date,
  guard: SQL,
) {
  return insertIf(db, webhookEvents, { ...event, receivedAt: now.toISOString() }, guard);
}
