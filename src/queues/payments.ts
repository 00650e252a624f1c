import { getDb } from "../db/client";
import { findTenantById } from "../db/tenants";
import { processRefund, settleOrFailRefund } from "../services/refunds";
import { consumeEach } from "./messages";

/**
 * `payments` consumer: refunds. The refund itself is idempotent
 * (`refund:<order id>`, and a lookup of a refund already made), so a
 * duplicate message refunds nothing twice.
 */
export function consumePayments(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  return consumeEach(batch, "refund", 60, (body, message) =>
    processRefund(env, body, { attempt: message.attempts, random: Math.random() }, new Date()),
  );
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
      await settleOrFailRefund(
        env,
        tenant,
        body.orderId,
        "the refund kept failing after repeated attempts",
        new Date(),
      );
    }
    return { kind: "done" };
  });
}
