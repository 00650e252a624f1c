import { getPosAdapter } from "../adapters/pos";
import { PosError, type PosProvider } from "../adapters/pos/types";
import { readConfig } from "../config";
import type { Db } from "../db/client";
import { listOrdersToPoll, markPolled } from "../db/orders";
import { findPosIntegration, listDueProbes, probeUnanswered } from "../db/pos-integrations";
import { findTenantById } from "../db/tenants";
import { logLine } from "../log";
import type { Effects } from "./effects";
import { nextProbeAt, noteAnswered } from "./pos-outage";
import { applyPosReport } from "./pos-reports";
import { callWithOneRefresh, connectionFor } from "./pos-sync";

// Asking the POS where an order stands, for orders no webhook has spoken of lately: a vendor or
// tenant without webhooks, or a webhook that never came. The answers go through the same path as
// a webhook's (services/pos-reports.ts): forward only, late and repeated news ignored.

/** An order is asked about once it has been quiet this long, and again this often. */
const QUIET_MS = 2 * 60_000;
/** Orders older than this are no longer followed (a kitchen that never closed them out). */
const MAX_AGE_MS = 24 * 3_600_000;
/** Orders asked about in one cron pass, across tenants. */
const PER_PASS = 30;
/**
 * Orders asked about per tenant in one pass: one call each a minute is far inside every vendor's
 * limits (Toast's per-location rate limits, Square's and Clover's per-token ones).
 */
const PER_TENANT = 5;

/** The cron pass's polling: returns what to deliver. */
export async function pollOrdersInFlight(env: Env, db: Db, now: Date): Promise<Effects[]> {
  const candidates = await listOrdersToPoll(db, now, {
    quietMs: QUIET_MS,
    maxAgeMs: MAX_AGE_MS,
    perTenant: PER_TENANT,
    limit: PER_PASS,
  });
  const byTenant = new Map<string, { id: string; externalId: string }[]>();
  for (const row of candidates) {
    byTenant.set(row.tenantId, [
      ...(byTenant.get(row.tenantId) ?? []),
      { id: row.id, externalId: row.externalId },
    ]);
  }
  const decided: Effects[] = [];
  for (const [tenantId, orders] of byTenant) {
    try {
      decided.push(...(await pollTenant(env, db, tenantId, orders, now)));
    } catch (err) {
      // One tenant's failure (a row that does not decrypt, D1) does not stop the others'.
      console.error(
        logLine({ level: "error", msg: "POS status poll failed", tenantId, error: String(err) }),
      );
    }
  }
  return decided;
}

async function pollTenant(
  env: Env,
  db: Db,
  tenantId: string,
  orders: { id: string; externalId: string }[],
  now: Date,
): Promise<Effects[]> {
  const [tenant, integration] = await Promise.all([
    findTenantById(db, tenantId),
    findPosIntegration(db, tenantId),
  ]);
  if (!tenant || integration?.status !== "connected" || orders.length === 0) return [];
  // Marked first: an order whose POS does not answer is asked again after the quiet time, not
  // every minute.
  await markPolled(
    db,
    tenantId,
    orders.map((o) => o.id),
    now,
  );
  const provider = integration.provider as PosProvider;
  const adapter = getPosAdapter(provider);
  const connection = await connectionFor(env, integration);
  const options = { timeoutMs: readConfig(env).posTimeoutMs, now: () => now };
  const decided: Effects[] = [];
  for (const order of orders) {
    try {
      const answer = await callWithOneRefresh(
        env,
        db,
        tenantId,
        adapter,
        connection,
        options,
        (c) => adapter.getOrderStatus(c, order.externalId, options),
      );
      const result = await applyPosReport(
        env,
        db,
        tenant,
        provider,
        {
          // The same answer twice is one report.
          eventId: `poll:${order.id}:${answer.vendorStatus}`,
          posOrderId: order.externalId,
          orderId: order.id,
          vendorStatus: answer.vendorStatus,
          // A poll never cancels: an order the POS no longer knows may be another location's
          // after a reconnect (Clover answers 404), and a cancel here refunds. The POS's own
          // webhook, or staff, cancel; a poll only moves the kitchen's progress forward.
          status: answer.status === "cancelled" ? null : answer.status,
          occurredAt: null,
        },
        now,
        "pos_poll",
      );
      decided.push(result.effects);
    } catch (err) {
      if (!(err instanceof PosError)) throw err;
      console.warn(
        logLine({
          level: "warn",
          msg: "POS status poll failed",
          tenantId,
          orderId: order.id,
          code: err.code,
          kind: err.kind,
        }),
      );
      // A POS that does not answer, or refuses the session, is not asked again this pass (the
      // submission path counts its silence and alerts on a refusal).
      break;
    }
  }
  return decided;
}

/** Down POS connections probed in one cron pass. */
const PROBES_PER_PASS = 20;

/**
 * The cron pass's probe of each down POS whose time has come (services/pos-outage.ts): the
 * vendor's connection check (Square RetrieveLocation, Toast restaurant info, Clover merchant).
 * An answer brings automatic submission back; none sets the next probe further out.
 */
export async function probeDownPos(env: Env, db: Db, now: Date): Promise<Effects[]> {
  const due = await listDueProbes(db, now, PROBES_PER_PASS);
  const decided: Effects[] = [];
  for (const integration of due) {
    const tenant = await findTenantById(db, integration.tenantId);
    if (!tenant) continue;
    const provider = integration.provider as PosProvider;
    const adapter = getPosAdapter(provider);
    const options = { timeoutMs: readConfig(env).posTimeoutMs, now: () => now };
    try {
      await callWithOneRefresh(
        env,
        db,
        tenant.id,
        adapter,
        await connectionFor(env, integration),
        options,
        (c) => adapter.checkConnection(c, options),
      );
      decided.push(await noteAnswered(db, tenant, integration, now));
    } catch (err) {
      if (!(err instanceof PosError)) {
        console.error(
          logLine({
            level: "error",
            msg: "POS probe failed",
            tenantId: tenant.id,
            error: String(err),
          }),
        );
      }
      await probeUnanswered(db, tenant.id, nextProbeAt(now, integration.probeFailures + 1), now);
    }
  }
  return decided;
}
