import { getPosAdapter } from "../adapters/pos";
import {
  type CreatedPosOrder,
  type PosAdapter,
  type PosConnection,
  PosError,
  type PosProvider,
  type PosSession,
} from "../adapters/pos/types";
import { posBaseUrlOf, readConfig } from "../config";
import { randomToken } from "../crypto";
import {
  buildAlert,
  closeOrderAlerts,
  guardedAlertInsert,
  type NewAlert,
  raiseAlert,
} from "../db/alerts";
import { type Db, getDb } from "../db/client";
import { toPosMapping } from "../db/menu";
import { guardedNotificationInsert, newNotification } from "../db/notifications";
import { findSubmissionContext } from "../db/order-context";
import {
  applyOrderChange,
  claimOrderForSubmission,
  findOrder,
  listStuckSubmissions,
  type OrderChange,
  type OrderWithItems,
} from "../db/orders";
import type { OutboxRecord } from "../db/outbox";
import {
  findPosIntegration,
  integrationFailed,
  integrationSucceeded,
  newerSession,
  openCredentials,
  openSession,
  type PosIntegrationRow,
  saveSession,
} from "../db/pos-integrations";
import { guardedSyncAttemptInsert, newSyncAttempt, type SyncAttemptRow } from "../db/sync-attempts";
import type { Tenant } from "../db/tenants";
import { toPosOrder } from "../domain/pos-mapping";
import { DEFAULT_RETRY_POLICY, decideRetry } from "../domain/retry-policy";
import { logLine } from "../log";
import type { PosSubmitMessage } from "../queues/messages";
import { captureIfAuthorised } from "./capture";
import { combine, type Effects, effectsOf, NO_EFFECTS } from "./effects";
import { dimensionChange, withFreshOrder } from "./order-change";
import { noteAnswered, noteUnanswered } from "./pos-outage";
import { startRefund } from "./refunds";

/** What the consumer does with the message. */
export type SubmissionOutcome =
  | { kind: "done"; result: "synced" | "failed" | "skipped" }
  | { kind: "retry"; delaySeconds: number };

/** A claim outlives the slowest vendor call, so a crashed consumer's claim expires. */
const CLAIM_MS = 60_000;
/** While the POS is down, an order on its way is tried again this often (services/pos-outage.ts). */
const DOWN_RETRY_SECONDS = 300;
/** When another delivery holds the claim, look again after this long. */
const CLAIMED_RETRY_SECONDS = 15;

/** The order's message for the `pos-submissions` queue, sent after its batch committed. */
export function posSubmitMessage(tenantId: string, orderId: string): PosSubmitMessage {
  return { type: "pos_submit", tenantId, orderId };
}

/**
 * Hands one order to its tenant's POS, exactly once: skips orders already
 * synced or failed, claims the order with a conditional update so concurrent
 * deliveries make one call, refreshes the session once on an auth failure,
 * and records every try in `pos_sync_attempts` in the same batch as the
 * order's new POS state and its `order_updated` event. Returns what the
 * consumer does with the message and what it delivers.
 */
export async function submitOrderToPos(
  env: Env,
  message: PosSubmitMessage,
  delivery: { attempt: number; random: number; now?: () => Date },
): Promise<{ outcome: SubmissionOutcome; effects: Effects }> {
  const clock = delivery.now ?? (() => new Date());
  const db = getDb(env);
  // One read: the tenant, the order, its POS and the vendor ids of its lines.
  const { tenant, order, integration, menu } = await findSubmissionContext(
    db,
    message.tenantId,
    message.orderId,
  );
  const skipped = (effects: Effects = NO_EFFECTS) => ({
    outcome: { kind: "done" as const, result: "skipped" as const },
    effects,
  });
  if (!tenant || !order) return skipped();
  if (order.posStatus !== "queued" && order.posStatus !== "retrying") return skipped();
  if (
    order.status === "cancelled" ||
    order.paymentStatus === "refund_pending" ||
    order.paymentStatus === "refunded"
  ) {
    // Cancelled, or the customer is being refunded: the POS must not get the order now.
    const changed = await changePosState(db, tenant, order, { posStatus: "not_required" }, clock());
    return skipped(changed.effects);
  }
  if (integration?.status !== "connected") {
    // Disconnected meanwhile: the POS is no longer part of this order's path, and a payment
    // held for its acceptance is taken now (the restaurant has the order).
    const changed = await changePosState(db, tenant, order, { posStatus: "not_required" }, clock());
    return skipped(
      combine(
        changed.effects,
        await captureIfAuthorised(env, tenant, order.id, clock(), changed.order),
      ),
    );
  }

  const claimed = await claimOrder(db, order, clock());
  if (!claimed) {
    const fresh = await findOrder(db, tenant.id, order.id);
    if (!fresh || (fresh.posStatus !== "queued" && fresh.posStatus !== "retrying")) {
      return skipped();
    }
    return {
      outcome: { kind: "retry", delaySeconds: CLAIMED_RETRY_SECONDS },
      effects: NO_EFFECTS,
    };
  }

  const config = readConfig(env);
  const adapter = getPosAdapter(integration.provider as PosProvider);
  const startedAt = clock();
  let outcome: { ok: true; created: CreatedPosOrder } | { ok: false; error: PosError };
  try {
    const connection = await connectionFor(env, integration);
    const posOrder = toPosOrder(claimed, toPosMapping(menu), connection.syncCustomerInfo);
    outcome = {
      ok: true,
      created: await callWithOneRefresh(
        env,
        db,
        tenant.id,
        adapter,
        connection,
        { timeoutMs: config.posTimeoutMs, now: clock },
        (current) =>
          adapter.createOrder(current, posOrder, { timeoutMs: config.posTimeoutMs, now: clock }),
      ),
    };
  } catch (err) {
    outcome = { ok: false, error: asPosError(err) };
  }
  const durationMs = clock().getTime() - startedAt.getTime();
  const attemptRow = (
    status: SyncAttemptRow["status"],
    extra: { posOrderId?: string; errorCode?: string; errorMessage?: string } = {},
  ) =>
    newSyncAttempt({
      tenantId: tenant.id,
      orderId: order.id,
      provider: integration.provider,
      attempt: delivery.attempt,
      status,
      durationMs,
      startedAt,
      ...extra,
    });

  if (outcome.ok) {
    const attempt = attemptRow("success", { posOrderId: outcome.created.posOrderId });
    const synced = await changePosState(
      db,
      tenant,
      claimed,
      {
        posStatus: "synced",
        externalId: outcome.created.posOrderId,
        estimatedReadyAt: outcome.created.estimatedReadyAt ?? null,
        posClaim: null,
        posClaimedUntil: null,
      },
      clock(),
      (won) => [
        guardedSyncAttemptInsert(db, attempt, won),
        integrationSucceeded(db, tenant.id, clock()),
        // The POS has it now (a staff retry, or a late success): the failure alert is settled.
        closeOrderAlerts(
          db,
          { tenantId: tenant.id, orderId: order.id, kind: "pos_sync_failed" },
          clock(),
          won,
        ),
      ],
    );
    const effects = combine(
      synced.effects,
      await noteAnswered(db, tenant, integration, clock()),
      await alertIfRefundStarted(db, tenant, synced.order, clock()),
      await captureIfAuthorised(env, tenant, order.id, clock(), synced.order),
    );
    return { outcome: { kind: "done", result: "synced" }, effects };
  }

  const error = outcome.error;
  // No answer (a timeout, a 5xx, a 429): counted towards the POS being down.
  const outage =
    error.kind === "retryable"
      ? await noteUnanswered(db, tenant, config.posDownAfterMs, clock())
      : { down: false, effects: NO_EFFECTS };
  const decision = outage.down
    ? // While the POS is down an order on its way waits for it instead of using up its
      // attempts: every 5 minutes until the queue's own limit (max_retries 25, about two hours)
      // hands it to the dead-letter queue, and so to staff.
      { action: "retry" as const, delaySeconds: DOWN_RETRY_SECONDS }
    : decideRetry({
        attempt: delivery.attempt,
        kind: error.kind === "retryable" ? "retryable" : "permanent",
        retryAfterSeconds: error.details.retryAfterSeconds,
        random: delivery.random,
        policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: integration.maxAttempts },
      });
  const attempt = attemptRow(error.kind === "retryable" ? "retryable_error" : "permanent_error", {
    errorCode: error.code,
    errorMessage: describeError(error),
  });
  if (decision.action === "retry") {
    const { effects } = await changePosState(
      db,
      tenant,
      claimed,
      { posStatus: "retrying", posClaim: null, posClaimedUntil: null },
      clock(),
      (won) => [guardedSyncAttemptInsert(db, attempt, won)],
    );
    return {
      outcome: { kind: "retry", delaySeconds: decision.delaySeconds },
      effects: combine(effects, outage.effects),
    };
  }
  const effects = await handlePosFailure(env, tenant, claimed, {
    reason:
      decision.reason === "permanent"
        ? describeError(error)
        : `gave up after ${delivery.attempt} attempts: ${describeError(error)}`,
    attempt,
    now: clock(),
  });
  return {
    outcome: { kind: "done", result: "failed" },
    effects: combine(effects, outage.effects),
  };
}

/**
 * An order the POS will not take: `posStatus: failed`, an open
 * `pos_sync_failed` alert for staff (raised again until acknowledged), a
 * notification, the integration's failure streak (degraded at three in a
 * row, alerted once), then the tenant's failure policy. Used for permanent
 * errors, exhausted retries and the dead-letter queue alike; an order that
 * is already synced or failed is left alone (no effects).
 */
export async function handlePosFailure(
  env: Env,
  tenant: Tenant,
  order: OrderWithItems,
  failure: { reason: string; attempt: SyncAttemptRow | null; now: Date },
): Promise<Effects> {
  const db = getDb(env);
  const integration = await findPosIntegration(db, tenant.id);
  const alert: NewAlert = {
    tenantId: tenant.id,
    kind: "pos_sync_failed",
    level: "critical",
    orderId: order.id,
    message: `Order #${order.number} could not be sent to the POS: ${failure.reason}`,
  };
  const built = buildAlert(db, alert, failure.now);
  const autoRefund = integration?.failurePolicy === "auto_refund";
  const notificationRows = [
    newNotification(
      {
        tenantId: tenant.id,
        audience: "staff",
        kind: "pos_sync_failed",
        orderId: order.id,
        message: alert.message,
      },
      failure.now,
    ),
    // The saga's compensation: the refund follows on the payments queue.
    ...(autoRefund
      ? [
          newNotification(
            {
              tenantId: tenant.id,
              audience: "staff",
              kind: "auto_refund_requested",
              orderId: order.id,
              message: `Order #${order.number}: the tenant's policy asks for a refund`,
            },
            failure.now,
          ),
        ]
      : []),
  ];
  const result = await withFreshOrder(
    db,
    tenant,
    order.id,
    async (current) =>
      current.posStatus === "synced" ||
      current.posStatus === "failed" ||
      current.posStatus === "not_required"
        ? "unchanged"
        : posChange(
            tenant,
            current,
            { posStatus: "failed", posClaim: null, posClaimedUntil: null },
            (won) => [
              guardedAlertInsert(db, built.row, won),
              ...notificationRows.map((row) => guardedNotificationInsert(db, row, won)),
              ...(failure.attempt ? [guardedSyncAttemptInsert(db, failure.attempt, won)] : []),
            ],
            [built.event],
          ),
    failure.now,
    order,
  );
  if (!result.changed) return NO_EFFECTS;
  const events = [...result.events];
  if (await integrationFailed(db, tenant.id, failure.now)) {
    events.push(...(await raiseIntegrationDegraded(db, tenant, failure.now)));
  }
  const failed = effectsOf(tenant, { events, notifications: notificationRows });
  // An authorisation waiting for the POS is always released; a captured
  // payment is refunded only when the tenant's policy says so.
  const onlyAuthorised = order.paymentCaptureMethod === "manual" && !order.paymentCapturedAt;
  if (!autoRefund && !onlyAuthorised) return failed;
  return combine(failed, (await startRefund(env, tenant, order.id, failure.now)).effects);
}

/**
 * Staff's manual retry: only from `failed` (else 409), back to `queued`
 * with a new message, so the retry budget starts afresh. Null when the
 * order changed meanwhile.
 */
export async function retryPosSubmission(
  db: Db,
  tenant: Tenant,
  order: OrderWithItems,
  now: Date,
): Promise<{ order: OrderWithItems; effects: Effects } | null> {
  const applied = await applyOrderChange(
    db,
    order,
    posChange(tenant, order, { posStatus: "queued" }),
    now,
  );
  if (!applied) return null;
  return {
    order: applied.order,
    effects: effectsOf(tenant, {
      events: applied.events,
      messages: [posSubmitMessage(tenant.id, order.id)],
    }),
  };
}

/**
 * The cron pass's safety net: orders left `queued` (their message lost, or
 * never sent because the enqueue failed) or `retrying` far past any backoff
 * are queued again. Claims and the skip of synced orders make a duplicate
 * message harmless. Returns the messages to send.
 */
export async function requeueStuckSubmissions(db: Db, now: Date): Promise<PosSubmitMessage[]> {
  const stuck = await listStuckSubmissions(db, now);
  return stuck.map((row) => posSubmitMessage(row.tenantId, row.id));
}

/** Raises the one-time `integration_degraded` alert. */
async function raiseIntegrationDegraded(
  db: Db,
  tenant: Tenant,
  now: Date,
): Promise<OutboxRecord[]> {
  return raiseAlert(
    db,
    {
      tenantId: tenant.id,
      kind: "integration_degraded",
      level: "warning",
      orderId: null,
      message: "Three orders in a row could not be sent to the POS: check the POS connection.",
    },
    now,
  );
}

async function claimOrder(
  db: Db,
  order: OrderWithItems,
  now: Date,
): Promise<OrderWithItems | null> {
  const claim = randomToken(16);
  const until = new Date(now.getTime() + CLAIM_MS);
  const row = await claimOrderForSubmission(db, order, claim, now, until);
  if (!row) return null;
  // The claim does not change the revision; the order as read is still current.
  return {
    ...order,
    posClaim: claim,
    posClaimedUntil: until.toISOString(),
    revision: row.revision,
  };
}

function posChange(
  tenant: Tenant,
  order: OrderWithItems,
  patch: OrderChange["patch"],
  extra?: OrderChange["extra"],
  extraEvents?: OutboxRecord[],
): OrderChange {
  return dimensionChange("pos", tenant, order, patch, extra, extraEvents);
}

/** Applies a POS-state change (re-reading on a lost race); returns the order as written and its events. */
async function changePosState(
  db: Db,
  tenant: Tenant,
  order: OrderWithItems,
  patch: OrderChange["patch"],
  now: Date,
  extra?: OrderChange["extra"],
): Promise<{ order: OrderWithItems; effects: Effects }> {
  // Staff may move the order meanwhile; the POS outcome still has to be recorded.
  const result = await withFreshOrder(
    db,
    tenant,
    order.id,
    async (current) => posChange(tenant, current, patch, extra),
    now,
    order,
  );
  return { order: result.order, effects: effectsOf(tenant, { events: result.events }) };
}

/**
 * One vendor call (creating the order, or telling it of a change) with a fresh-enough session:
 * an expired session is renewed first, and an `auth` failure gets one refresh, then counts as
 * permanent.
 */
export async function callWithOneRefresh<T>(
  env: Env,
  db: Db,
  tenantId: string,
  adapter: PosAdapter,
  connection: PosConnection,
  options: { timeoutMs: number; now: () => Date },
  call: (connection: PosConnection) => Promise<T>,
): Promise<T> {
  const expiresAt = connection.session?.expiresAt;
  let current = connection;
  if (expiresAt && Date.parse(expiresAt) <= options.now().getTime()) {
    current = await refreshed(env, db, tenantId, adapter, current, options);
  }
  try {
    return await call(current);
  } catch (err) {
    if (!(err instanceof PosError) || err.kind !== "auth") throw err;
  }
  current = await refreshed(env, db, tenantId, adapter, current, options);
  try {
    return await call(current);
  } catch (err) {
    if (err instanceof PosError && err.kind === "auth") {
      throw new PosError(
        "permanent",
        err.code,
        `${err.message} after a session refresh`,
        err.details,
      );
    }
    throw err;
  }
}

/** A new session from the vendor, stored (sealed) for the next submissions. */
async function refreshed(
  env: Env,
  db: Db,
  tenantId: string,
  adapter: PosAdapter,
  connection: PosConnection,
  options: { timeoutMs: number; now: () => Date },
): Promise<PosConnection> {
  const key = readConfig(env).credentialsKey;
  let session: PosSession;
  try {
    session = await adapter.refreshSession(connection, options);
  } catch (err) {
    if (!(err instanceof PosError) || err.kind === "retryable") throw err;
    // Refresh tokens are single use (Clover): a refusal may only mean another caller renewed the
    // session first. Then its session is the one to use, and nothing was revoked.
    const newer = await newerSession(db, key, tenantId, connection.session);
    if (newer) return { ...connection, session: newer };
    throw err;
  }
  await saveSession(db, key, tenantId, session, options.now());
  return { ...connection, session };
}

/** The adapter's view of the tenant's integration, credentials and session opened. */
export async function connectionFor(
  env: Env,
  integration: PosIntegrationRow,
): Promise<PosConnection> {
  const config = readConfig(env);
  const provider = integration.provider as PosProvider;
  return {
    provider,
    locationId: integration.locationId,
    credentials: await openCredentials(config.credentialsKey, integration),
    session: await openSession(config.credentialsKey, integration),
    baseUrl: posBaseUrlOf(config, provider),
    syncCustomerInfo: integration.syncCustomerInfo,
    settings: integration.vendorSettings,
  };
}

function asPosError(err: unknown): PosError {
  if (err instanceof PosError) return err;
  console.error(
    logLine({ level: "error", msg: "unexpected POS submission error", error: String(err) }),
  );
  return new PosError("retryable", "internal_error", "unexpected error while submitting");
}

function describeError(error: PosError): string {
  const status = error.details.status ? ` (HTTP ${error.details.status})` : "";
  const vendor = error.details.vendorMessage
    ? `: ${error.details.vendorMessage.slice(0, 200)}`
    : "";
  return `${error.message}${status}${vendor}`.slice(0, 500);
}

/**
 * An order is never both in the POS and refunded by us without staff knowing:
 * when a submission succeeded while a refund was already under way (it began
 * after the submission did), staff get an alert to settle it by hand.
 */
async function alertIfRefundStarted(
  db: Db,
  tenant: Tenant,
  order: OrderWithItems,
  now: Date,
): Promise<Effects> {
  const orderId = order.id;
  const refunding = order.paymentStatus === "refund_pending" || order.paymentStatus === "refunded";
  if (!refunding && order.status !== "cancelled") return NO_EFFECTS;
  const built = await raiseAlert(
    db,
    refunding
      ? {
          tenantId: tenant.id,
          kind: "pos_synced_after_refund",
          level: "critical",
          orderId,
          message: `Order #${order.number} reached the POS after its refund had started: void it in the POS or settle with the customer.`,
        }
      : {
          tenantId: tenant.id,
          kind: "pos_void_needed",
          level: "critical",
          orderId,
          message: `Order #${order.number} reached the POS after it was cancelled${order.externalId ? ` (${order.externalId})` : ""}: void it there.`,
        },
    now,
  );
  return effectsOf(tenant, { events: built });
}
