import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { newId } from "../crypto";
import { PLATFORM_MAX_AMOUNT } from "../domain/pricing";
import { type ApiKey, apiKeyInsert, generateApiKey } from "./api-keys";
import type { Db } from "./client";
import {
  type AccessRevoked,
  guardedOutboxInsert,
  newOutboxRecord,
  type OutboxRecord,
} from "./outbox";
import { apiKeys, posIntegrations, tenants, terminalTickets } from "./schema";

export type Tenant = typeof tenants.$inferSelect;

export interface NewTenant {
  slug: string;
  name: string;
  currency: string;
  timezone: string;
  taxRateBps: number;
  maxAmount?: number | undefined;
}

/** The live tenant with this slug: a deleted one is unknown to every route. */
/** The live tenant with this slug, as a list of at most one row (so it batches). */
export function tenantBySlugQuery(db: Db, slug: string) {
  return db.query.tenants.findMany({
    where: and(eq(tenants.slug, slug), isNull(tenants.deletedAt)),
    limit: 1,
  });
}

export async function findTenantBySlug(db: Db, slug: string): Promise<Tenant | undefined> {
  const [tenant] = await tenantBySlugQuery(db, slug);
  if (tenant) rememberTenantId(tenant);
  return tenant;
}

/**
 * A live key by the hash of its clear text (`sha256Hex`) and the tenant its
 * route names by slug, in one D1 round trip: what every tenant route checks
 * before it runs.
 */
export async function findActiveApiKeyAndTenant(
  db: Db,
  hash: string,
  slug: string,
): Promise<{ key: ApiKey | undefined; tenant: Tenant | undefined }> {
  // Lists of at most one row: drizzle's findFirst cannot map a missing row inside a batch.
  const [keys, found] = await db.batch([
    db.query.apiKeys.findMany({
      where: and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)),
      limit: 1,
    }),
    tenantBySlugQuery(db, slug),
  ]);
  if (found[0]) rememberTenantId(found[0]);
  return { key: keys[0], tenant: found[0] };
}

/**
 * Slug → id for the tenants this isolate has served. Safe to keep: a slug is
 * taken for good once used, even after its tenant is deleted (platform
 * routes), so a slug never names another tenant. Whoever uses an id from
 * here still reads the tenant row (by id, live only) in its own batch.
 */
const tenantIds = new Map<string, string>();
const MAX_REMEMBERED_SLUGS = 10_000;

function rememberTenantId(tenant: Pick<Tenant, "id" | "slug">): void {
  if (tenantIds.size >= MAX_REMEMBERED_SLUGS) tenantIds.clear();
  tenantIds.set(tenant.slug, tenant.id);
}

/** The id of the tenant with this slug, when this isolate has read it before. */
export function rememberedTenantId(slug: string): string | undefined {
  return tenantIds.get(slug);
}

/** The live tenant with this id, as a list of at most one row (so it batches). */
export function tenantByIdQuery(db: Db, id: string) {
  return db.query.tenants.findMany({
    where: and(eq(tenants.id, id), isNull(tenants.deletedAt)),
    limit: 1,
  });
}

/**
 * Creates the tenant and its first owner key in one batch; the clear key is
 * returned here and nowhere else.
 */
export async function createTenant(
  db: Db,
  input: NewTenant,
  now: Date,
): Promise<{ tenant: Tenant; ownerKey: string }> {
  const at = now.toISOString();
  const tenant: Tenant = {
    id: newId("ten"),
    ...input,
    maxAmount: input.maxAmount ?? DEFAULT_MAX_AMOUNT,
    deletedAt: null,
    allowedOrigins: [],
    consoleOrigins: [],
    nextOrderNumber: 1001,
    createdAt: at,
    updatedAt: at,
  };
  const key = await generateApiKey();
  await db.batch([
    db.insert(tenants).values(tenant),
    apiKeyInsert(db, { tenantId: tenant.id, role: "owner", label: "initial owner key" }, key, at),
  ]);
  return { tenant, ownerKey: key.clear };
}

/** The money ceiling a tenant gets unless the platform sets a lower one: 1 000 000.00. */
export const DEFAULT_MAX_AMOUNT = PLATFORM_MAX_AMOUNT;

/**
 * The tenant's next order number, for a batch: the increment goes first in
 * the order's own batch and the order's row reads the number back with
 * `takenOrderNumber`, so a rejected order takes no number and concurrent
 * orders never share one (D1 runs a batch as one transaction).
 */
export function orderNumberIncrement(db: Db, tenantId: string) {
  return db
    .update(tenants)
    .set({ nextOrderNumber: sql`${tenants.nextOrderNumber} + 1` })
    .where(eq(tenants.id, tenantId));
}

/** The number `orderNumberIncrement` just took, as an SQL value later in the same batch. */
export function takenOrderNumber(tenantId: string): SQL<number> {
  return sql<number>`(SELECT ${tenants.nextOrderNumber} - 1 FROM ${tenants} WHERE ${tenants.id} = ${tenantId})`;
}

/**
 * Deletes a tenant for good, in one batch: the tenant is marked deleted (its
 * slug stays taken, its orders stay for the books), every key and unused
 * ticket is revoked, the POS stops syncing, and an `access_revoked` event has
 * its hub close every socket. Returns that event, or null when the tenant was
 * already deleted.
 */
export async function deleteTenant(
  db: Db,
  tenantId: string,
  now: Date,
): Promise<OutboxRecord | null> {
  const at = now.toISOString();
  const payload: AccessRevoked = { reason: "tenant_deleted" };
  const event = newOutboxRecord(tenantId, { type: "access_revoked", payload }, now);
  const [rows] = await db.batch([
    db
      .update(tenants)
      .set({ deletedAt: at, updatedAt: at })
      .where(and(eq(tenants.id, tenantId), isNull(tenants.deletedAt)))
      .returning({ id: tenants.id }),
    db
      .update(apiKeys)
      .set({ revokedAt: at })
      .where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt))),
    db
      .update(terminalTickets)
      .set({ usedAt: at })
      .where(and(eq(terminalTickets.tenantId, tenantId), isNull(terminalTickets.usedAt))),
    db
      .update(posIntegrations)
      .set({
        status: "disconnected",
        sessionCiphertext: null,
        sessionRefreshAt: null,
        disconnectedAt: at,
        updatedAt: at,
      })
      .where(and(eq(posIntegrations.tenantId, tenantId), eq(posIntegrations.status, "connected"))),
    guardedOutboxInsert(
      db,
      event,
      sql`EXISTS (SELECT 1 FROM ${tenants} WHERE ${tenants.id} = ${tenantId} AND ${tenants.deletedAt} = ${at})`,
    ),
  ]);
  return rows.length === 1 ? event : null;
}

/** Sets a live tenant's limits; the tenant as changed, or undefined when it is gone. */
export async function updateTenantLimits(
  db: Db,
  tenantId: string,
  limits: { maxAmount: number },
  now: Date,
): Promise<Tenant | undefined> {
  const [row] = await db
    .update(tenants)
    .set({ maxAmount: limits.maxAmount, updatedAt: now.toISOString() })
    .where(and(eq(tenants.id, tenantId), isNull(tenants.deletedAt)))
    .returning();
  return row;
}

/** What an owner sets about the tenant's web clients (CORS origins). */
export interface TenantSettings {
  allowedOrigins: string[];
  consoleOrigins: string[];
}

/** Applies an owner's settings change to a live tenant; the tenant as changed, or undefined. */
export async function updateTenantSettings(
  db: Db,
  tenantId: string,
  patch: Partial<TenantSettings>,
  now: Date,
): Promise<Tenant | undefined> {
  const [row] = await db
    .update(tenants)
    .set({ ...patch, updatedAt: now.toISOString() })
    .where(and(eq(tenants.id, tenantId), isNull(tenants.deletedAt)))
    .returning();
  return row;
}

/** The tenant by id, deleted or not: work already under way for it (refunds, retries) goes on. */
export async function findTenantById(db: Db, id: string): Promise<Tenant | undefined> {
  return db.query.tenants.findFirst({ where: eq(tenants.id, id) });
}
