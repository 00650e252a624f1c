import { eq, sql } from "drizzle-orm";
import { newId } from "../crypto";
import { apiKeyInsert, generateApiKey } from "./api-keys";
import type { Db } from "./client";
import { tenants } from "./schema";

export type Tenant = typeof tenants.$inferSelect;

export interface NewTenant {
  slug: string;
  name: string;
  currency: string;
  timezone: string;
  taxRateBps: number;
}

export async function findTenantBySlug(db: Db, slug: string): Promise<Tenant | undefined> {
  return db.query.tenants.findFirst({ where: eq(tenants.slug, slug) });
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

/**
 * Reserves the tenant's next order number with one atomic increment, so
 * concurrent orders never share a number (a failed order leaves a gap).
 */
export async function reserveOrderNumber(db: Db, tenantId: string): Promise<number> {
  const [row] = await db
    .update(tenants)
    .set({ nextOrderNumber: sql`${tenants.nextOrderNumber} + 1` })
    .where(eq(tenants.id, tenantId))
    .returning({ next: tenants.nextOrderNumber });
  if (!row) throw new Error(`tenant ${tenantId} vanished while reserving an order number`);
  return row.next - 1;
}

export async function findTenantById(db: Db, id: string): Promise<Tenant | undefined> {
  return db.query.tenants.findFirst({ where: eq(tenants.id, id) });
}
