import { type Db, getDb } from "../db/client";
import {
  countOutboxFailure,
  listUndeliveredOutbox,
  markOutboxDelivered,
  type OutboxRecord,
} from "../db/outbox";
import { logLine } from "../log";

export type { OutboxRecord } from "../db/outbox";
export { markOutboxDelivered as markDelivered } from "../db/outbox";

/** Rows younger than this are left to the request that wrote them. */
const REDELIVERY_GRACE_MS = 10_000;
const REDELIVERY_BATCH = 500;

/** The tenant's hub, one Durable Object per tenant id. */
export function tenantHub(env: Env, tenantId: string) {
  return env.TENANT_HUB.get(env.TENANT_HUB.idFromName(tenantId));
}

/**
 * Publishes committed outbox rows to their tenant's hub and marks them
 * delivered. Never throws: a failure is counted on the rows and logged, and
 * the cron pass delivers them later. The hub ignores ids it already has, so
 * delivering twice is harmless.
 */
export async function deliverEvents(
  env: Env,
  tenant: { id: string; slug: string },
  events: readonly OutboxRecord[],
): Promise<boolean> {
  if (events.length === 0) return true;
  const db = getDb(env);
  const ids = events.map((e) => e.id);
  try {
    const { stored } = await tenantHub(env, tenant.id).publish([...events], tenant.slug);
    await markOutboxDelivered(db, tenant.id, stored, new Date());
    return true;
  } catch (err) {
    console.error(
      logLine({
        level: "warn",
        msg: "outbox publish failed; the cron pass will retry",
        tenantId: tenant.id,
        events: ids,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    await countOutboxFailure(db, tenant.id, ids).catch(() => undefined);
    return false;
  }
}

/** The cron pass: re-publishes rows left undelivered, per tenant, oldest first. */
export async function redeliverPendingEvents(env: Env, db: Db, now: Date): Promise<number> {
  const rows = await listUndeliveredOutbox(
    db,
    new Date(now.getTime() - REDELIVERY_GRACE_MS),
    REDELIVERY_BATCH,
  );
  const byTenant = new Map<string, { slug: string; events: OutboxRecord[] }>();
  for (const { tenantSlug, ...event } of rows) {
    const group = byTenant.get(event.tenantId) ?? { slug: tenantSlug, events: [] };
    group.events.push(event);
    byTenant.set(event.tenantId, group);
  }
  let delivered = 0;
  for (const [id, { slug, events }] of byTenant) {
    if (await deliverEvents(env, { id, slug }, events)) delivered += events.length;
  }
  return delivered;
}
