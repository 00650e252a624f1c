import { raiseAlert } from "../db/alerts";
import { getDb } from "../db/client";
import {
  listCancelledUnrefunded,
  listExpiringAuthorisations,
  listStaleRefunds,
} from "../db/orders";
import { findTenantById } from "../db/tenants";
import { combine, type Effects, effectsOf } from "./effects";
import { refundMessage, startRefund } from "./refunds";

/**
 * Payment sweeps of the cron pass: authorisations about to expire, refunds left unsettled.
 */

/** Stripe keeps an online card authorisation for 7 days; release it well before. */
const AUTHORISATION_LIMIT_MS = 6 * 24 * 60 * 60 * 1000;

/**
 * The cron pass: authorisations still uncaptured near their expiry (the POS
 * never answered) are released and staff alerted. Returns each order's effects.
 */
export async function releaseExpiringAuthorisations(env: Env, now: Date): Promise<Effects[]> {
  const db = getDb(env);
  const due = await listExpiringAuthorisations(
    db,
    new Date(now.getTime() - AUTHORISATION_LIMIT_MS).toISOString(),
  );
  const decided: Effects[] = [];
  for (const order of due) {
    const tenant = await findTenantById(db, order.tenantId);
    if (!tenant) continue;
    const alert = await raiseAlert(
      db,
      {
        tenantId: tenant.id,
        kind: "authorization_expiring",
        level: "warning",
        orderId: order.id,
        message: `Order #${order.number}: the POS never accepted it and its card authorisation is about to expire; it has been released.`,
      },
      now,
    );
    const refund = await startRefund(env, tenant, order.id, now, { cancelNow: true });
    decided.push(combine(effectsOf(tenant, { events: alert }), refund.effects));
  }
  return decided;
}

/** A refund unsettled this long is looked at again (Stripe may have finished it, or lost our message). */
const STALE_REFUND_MS = 10 * 60_000;

/**
 * The cron pass for refunds: a `refund_pending` order whose message was lost
 * (the enqueue failed after its batch) or whose refund is still pending at
 * Stripe goes on the `payments` queue again. Refunding is idempotent, so a
 * second message for a live one changes nothing. Returns what to deliver.
 */
export async function requeueStaleRefunds(env: Env, now: Date): Promise<Effects[]> {
  const db = getDb(env);
  const before = new Date(now.getTime() - STALE_REFUND_MS).toISOString();
  const stale = await listStaleRefunds(db, before);
  const decided: Effects[] = stale.map((order) => ({
    tenant: null,
    events: [],
    notifications: [],
    messages: [refundMessage(order.tenantId, order.id)],
  }));
  // Cancelled and still paid by card: the refund's start was lost after the cancel committed.
  const unrefunded = await listCancelledUnrefunded(db, before);
  for (const row of unrefunded) {
    const tenant = await findTenantById(db, row.tenantId);
    if (tenant) decided.push((await startRefund(env, tenant, row.id, now)).effects);
  }
  return decided;
}
