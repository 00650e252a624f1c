import type { PosProvider, PosStatusReport } from "../adapters/pos/types";
import { type Db, isConstraintError } from "../db/client";
import { findOrder, findOrderByExternalId } from "../db/orders";
import type { Tenant } from "../db/tenants";
import {
  guardedWebhookEventInsert,
  webhookEventInsert,
  webhookEventSeen,
} from "../db/webhook-events";
import { ApiError } from "../http/errors";
import { combine, type Effects, NO_EFFECTS } from "./effects";
import { changeOrderStatus } from "./orders";
import { startRefund } from "./refunds";

/**
 * The POS's own status reports (its webhooks, verified by the route): the
 * kitchen moved an order, or cancelled it.
 */

/**
 * Applies one status report through the state machine (forward only; late
 * reports are ignored), recording its event id in the same batch so a replay
 * is a no-op. An unknown order is acknowledged and ignored. A paid order the
 * restaurant cancelled in its POS is refunded.
 */
export async function applyPosReport(
  env: Env,
  db: Db,
  tenant: Tenant,
  provider: PosProvider,
  report: PosStatusReport,
  now: Date,
  /** Who reported it: the POS's webhook, or the cron pass asking it (services/pos-polling.ts). */
  source: "pos_webhook" | "pos_poll" = "pos_webhook",
): Promise<{ applied: boolean; effects: Effects }> {
  const event = { provider, eventId: `${tenant.id}:${report.eventId}`, tenantId: tenant.id };
  const ignored = { applied: false, effects: NO_EFFECTS };
  if (await webhookEventSeen(db, event.provider, event.eventId)) return ignored;
  const order =
    (report.orderId ? await findOrder(db, tenant.id, report.orderId) : undefined) ??
    (report.posOrderId ? await findOrderByExternalId(db, tenant.id, report.posOrderId) : undefined);
  try {
    if (!order || !report.status) {
      await webhookEventInsert(db, event, now);
      return ignored;
    }
    const result = await changeOrderStatus(
      db,
      tenant,
      order.id,
      report.status,
      source,
      now,
      (won) => [guardedWebhookEventInsert(db, event, now, won)],
    );
    if (!result.changed) {
      await webhookEventInsert(db, event, now);
      return ignored;
    }
    const refund =
      result.order.status === "cancelled" && result.order.paymentStatus === "paid"
        ? (await startRefund(env, tenant, order.id, now)).effects
        : NO_EFFECTS;
    return { applied: true, effects: combine(result.effects, refund) };
  } catch (err) {
    // A concurrent delivery of the same event recorded it first.
    if (isConstraintError(err, "webhook_events")) return ignored;
    if (err instanceof ApiError && err.code === "conflict") {
      await webhookEventInsert(db, event, now).catch(() => undefined);
      return ignored;
    }
    throw err;
  }
}
