import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { newId } from "../crypto";
import { PLATFORM_MAX_AMOUNT } from "../domain/pricing";
import { apiKeyInsert, generateApiKey } from "./api-keys";
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
export async function findTenantBySlug(db: Db, slug: string): Promise<Tenant | undefined> {
  return db.query.tenants.findFirst({
    where: and(eq(tenants.slug, slug), isNull(tenants.deletedAt)),
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
      .set({ status: "disconnected", sessionCiphertext: null, disconnectedAt: at, updatedAt: at })
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
