import { and, eq } from "drizzle-orm";
import type { Db } from "./client";
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
