import { getDb } from "../db/client";
import { findTenantById } from "../db/tenants";
import { deliver } from "../delivery";
import { processRefund, settleOrFailRefund } from "../services/refunds";
import { consumeEach } from "./messages";

/**
 * `payments` consumer: refunds. The refund itself is idempotent
 * (`refund:<order id>`, and a lookup of a refund already made), so a
 * duplicate message refunds nothing twice. The consumer delivers what the
 * refund decided before it acks the message.
 */
export function consumePayments(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = getDb(env);
  return consumeEach(batch, "refund", 60, async (body, message) => {
    const tenant = await findTenantById(db, body.tenantId);
    if (!tenant) return { kind: "done" };
    const { outcome, effects } = await processRefund(
      env,
      tenant,
      body,
      { attempt: message.attempts, random: Math.random() },
      new Date(),
    );
    await deliver(env, effects);
    return outcome;
  });
}

/**
 * `payments-dlq` consumer: a refund whose retries ran out is never dropped.
 * Unless Stripe made it after all: `refund_failed`, a critical alert, and the
 * order listed for manual review.
 */
export function consumePaymentDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = getDb(env);
  return consumeEach(batch, "refund", 60, async (body) => {
    const tenant = await findTenantById(db, body.tenantId);
    if (tenant) {
      const effects = await settleOrFailRefund(
        env,
        tenant,
        body.orderId,
        "the refund kept failing after repeated attempts",
        new Date(),
      );
      await deliver(env, effects);
    }
    return { kind: "done" };
  });
}
