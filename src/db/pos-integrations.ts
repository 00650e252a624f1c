import { and, asc, eq, isNotNull, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { z } from "zod";
import type { PosSession } from "../adapters/pos/types";
import { decryptJson, encryptJson } from "../crypto";
import { sessionRefreshAt } from "../domain/pos-session";
import type { Db } from "./client";
import { type CaptureMode, type FailurePolicy, posIntegrations } from "./schema";

export type PosIntegrationRow = typeof posIntegrations.$inferSelect;

export interface PosSettings {
  autoSync: boolean;
  syncCustomerInfo: boolean;
  failurePolicy: FailurePolicy;
  captureMode: CaptureMode;
  maxAttempts: number;
}

export const DEFAULT_POS_SETTINGS: PosSettings = {
  autoSync: true,
  syncCustomerInfo: true,
  failurePolicy: "hold",
  captureMode: "immediate",
  maxAttempts: 6,
};

/** After this many orders in a row fail, the integration shows as degraded. */
export const DEGRADED_AFTER_FAILURES = 3;

const credentialsContext = (tenantId: string) => `pos-credentials:${tenantId}`;
const webhookSecretContext = (tenantId: string) => `pos-webhook-secret:${tenantId}`;
const sessionContext = (tenantId: string) => `pos-session:${tenantId}`;

export async function findPosIntegration(
  db: Db,
  tenantId: string,
): Promise<PosIntegrationRow | undefined> {
  return db.query.posIntegrations.findFirst({ where: eq(posIntegrations.tenantId, tenantId) });
}

/**
 * The connected integrations of `provider` at this location (a Clover merchant id): how an
 * app-wide webhook, which names merchants and no tenant, finds the tenants it speaks for.
 */
export function findConnectedByLocation(
  db: Db,
  provider: string,
  locationId: string,
): Promise<PosIntegrationRow[]> {
  return db.query.posIntegrations.findMany({
    where: and(
      eq(posIntegrations.provider, provider),
      eq(posIntegrations.locationId, locationId),
      eq(posIntegrations.status, "connected"),
    ),
    limit: 10,
  });
}

/** Connects (or reconnects) the tenant's POS; secrets are sealed before they reach D1. */
export async function connectPosIntegration(
  db: Db,
  key: Uint8Array,
  input: {
    tenantId: string;
    provider: string;
    locationId: string;
    credentials: Record<string, string>;
    webhookSecret: string | null;
    settings: PosSettings;
    /** What checkConnection learnt of the location. */
    location: {
      name: string | null;
      currency: string | null;
      timezone: string | null;
      settings: Record<string, string>;
    };
    /** The session an OAuth grant gave; null for credentials typed in. */
    session?: PosSession | null;
  },
  now: Date,
): Promise<PosIntegrationRow> {
  const at = now.toISOString();
  const session = input.session ?? null;
  const values = {
    provider: input.provider,
    locationId: input.locationId,
    credentialsCiphertext: await encryptJson(
      key,
      credentialsContext(input.tenantId),
      input.credentials,
    ),
    webhookSecretCiphertext: input.webhookSecret
      ? await encryptJson(key, webhookSecretContext(input.tenantId), input.webhookSecret)
      : null,
    ...(await sealedSession(key, input.tenantId, session, now)),
    status: "connected" as const,
    ...input.settings,
    locationName: input.location.name,
    locationCurrency: input.location.currency,
    locationTimezone: input.location.timezone,
    vendorSettings: input.location.settings,
    consecutiveFailures: 0,
    unansweredStreak: 0,
    // The connection check just got an answer.
    unansweredSince: null,
    downSince: null,
    probeAt: null,
    probeFailures: 0,
    degradedAt: null,
    connectedAt: at,
    disconnectedAt: null,
    updatedAt: at,
  };
  const [row] = await db
    .insert(posIntegrations)
    .values({ tenantId: input.tenantId, ...values })
    .onConflictDoUpdate({ target: posIntegrations.tenantId, set: values })
    .returning();
  if (!row) throw new Error("integration upsert returned no row");
  return row;
}

/** Stops syncing and refusing webhooks; the row (and so the sync history's context) stays, the session is dropped. */
export async function disconnectPosIntegration(
  db: Db,
  tenantId: string,
  now: Date,
): Promise<boolean> {
  const rows = await db
    .update(posIntegrations)
    .set({
      status: "disconnected",
      sessionCiphertext: null,
      sessionRefreshAt: null,
      disconnectedAt: now.toISOString(),
      updatedAt: now.toISOString(),
    })
    .where(eq(posIntegrations.tenantId, tenantId))
    .returning({ tenantId: posIntegrations.tenantId });
  return rows.length === 1;
}

const CredentialsSchema = z.record(z.string(), z.string());
const SessionSchema = z.object({
  accessToken: z.string(),
  expiresAt: z.string().nullable(),
  refreshToken: z.string().nullable(),
});

export async function openCredentials(
  key: Uint8Array,
  row: PosIntegrationRow,
): Promise<Record<string, string>> {
  return CredentialsSchema.parse(
    await decryptJson(key, credentialsContext(row.tenantId), row.credentialsCiphertext),
  );
}

export async function openWebhookSecret(
  key: Uint8Array,
  row: PosIntegrationRow,
): Promise<string | null> {
  if (!row.webhookSecretCiphertext) return null;
  return z
    .string()
    .parse(await decryptJson(key, webhookSecretContext(row.tenantId), row.webhookSecretCiphertext));
}

export async function openSession(
  key: Uint8Array,
  row: PosIntegrationRow,
): Promise<PosSession | null> {
  if (!row.sessionCiphertext) return null;
  return SessionSchema.parse(
    await decryptJson(key, sessionContext(row.tenantId), row.sessionCiphertext),
  );
}

export async function saveSession(
  db: Db,
  key: Uint8Array,
  tenantId: string,
  session: PosSession,
  now: Date,
) {
  await db
    .update(posIntegrations)
    .set({ ...(await sealedSession(key, tenantId, session, now)), updatedAt: now.toISOString() })
    .where(eq(posIntegrations.tenantId, tenantId));
}

/** The session columns: sealed, and when the cron pass renews it. */
async function sealedSession(
  key: Uint8Array,
  tenantId: string,
  session: PosSession | null,
  now: Date,
) {
  if (!session) return { sessionCiphertext: null, sessionRefreshAt: null };
  return {
    sessionCiphertext: await encryptJson(key, sessionContext(tenantId), session),
    sessionRefreshAt: sessionRefreshAt(session, now),
  };
}

/** Connected integrations whose session is due for renewal, oldest due first. */
export function listSessionsDue(db: Db, now: Date, limit: number): Promise<PosIntegrationRow[]> {
  return listConnectedDue(db, posIntegrations.sessionRefreshAt, now, limit);
}

/** Connected integrations whose `dueAt` time has come, oldest first (a null one never has). */
function listConnectedDue(
  db: Db,
  dueAt: typeof posIntegrations.sessionRefreshAt | typeof posIntegrations.probeAt,
  now: Date,
  limit: number,
): Promise<PosIntegrationRow[]> {
  return db.query.posIntegrations.findMany({
    where: and(eq(posIntegrations.status, "connected"), lte(dueAt, now.toISOString())),
    orderBy: [asc(dueAt)],
    limit,
  });
}

/**
 * Takes a due renewal for this pass: moves it to `until` only if it is still due at `dueAt`, so two
 * overlapping passes never renew one session twice (refresh tokens are single use). False when
 * another pass took it.
 */
export async function claimSessionRefresh(
  db: Db,
  tenantId: string,
  dueAt: string,
  until: Date,
): Promise<boolean> {
  const rows = await db
    .update(posIntegrations)
    .set({ sessionRefreshAt: until.toISOString() })
    .where(and(eq(posIntegrations.tenantId, tenantId), eq(posIntegrations.sessionRefreshAt, dueAt)))
    .returning({ tenantId: posIntegrations.tenantId });
  return rows.length === 1;
}

/** The session stored now, when it is not `used` (another caller renewed or reconnected since). */
export async function newerSession(
  db: Db,
  key: Uint8Array,
  tenantId: string,
  used: PosSession | null,
): Promise<PosSession | null> {
  const row = await findPosIntegration(db, tenantId);
  if (row?.status !== "connected") return null;
  const stored = await openSession(key, row);
  if (!stored) return null;
  const same =
    used !== null &&
    stored.accessToken === used.accessToken &&
    stored.refreshToken === used.refreshToken;
  return same ? null : stored;
}

/** A renewal that did not get an answer: tried again at `retryAt`. */
export async function deferSessionRefresh(db: Db, tenantId: string, retryAt: Date, now: Date) {
  await db
    .update(posIntegrations)
    .set({ sessionRefreshAt: retryAt.toISOString(), updatedAt: now.toISOString() })
    .where(eq(posIntegrations.tenantId, tenantId));
}

/**
 * A renewal the vendor refused: no more tries (the owner must reconnect), and the integration
 * degraded. A statement, for the batch that raises the alert.
 */
export function sessionRefreshRefused(db: Db, tenantId: string, now: Date) {
  const at = now.toISOString();
  return db
    .update(posIntegrations)
    .set({
      sessionRefreshAt: null,
      degradedAt: sql`COALESCE(${posIntegrations.degradedAt}, ${at})`,
      updatedAt: at,
    })
    .where(eq(posIntegrations.tenantId, tenantId));
}

/** A success ends a failure streak (and a degraded state). */
export function integrationSucceeded(db: Db, tenantId: string, now: Date) {
  return db
    .update(posIntegrations)
    .set({
      consecutiveFailures: 0,
      unansweredStreak: 0,
      unansweredSince: null,
      degradedAt: null,
      updatedAt: now.toISOString(),
    })
    .where(eq(posIntegrations.tenantId, tenantId));
}

/**
 * Counts an attempt the POS did not answer; returns the streak now, whether it is down already,
 * and since when it has not answered (the streak's first attempt).
 */
export async function countUnanswered(
  db: Db,
  tenantId: string,
  now: Date,
): Promise<{ streak: number; down: boolean; unansweredSince: string }> {
  const [row] = await db
    .update(posIntegrations)
    .set({
      unansweredStreak: sql`${posIntegrations.unansweredStreak} + 1`,
      unansweredSince: sql`COALESCE(${posIntegrations.unansweredSince}, ${now.toISOString()})`,
      updatedAt: now.toISOString(),
    })
    .where(eq(posIntegrations.tenantId, tenantId))
    .returning({
      streak: posIntegrations.unansweredStreak,
      downSince: posIntegrations.downSince,
      unansweredSince: posIntegrations.unansweredSince,
    });
  return {
    streak: row?.streak ?? 0,
    down: row?.downSince != null,
    unansweredSince: row?.unansweredSince ?? now.toISOString(),
  };
}

/**
 * Marks the connected POS down with its first probe at `probeAt`, in one batch with `also`
 * (the alert telling staff), which the caller guards with `downMarked`. False when it was down
 * already, or is not connected.
 */
export async function markPosDown(
  db: Db,
  tenantId: string,
  probeAt: Date,
  now: Date,
  also: (won: SQL) => BatchItem<"sqlite">[],
): Promise<boolean> {
  const at = now.toISOString();
  const [marked] = await db.batch([
    db
      .update(posIntegrations)
      .set({ downSince: at, probeAt: probeAt.toISOString(), probeFailures: 0, updatedAt: at })
      .where(
        and(
          eq(posIntegrations.tenantId, tenantId),
          eq(posIntegrations.status, "connected"),
          isNull(posIntegrations.downSince),
        ),
      )
      .returning({ tenantId: posIntegrations.tenantId }),
    ...also(downMarked(tenantId, at)),
  ]);
  return marked.length === 1;
}

/** Holds in a batch once the POS was marked down at `at` by it. */
function downMarked(tenantId: string, at: string): SQL {
  return sql`EXISTS (SELECT 1 FROM ${posIntegrations} WHERE ${posIntegrations.tenantId} = ${tenantId} AND ${posIntegrations.downSince} = ${at})`;
}

/**
 * Marks the POS answering again, in one batch with `also` (the alert telling staff): `also` runs
 * first, guarded by the POS being down, and the update after it, so both or neither happen. False
 * when it was not down.
 */
export async function markPosUp(
  db: Db,
  tenantId: string,
  now: Date,
  also: (won: SQL) => [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]],
): Promise<boolean> {
  const down = sql`EXISTS (SELECT 1 FROM ${posIntegrations} WHERE ${posIntegrations.tenantId} = ${tenantId} AND ${posIntegrations.downSince} IS NOT NULL)`;
  const [first, ...rest] = also(down);
  const written = await db.batch([
    first,
    ...rest,
    db
      .update(posIntegrations)
      .set({
        downSince: null,
        probeAt: null,
        probeFailures: 0,
        unansweredStreak: 0,
        unansweredSince: null,
        updatedAt: now.toISOString(),
      })
      .where(and(eq(posIntegrations.tenantId, tenantId), isNotNull(posIntegrations.downSince)))
      .returning({ tenantId: posIntegrations.tenantId }),
  ]);
  // The update's RETURNING rows: one when it was down.
  const marked = written.at(-1);
  return Array.isArray(marked) && marked.length === 1;
}

/** Down integrations whose next probe is due (only a down one has `probeAt`). */
export function listDueProbes(db: Db, now: Date, limit: number): Promise<PosIntegrationRow[]> {
  return listConnectedDue(db, posIntegrations.probeAt, now, limit);
}

/** A probe the POS did not answer: the next one at `probeAt`. */
export async function probeUnanswered(db: Db, tenantId: string, probeAt: Date, now: Date) {
  await db
    .update(posIntegrations)
    .set({
      probeAt: probeAt.toISOString(),
      probeFailures: sql`${posIntegrations.probeFailures} + 1`,
      updatedAt: now.toISOString(),
    })
    .where(and(eq(posIntegrations.tenantId, tenantId), isNotNull(posIntegrations.downSince)));
}

/**
 * Counts a failed order and marks the integration degraded at the third in a
 * row; returns whether this failure is the one that made it degraded (so the
 * caller alerts once).
 */
export async function integrationFailed(db: Db, tenantId: string, now: Date): Promise<boolean> {
  const at = now.toISOString();
  const [row] = await db
    .update(posIntegrations)
    .set({
      consecutiveFailures: sql`${posIntegrations.consecutiveFailures} + 1`,
      degradedAt: sql`CASE WHEN ${posIntegrations.degradedAt} IS NULL AND ${posIntegrations.consecutiveFailures} + 1 >= ${DEGRADED_AFTER_FAILURES} THEN ${at} ELSE ${posIntegrations.degradedAt} END`,
      updatedAt: at,
    })
    .where(eq(posIntegrations.tenantId, tenantId))
    .returning({ degradedAt: posIntegrations.degradedAt });
  return row?.degradedAt === at;
}
