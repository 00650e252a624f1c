import { buildAlert, guardedAlertInsert } from "../db/alerts";
import type { Db } from "../db/client";
import { listRetryingOrders, type OrderWithItems } from "../db/orders";
import { guardedOutboxInsert } from "../db/outbox";
import {
  countUnanswered,
  markPosDown,
  markPosUp,
  type PosIntegrationRow,
} from "../db/pos-integrations";
import type { Tenant } from "../db/tenants";
import { ApiError } from "../http/errors";
import type { PosSubmitMessage } from "../queues/messages";
import { type Effects, effectsOf, NO_EFFECTS } from "./effects";
import { orderUpdatedEvent, withFreshOrder } from "./order-change";

// A POS that stops answering: after three submission attempts in a row (across orders) it did
// not answer, the first of them at least POS_DOWN_AFTER_SECONDS ago (two minutes by default, so
// a burst of faults, or scattered ones among answers, never count), it is taken to be down. New paid orders then go to the terminals as manual-entry
// tickets (`posStatus: manual`, services/confirmation.ts) instead of waiting in the queue; the
// cron pass probes it with backoff (services/pos-polling.ts), and the first answer (a probe or a
// submission still retrying) brings automatic submission back for new orders. Staff hear of
// both changes by alert, in the batch that makes the change.

/** Attempts in a row the POS did not answer before it is taken to be down. */
export const DOWN_AFTER_UNANSWERED = 3;

/** When to probe a down POS after `failures` unanswered probes: 1, 2, 4, 8, then every 15 minutes. */
export function nextProbeAt(now: Date, failures: number): Date {
  const minutes = Math.min(15, 2 ** Math.max(0, failures));
  return new Date(now.getTime() + minutes * 60_000);
}

/** Whether a newly paid order goes to the POS (`queued`), to staff by hand (`manual`), or nowhere. */
export function posPathFor(
  integration: Pick<PosIntegrationRow, "status" | "autoSync" | "downSince"> | undefined,
): "queued" | "manual" | "not_required" {
  if (integration?.status !== "connected" || !integration.autoSync) return "not_required";
  return integration.downSince ? "manual" : "queued";
}

/**
 * An attempt the POS did not answer: counted; at the third in a row, with the first of them
 * `silenceMs` ago or more, the POS is down. Answers whether it is down now.
 */
export async function noteUnanswered(
  db: Db,
  tenant: Tenant,
  silenceMs: number,
  now: Date,
): Promise<{ down: boolean; effects: Effects }> {
  const { streak, down, unansweredSince } = await countUnanswered(db, tenant.id, now);
  if (down) return { down: true, effects: NO_EFFECTS };
  const silentFor = now.getTime() - Date.parse(unansweredSince);
  if (streak < DOWN_AFTER_UNANSWERED || !(silentFor >= silenceMs)) {
    return { down: false, effects: NO_EFFECTS };
  }
  const alert = buildAlert(
    db,
    {
      tenantId: tenant.id,
      kind: "pos_down",
      level: "warning",
      orderId: null,
      message:
        "The POS is not answering. New paid orders now come to the terminals to be entered in the POS by hand; Orderlane keeps trying the POS and says when it answers again.",
    },
    now,
  );
  const marked = await markPosDown(db, tenant.id, nextProbeAt(now, 0), now, (won) => [
    guardedAlertInsert(db, alert.row, won),
    guardedOutboxInsert(db, alert.event, won),
  ]);
  // Another attempt may have marked it a moment before: down either way.
  return {
    down: true,
    effects: marked ? effectsOf(tenant, { events: [alert.event] }) : NO_EFFECTS,
  };
}

/** The POS answered (a submission or a probe): if it was down, it is up again, and staff told. */
export async function noteAnswered(
  db: Db,
  tenant: Tenant,
  integration: Pick<PosIntegrationRow, "downSince">,
  now: Date,
): Promise<Effects> {
  if (!integration.downSince) return NO_EFFECTS;
  const alert = buildAlert(
    db,
    {
      tenantId: tenant.id,
      kind: "pos_recovered",
      level: "info",
      orderId: null,
      message:
        "The POS answers again: new paid orders go to it automatically. Orders taken while it was down stay manual: mark each one entered in the POS once it is.",
    },
    now,
  );
  const marked = await markPosUp(db, tenant.id, now, (won) => [
    guardedAlertInsert(db, alert.row, won),
    guardedOutboxInsert(db, alert.event, won),
  ]);
  if (!marked) return NO_EFFECTS;
  // The orders that waited for it (tried every 5 minutes while it was down) go now; a claim makes
  // their delayed messages, when they come, harmless.
  const waiting = await listRetryingOrders(db, tenant.id, REQUEUED_ON_RECOVERY);
  const messages: PosSubmitMessage[] = waiting.map((o) => ({
    type: "pos_submit",
    tenantId: tenant.id,
    orderId: o.id,
  }));
  return effectsOf(tenant, { events: [alert.event], messages });
}

/** Orders sent again at once when the POS answers again; the cron pass's safety net takes the rest. */
const REQUEUED_ON_RECOVERY = 100;

/**
 * Staff typed a manual-entry order into the POS by hand: recorded once, with who did it, and
 * told to terminals. Only a `manual` order can be (409 otherwise, and when already recorded):
 * such an order is never submitted automatically, so it reaches the POS exactly once.
 */
export async function markEnteredInPos(
  db: Db,
  tenant: Tenant,
  orderId: string,
  by: { keyId: string; source: "staff" | "terminal" },
  now: Date,
): Promise<{ order: OrderWithItems; effects: Effects }> {
  const result = await withFreshOrder(
    db,
    tenant,
    orderId,
    async (order) => {
      if (order.posStatus !== "manual") {
        throw new ApiError(
          "conflict",
          `only an order taken while the POS was down is entered by hand; this one is ${order.posStatus}`,
          { posStatus: order.posStatus },
        );
      }
      if (order.posEnteredAt) {
        throw new ApiError("conflict", "this order was already marked entered in the POS", {
          posEnteredAt: order.posEnteredAt,
        });
      }
      return {
        patch: { posEnteredAt: now.toISOString(), posEnteredBy: by.keyId },
        source: by.source,
        event: orderUpdatedEvent(tenant, order, "pos"),
      };
    },
    now,
  );
  return { order: result.order, effects: effectsOf(tenant, { events: result.events }) };
}
