import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { newId, randomToken, sha256Hex } from "../crypto";
import type { Db } from "./client";
import {
  type AccessRevoked,
  guardedOutboxInsert,
  newOutboxRecord,
  type OutboxRecord,
} from "./outbox";
import { apiKeys, type KeyRole, terminalTickets } from "./schema";

export type ApiKey = typeof apiKeys.$inferSelect;

export interface GeneratedKey {
  clear: string;
  hash: string;
  prefix: string;
}

/** 40 base62 characters (≈238 bits): a plain SHA-256 is enough at that entropy. */
export async function generateApiKey(): Promise<GeneratedKey> {
  const clear = `olk_${randomToken(40)}`;
  return { clear, hash: await sha256Hex(clear), prefix: clear.slice(0, 10) };
}

export function apiKeyInsert(
  db: Db,
  input: { tenantId: string; role: KeyRole; label: string },
  key: GeneratedKey,
  at: string,
) {
  return db.insert(apiKeys).values({
    id: newId("key"),
    tenantId: input.tenantId,
    role: input.role,
    label: input.label,
    prefix: key.prefix,
    keyHash: key.hash,
    createdAt: at,
  });
}

export async function createApiKey(
  db: Db,
  input: { tenantId: string; role: KeyRole; label: string },
  now: Date,
): Promise<{ key: string; record: ApiKey }> {
  const generated = await generateApiKey();
  const [record] = await apiKeyInsert(db, input, generated, now.toISOString()).returning();
  if (!record) throw new Error("api key insert returned no row");
  return { key: generated.clear, record };
}

/** The live (not revoked) key with this clear text, if any. */
export async function findActiveApiKey(db: Db, clear: string): Promise<ApiKey | undefined> {
  const hash = await sha256Hex(clear);
  return db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)),
  });
}

export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKey[]> {
  return db.query.apiKeys.findMany({
    where: eq(apiKeys.tenantId, tenantId),
    orderBy: [desc(apiKeys.createdAt), desc(apiKeys.id)],
  });
}

export async function findApiKey(
  db: Db,
  tenantId: string,
  id: string,
): Promise<ApiKey | undefined> {
  return db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id)),
  });
}

/** Number of live owner keys, so the last one cannot be revoked. */
export async function countActiveOwnerKeys(db: Db, tenantId: string): Promise<number> {
  const rows = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(
      and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.role, "owner"), isNull(apiKeys.revokedAt)),
    );
  return rows.length;
}

/**
 * Revokes a live key in one batch: the key, every unused ticket issued from
 * it, and the `access_revoked` event that has the tenant's hub close the
 * sockets opened with it (written only if this call revoked the key).
 * Returns that event, or null when the key was not live.
 */
export async function revokeApiKey(
  db: Db,
  tenantId: string,
  id: string,
  now: Date,
): Promise<OutboxRecord | null> {
  const at = now.toISOString();
  const payload: AccessRevoked = { keyIds: [id], reason: "key_revoked" };
  const event = newOutboxRecord(tenantId, { type: "access_revoked", payload }, now);
  const [rows] = await db.batch([
    db
      .update(apiKeys)
      .set({ revokedAt: at })
      .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id }),
    db
      .update(terminalTickets)
      .set({ usedAt: at })
      .where(
        and(
          eq(terminalTickets.tenantId, tenantId),
          eq(terminalTickets.apiKeyId, id),
          isNull(terminalTickets.usedAt),
        ),
      ),
    guardedOutboxInsert(
      db,
      event,
      sql`EXISTS (SELECT 1 FROM ${apiKeys} WHERE ${apiKeys.tenantId} = ${tenantId} AND ${apiKeys.id} = ${id} AND ${apiKeys.revokedAt} = ${at})`,
    ),
  ]);
  return rows.length === 1 ? event : null;
}

/** The live key of this tenant with this id, as the hub checks it before each command. */
export async function findLiveApiKey(
  db: Db,
  tenantId: string,
  id: string,
): Promise<ApiKey | undefined> {
  return db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)),
  });
}
