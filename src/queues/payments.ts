import { getDb } from "../db/client";
import { findTenantById } from "../db/tenants";
import { processRefund, settleOrFailRefund } from "../services/payments";
import { QueueMessageSchema } from "./messages";

/**
 * `payments` consumer: refunds, each message acked or retried explicitly.
 * The refund itself is idempotent (`refund:<order id>`, and a lookup of a
 * refund Stripe already holds), so a duplicate message refunds nothing twice.
 */
export async function consumePayments(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = QueueMessageSchema.safeParse(message.body);
      if (!parsed.success || parsed.data.type !== "refund") {
        console.error(
          JSON.stringify({
            level: "error",
            msg: "unreadable payments message; dropped",
            id: message.id,
          }),
        );
        message.ack();
        return;
      }
      try {
        const outcome = await processRefund(
          env,
          parsed.data,
          { attempt: message.attempts, random: Math.random() },
          new Date(),
        );
        if (outcome.kind === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
        else message.ack();
      } catch (err) {
        console.error(
          JSON.stringify({
            level: "error",
            msg: "refund failed unexpectedly",
            orderId: parsed.data.orderId,
            error: err instanceof Error ? err.message : String(err),
          }),
        );
        message.retry({ delaySeconds: 60 });
      }
    }),
  );
}

/**
 * `payments-dlq` consumer: a refund whose retries ran out is never dropped:
 * `refund_failed`, a critical alert, and the order listed for manual review.
 */
export async function consumePaymentDeadLetters(
  batch: MessageBatch<unknown>,
  env: Env,
): Promise<void> {
  const db = getDb(env);
  for (const message of batch.messages) {
    const parsed = QueueMessageSchema.safeParse(message.body);
    if (!parsed.success || parsed.data.type !== "refund") {
      message.ack();
      continue;
    }
    try {
      const tenant = await findTenantById(db, parsed.data.tenantId);
      if (tenant) {
        await settleOrFailRefund(
          env,
          tenant,
          parsed.data.orderId,
          "the refund kept failing after repeated attempts",
          new Date(),
        );
      }
      message.ack();
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "payment dead letter failed",
          error: err instanceof Error ? err.message : String(err),
        }),
      );
      message.retry({ delaySeconds: 60 });
    }
  }
}
