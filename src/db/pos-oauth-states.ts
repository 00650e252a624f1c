import { and, eq, gt, isNull, lt } from "drizzle-orm";
import { z } from "zod";
import { decryptJson, encryptJson, randomToken, sha256Hex } from "../crypto";
import type { Db } from "./client";
import type { PosSettings } from "./pos-integrations";
import { posOAuthStates, tenants } from "./schema";

/** How long an owner has to grant access at the vendor after starting. */
export const OAUTH_STATE_TTL_MS = 10 * 60_000;

/** What the owner asked for when starting, given back when the vendor returns. */
export interface OAuthStart {
  tenantId: string;
  provider: string;
  locationId: string | null;
  redirectUri: string;
  settings: PosSettings;
  webhookSecret: string | null;
}

const webhookSecretContext = (stateHash: string) => `pos-oauth-webhook-secret:${stateHash}`;

/** Stores a new state for `start` and answers it (shown once: only its hash is kept). */
export async function createOAuthState(
  db: Db,
  key: Uint8Array,
  start: OAuthStart,
  now: Date,
): Promise<{ state: string; expiresAt: string }> {
  const state = `ols_${randomToken(40)}`;
  const stateHash = await sha256Hex(state);
  const expiresAt = new Date(now.getTime() + OAUTH_STATE_TTL_MS).toISOString();
  await db.insert(posOAuthStates).values({
    stateHash,
    tenantId: start.tenantId,
    provider: start.provider,
    locationId: start.locationId,
    redirectUri: start.redirectUri,
    settings: { ...start.settings },
    webhookSecretCiphertext: start.webhookSecret
      ? await encryptJson(key, webhookSecretContext(stateHash), start.webhookSecret)
      : null,
    expiresAt,
    createdAt: now.toISOString(),
  });
  return { state, expiresAt };
}

const SettingsSchema = z.object({
  autoSync: z.boolean(),
  syncCustomerInfo: z.boolean(),
  failurePolicy: z.enum(["hold", "auto_refund"]),
  captureMode: z.enum(["immediate", "on_pos_accept"]),
  maxAttempts: z.number().int(),
});

/**
 * Uses up the state the vendor sent back for `provider`: one conditional update, so a callback
 * replayed (or raced) gets it once. Unknown, used, expired, another provider's, or a tenant
 * deleted since: null.
 */
export async function consumeOAuthState(
  db: Db,
  key: Uint8Array,
  provider: string,
  state: string,
  now: Date,
): Promise<OAuthStart | null> {
  const stateHash = await sha256Hex(state);
  const [row] = await db
    .update(posOAuthStates)
    .set({ usedAt: now.toISOString() })
    .where(
      and(
        eq(posOAuthStates.stateHash, stateHash),
        eq(posOAuthStates.provider, provider),
        isNull(posOAuthStates.usedAt),
        gt(posOAuthStates.expiresAt, now.toISOString()),
      ),
    )
    .returning();
  if (!row) return null;
  const tenant = await db.query.tenants.findFirst({
    where: and(eq(tenants.id, row.tenantId), isNull(tenants.deletedAt)),
    columns: { id: true },
  });
  if (!tenant) return null;
  return {
    tenantId: row.tenantId,
    provider: row.provider,
    locationId: row.locationId,
    redirectUri: row.redirectUri,
    settings: SettingsSchema.parse(row.settings),
    webhookSecret: row.webhookSecretCiphertext
      ? z
          .string()
          .parse(
            await decryptJson(key, webhookSecretContext(stateHash), row.webhookSecretCiphertext),
          )
      : null,
  };
}

/** Retention across every tenant: states an hour past their expiry go. */
export async function pruneOAuthStates(db: Db, now: Date): Promise<void> {
  await db
    .delete(posOAuthStates)
    .where(lt(posOAuthStates.expiresAt, new Date(now.getTime() - 3_600_000).toISOString()));
}
