import { reraiseOpenAlerts } from "./db/alerts";
import { getDb } from "./db/client";
import { pruneIdempotencyKeys } from "./db/idempotency";
import { pruneOAuthStates } from "./db/pos-oauth-states";
import { findTenantById } from "./db/tenants";
import { pruneTerminalTickets } from "./db/terminal-tickets";
import { deliver, redeliverPendingEvents, resendUnsentNotifications } from "./delivery";
import { type Effects, effectsOf, NO_EFFECTS } from "./services/effects";
import { refreshDueSessions } from "./services/pos-oauth";
import { pollOrdersInFlight, probeDownPos } from "./services/pos-polling";
import { requeueStuckSubmissions } from "./services/pos-sync";
import { requeuePendingPushes } from "./services/pos-updates";
import { releaseExpiringAuthorisations, requeueStaleRefunds } from "./services/sweeps";

/** An unacknowledged critical alert is raised again this often. */
const REALERT_EVERY_MS = 5 * 60_000;

/**
 * The cron pass: work that must not depend on traffic. It is the one caller
 * that delivers what its sweeps decided.
 */
export async function runScheduled(env: Env, now: Date): Promise<void> {
  const db = getDb(env);
  // Critical alerts (a failed sync, a failed refund, money taken twice…) stay loud until acknowledged.
  const reraised = await reraiseOpenAlerts(
    db,
    "critical",
    new Date(now.getTime() - REALERT_EVERY_MS),
    now,
  );
  const decided: Effects[] = [];
  for (const event of reraised) {
    const tenant = await findTenantById(db, event.tenantId);
    if (tenant) decided.push(effectsOf(tenant, { events: [event] }));
  }
  const released = await releaseExpiringAuthorisations(env, now);
  // Every tenth minute: a refund pending at the card network can take days.
  const refundsRequeued = now.getUTCMinutes() % 10 === 0 ? await requeueStaleRefunds(env, now) : [];
  const stuck = await requeueStuckSubmissions(db, now);
  const pushes = await requeuePendingPushes(db, now);
  // POS sessions from OAuth grants, renewed before they expire.
  const renewals = await refreshDueSessions(env, db, now);
  // Orders in the kitchen no webhook has spoken of lately: the POS is asked.
  const polled = await pollOrdersInFlight(env, db, now);
  // A POS taken to be down is asked whether it answers again.
  const probed = await probeDownPos(env, db, now);
  decided.push(...polled, ...probed, ...released, ...refundsRequeued, ...renewals, {
    ...NO_EFFECTS,
    messages: [...stuck, ...pushes],
  });
  for (const effects of decided) await deliver(env, effects);
  const [redelivered, pruned, , , notified] = await Promise.all([
    redeliverPendingEvents(env, db, now),
    pruneIdempotencyKeys(db, now),
    pruneTerminalTickets(db, now),
    pruneOAuthStates(db, now),
    resendUnsentNotifications(env, db, now),
  ]);
  const requeued = stuck.length + pushes.length;
  if (
    reraised.length > 0 ||
    redelivered > 0 ||
    requeued > 0 ||
    pruned > 0 ||
    released.length > 0 ||
    notified > 0 ||
    refundsRequeued.length > 0
  ) {
    console.log(
      JSON.stringify({
        level: "info",
        msg: "cron pass",
        reraised: reraised.length,
        redelivered,
        requeued,
        pruned,
        released: released.length,
        notified,
        refundsRequeued: refundsRequeued.length,
      }),
    );
  }
}
