import { and, desc, eq, isNull } from "drizzle-orm";
import { newId, randomToken, sha256Hex } from "../crypto";
import type { Db } from "./client";
import { apiKeys, type KeyRole } from "./schema";

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

export async function revokeApiKey(
  db: Db,
  tenantId: string,
  id: string,
  now: Date,
): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: now.toISOString() })
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length === 1;
}
