import { getNotifier } from "./adapters/notify";
import { type Db, getDb } from "./db/client";
import {
  listUnsentNotifications,
  markNotificationsSent,
  type NotificationRow,
} from "./db/notifications";
import {
  countOutboxFailure,
  listUndeliveredOutbox,
  markOutboxDelivered,
  type OutboxRecord,
} from "./db/outbox";
import { logLine } from "./log";
import type { QueueMessage } from "./queues/messages";
import type { Effects, TenantRef } from "./services/effects";

/**
 * Delivers what flows decided (src/services/effects.ts), once, from the entry
 * point that ran them: events to the tenant's hub, notifications to the
 * notifier, messages to their queues. Nothing here throws: every effect is
 * stored (outbox rows, unsent notifications, orders left `queued` or
 * `refund_pending`), so what fails now is delivered by the cron pass.
 */

/** The tenant's hub, one Durable Object per tenant id. */
export function tenantHub(env: Env, tenantId: string) {
  return env.TENANT_HUB.get(env.TENANT_HUB.idFromName(tenantId));
}

/** Stores events in a hub's log; the hub itself passes its own, everyone else goes by RPC. */
export type Publish = (events: OutboxRecord[], tenantSlug: string) => Promise<{ stored: string[] }>;

/** Delivers one flow's effects. `publish` is the hub's own when it delivers a terminal's command. */
export async function deliver(env: Env, effects: Effects, publish?: Publish): Promise<void> {
  const { tenant } = effects;
  await Promise.all([
    tenant && effects.events.length > 0
      ? publishEvents(env, tenant, effects.events, publish)
      : undefined,
    effects.notifications.length > 0
      ? sendNotifications(env, getDb(env), [...effects.notifications], new Date())
      : undefined,
    effects.messages.length > 0 ? sendMessages(env, effects.messages) : undefined,
  ]);
}

/**
 * Publishes committed outbox rows to their tenant's hub and marks them
 * delivered. Never throws: a failure is counted on the rows and logged, and
 * the cron pass delivers them later. The hub ignores ids it already has, so
 * delivering twice is harmless.
 */
async function publishEvents(
  env: Env,
  tenant: TenantRef,
  events: readonly OutboxRecord[],
  publish: Publish = (batch, slug) => tenantHub(env, tenant.id).publish(batch, slug),
): Promise<boolean> {
  const db = getDb(env);
  const ids = events.map((e) => e.id);
  try {
    const { stored } = await publish([...events], tenant.slug);
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

/** Queue messages, one batch per queue; a lost one is sent again by the cron pass's sweeps. */
async function sendMessages(env: Env, messages: readonly QueueMessage[]): Promise<void> {
  const byQueue = [
    {
      queue: env.POS_SUBMISSIONS,
      bodies: messages.filter((m) => m.type === "pos_submit" || m.type === "pos_update"),
    },
    { queue: env.PAYMENTS, bodies: messages.filter((m) => m.type === "refund") },
  ];
  await Promise.all(
    byQueue
      .filter(({ bodies }) => bodies.length > 0)
      .map(({ queue, bodies }) =>
        queue
          .sendBatch(bodies.map((body) => ({ body, contentType: "json" as const })))
          .catch((err: unknown) => {
            console.error(
              logLine({
                level: "warn",
                msg: "enqueue failed; the cron pass will queue the orders again",
                orders: bodies.map((b) => b.orderId),
                error: err instanceof Error ? err.message : String(err),
              }),
            );
          }),
      ),
  );
}

/**
 * Hands stored notifications to the notifier and marks the ones it took.
 * One that fails stays unsent and is tried again by the cron pass.
 */
async function sendNotifications(
  env: Env,
  db: Db,
  rows: NotificationRow[],
  now: Date,
): Promise<number> {
  const notifier = getNotifier(env);
  const sent: NotificationRow[] = [];
  for (const row of rows) {
    try {
      await notifier.notify({
        audience: row.audience,
        kind: row.kind,
        tenantId: row.tenantId,
        orderId: row.orderId,
        message: row.message,
      });
      sent.push(row);
    } catch (err) {
      console.error(
        logLine({
          level: "error",
          msg: "notification not sent; the cron pass tries again",
          notificationId: row.id,
          kind: row.kind,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
    }
  }
  const byTenant = new Map<string, string[]>();
  for (const row of sent)
    byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row.id]);
  try {
    for (const [tenantId, ids] of byTenant) await markNotificationsSent(db, tenantId, ids, now);
  } catch (err) {
    // Sent but not marked: the cron pass sends it again, which a notifier must tolerate.
    console.error(
      logLine({
        level: "warn",
        msg: "sent notifications not marked",
        error: err instanceof Error ? err.message : String(err),
      }),
    );
  }
  return sent.length;
}

/** Rows younger than this are left to the request that wrote them. */
const REDELIVERY_GRACE_MS = 10_000;
const REDELIVERY_BATCH = 500;

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
    if (await publishEvents(env, { id, slug }, events)) delivered += events.length;
  }
  return delivered;
}

/**
 * Notifications left unsent for five minutes (notifier down, Worker stopped):
 * sent now. Long enough that the request which wrote one (Stripe calls
 * included) has finished handing it over.
 */
export async function resendUnsentNotifications(env: Env, db: Db, now: Date): Promise<number> {
  const due = await listUnsentNotifications(db, new Date(now.getTime() - 5 * 60_000), 100);
  return due.length > 0 ? sendNotifications(env, db, due, now) : 0;
}

/** A route's delivery: after its response, through `waitUntil`. */
export function deliverAfterResponse(
  c: { env: Env; executionCtx: { waitUntil(promise: Promise<unknown>): void } },
  effects: Effects,
): void {
  c.executionCtx.waitUntil(deliver(c.env, effects));
}
