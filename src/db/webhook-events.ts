import { and, eq, type SQL } from "drizzle-orm";
import { type Db, insertIf } from "./client";
import { webhookEvents, webhookVerifications } from "./schema";

/** The tenant id of the platform's own (app-wide) webhook URL in `webhook_verifications`. */
export const PLATFORM_SCOPE = "";

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

/** Keeps the newest verification code the vendor sent to a URL (the tenant's, or PLATFORM_SCOPE). */
export async function recordWebhookVerification(
  db: Db,
  scope: { provider: string; tenantId: string },
  code: string,
  now: Date,
): Promise<void> {
  const values = { code, receivedAt: now.toISOString() };
  await db
    .insert(webhookVerifications)
    .values({ ...scope, ...values })
    .onConflictDoUpdate({
      target: [webhookVerifications.provider, webhookVerifications.tenantId],
      set: values,
    });
}

/** The newest verification code for a URL, or null before any. */
export async function findWebhookVerification(
  db: Db,
  provider: string,
  tenantId: string,
): Promise<{ code: string; receivedAt: string } | null> {
  const row = await db.query.webhookVerifications.findFirst({
    where: and(
      eq(webhookVerifications.provider, provider),
      eq(webhookVerifications.tenantId, tenantId),
    ),
    columns: { code: true, receivedAt: true },
  });
  return row ?? null;
}
