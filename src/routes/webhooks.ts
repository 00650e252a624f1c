import { Hono } from "hono";
import { z } from "zod";
import { PaymentWebhookError, type PaymentWebhookEvent } from "../adapters/payments/types";
import { getPosAdapter } from "../adapters/pos";
import {
  POS_PROVIDERS,
  type PosProvider,
  type PosStatusReport,
  type WebhookRequest,
} from "../adapters/pos/types";
import { readConfig } from "../config";
import type { Db } from "../db/client";
import { getDb, insertIf, isConstraintError } from "../db/client";
import { findOrder, findOrderByExternalId } from "../db/orders";
import { findPosIntegration, openWebhookSecret } from "../db/pos-integrations";
import { webhookEvents } from "../db/schema";
import { findTenantBySlug, type Tenant } from "../db/tenants";
import { webhookEventInsert, webhookEventSeen } from "../db/webhook-events";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/router";
import { changeOrderStatus } from "../services/orders";
import { deliverEvents } from "../services/outbox";
import { handleStripeEvent, paymentGateway, startRefund } from "../services/payments";

const ProviderParam = z.enum(POS_PROVIDERS);

/**
 * Vendor webhooks. No bearer: each request proves itself with its sender's
 * signature scheme. A bad signature is 400 and changes nothing; an event
 * seen before is 200 and changes nothing.
 */
export const webhookRoutes = new Hono<AppEnv>()
  .post("/webhooks/stripe", async (c) => {
    const gateway = paymentGateway(c.env);
    const secret = readConfig(c.env).stripeWebhookSecret;
    if (!gateway || !secret) throw new ApiError("not_found", "payments are not configured");
    let event: PaymentWebhookEvent;
    try {
      // Verified on the raw text, as received: re-serialising would break the signature.
      event = await gateway.verifyWebhook(
        await c.req.text(),
        c.req.header("stripe-signature"),
        secret,
        300,
      );
    } catch (err) {
      if (err instanceof PaymentWebhookError && err.reason === "unreadable_event") {
        // Stripe sent it: a 4xx would have it retried for days and the endpoint disabled.
        console.error(
          JSON.stringify({
            level: "error",
            msg: "unreadable Stripe event ignored",
            error: err.message,
          }),
        );
        return c.json({ received: true, applied: false }, 200);
      }
      if (err instanceof PaymentWebhookError) {
        throw new ApiError("validation_failed", `Stripe-Signature rejected: ${err.reason}`);
      }
      throw err;
    }
    const applied = await handleStripeEvent(c.env, event, new Date());
    return c.json({ received: true, applied }, 200);
  })
  .post("/webhooks/pos/:provider/:tenant", async (c) => {
    const provider = ProviderParam.safeParse(c.req.param("provider"));
    if (!provider.success) throw new ApiError("not_found", "unknown POS provider");
    const db = getDb(c.env);
    const tenant = await findTenantBySlug(db, c.req.param("tenant"));
    const integration = tenant ? await findPosIntegration(db, tenant.id) : undefined;
    // A disconnected POS no longer speaks for the tenant's orders.
    if (!tenant || integration?.status !== "connected" || integration.provider !== provider.data) {
      throw new ApiError("not_found", "no such POS connection");
    }
    const secret = await openWebhookSecret(readConfig(c.env).credentialsKey, integration);
    if (!secret)
      throw new ApiError(
        "validation_failed",
        "this POS connection has no webhook secret configured",
      );
    const request: WebhookRequest = {
      headers: Object.fromEntries([...c.req.raw.headers].map(([k, v]) => [k.toLowerCase(), v])),
      rawBody: await c.req.text(),
      url: c.req.url,
    };
    const adapter = getPosAdapter(provider.data);
    if (!(await adapter.verifyWebhook(request, secret))) {
      throw new ApiError("validation_failed", "webhook signature is missing or invalid");
    }
    let reports: PosStatusReport[];
    try {
      reports = adapter.parseWebhook(request);
    } catch {
      throw new ApiError(
        "validation_failed",
        "webhook body is not an event this endpoint understands",
      );
    }
    let applied = 0;
    for (const report of reports) {
      if (await applyReport(c.env, db, tenant, provider.data, report)) applied += 1;
    }
    return c.json({ received: true, events: reports.length, applied }, 200);
  });

/**
 * Applies one status report through the state machine (forward only; late
 * reports are ignored), recording its event id in the same batch so a replay
 * is a no-op. An unknown order is acknowledged and ignored.
 */
async function applyReport(
  env: Env,
  db: Db,
  tenant: Tenant,
  provider: PosProvider,
  report: PosStatusReport,
): Promise<boolean> {
  const event = { provider, eventId: `${tenant.id}:${report.eventId}`, tenantId: tenant.id };
  const now = new Date();
  if (await webhookEventSeen(db, event.provider, event.eventId)) return false;
  const order =
    (report.orderId ? await findOrder(db, tenant.id, report.orderId) : undefined) ??
    (report.posOrderId ? await findOrderByExternalId(db, tenant.id, report.posOrderId) : undefined);
  try {
    if (!order || !report.status) {
      await webhookEventInsert(db, event, now);
      return false;
    }
    const result = await changeOrderStatus(
      db,
      tenant,
      order.id,
      report.status,
      "pos_webhook",
      now,
      (won) => [insertIf(db, webhookEvents, { ...event, receivedAt: now.toISOString() }, won)],
    );
    if (!result.changed) {
      await webhookEventInsert(db, event, now);
      return false;
    }
    await deliverEvents(env, tenant, result.events);
    // The restaurant cancelled a paid order in its POS: the customer gets the money back.
    if (result.order.status === "cancelled" && result.order.paymentStatus === "paid") {
      await startRefund(env, tenant, order.id, now);
    }
    return true;
  } catch (err) {
    // A concurrent delivery of the same event recorded it first.
    if (isConstraintError(err, "webhook_events")) return false;
    if (err instanceof ApiError && err.code === "conflict") {
      await webhookEventInsert(db, event, now).catch(() => undefined);
      return false;
    }
    throw err;
  }
}
