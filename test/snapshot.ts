import { env } from "cloudflare:workers";
import { until } from "./wait";

/**
 * Every row of every D1 table, in a stable order, so a test can assert that a
 * request changed nothing at all (not just that the row counts held).
 */
export async function snapshotTables(): Promise<Record<string, unknown[]>> {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' ORDER BY name",
  ).all<{ name: string }>();
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    const { results } = await env.DB.prepare(`SELECT * FROM "${name}"`).all<
      Record<string, unknown>
    >();
    out[name] = results
      .map((row) => JSON.stringify(row))
      .sort()
      .map((text) => JSON.parse(text) as unknown);
  }
  return out;
}

/** The rows of `tenantId` in every table that has a `tenant_id` column (and `tenants` itself). */
export async function snapshotTenant(tenantId: string): Promise<Record<string, unknown[]>> {
  const all = await snapshotTables();
  const out: Record<string, unknown[]> = {};
  for (const [table, rows] of Object.entries(all)) {
    out[table] = rows.filter((row) => {
      const r = row as Record<string, unknown>;
      return table === "tenants" ? r.id === tenantId : r.tenant_id === tenantId;
    });
  }
  return out;
}

/**
 * Waits until every outbox row (of `tenantId`, or of all tenants) is delivered: a request that
 * committed events publishes them in the background (waitUntil) and then marks them delivered,
 * which would otherwise land between a test's "before" and "after".
 */
export async function untilOutboxDelivered(tenantId?: string): Promise<void> {
  const query = tenantId
    ? env.DB.prepare(
        "SELECT count(*) AS n FROM outbox_events WHERE tenant_id = ? AND delivered_at IS NULL",
      ).bind(tenantId)
    : env.DB.prepare("SELECT count(*) AS n FROM outbox_events WHERE delivered_at IS NULL");
  await until(
    async () => (await query.first<{ n: number }>())?.n,
    (n) => n === 0,
    10_000,
    tenantId ? `the outbox of ${tenantId} to be delivered` : "every outbox event to be delivered",
  );
}

/** snapshotTables once the outbox is delivered, so only what comes next can change it. */
export async function settledSnapshot(): Promise<Record<string, unknown[]>> {
  await untilOutboxDelivered();
  return snapshotTables();
}
