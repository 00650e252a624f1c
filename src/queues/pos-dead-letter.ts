import { getDb } from "../db/client";
import { findOrder } from "../db/orders";
import { findTenantById } from "../db/tenants";
import { handlePosFailure } from "../services/pos-sync";
import { QueueMessageSchema } from "./messages";

/**
 * `pos-submissions-dlq` consumer: a submission whose deliveries ran out
 * (the consumer itself kept failing) still ends visibly: the order is marked
 * failed and staff are alerted, exactly as for a permanent POS error.
 */
export async function consumePosDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = getDb(env);
  for (const message of batch.messages) {
    const parsed = QueueMessageSchema.safeParse(message.body);
    if (!parsed.success || parsed.data.type !== "pos_submit") {
      console.error(
        JSON.stringify({ level: "error", msg: "unreadable dead letter; dropped", id: message.id }),
      );
      message.ack();
      continue;
    }
    try {
      const tenant = await findTenantById(db, parsed.data.tenantId);
      const order = tenant ? await findOrder(db, tenant.id, parsed.data.orderId) : undefined;
      const now = new Date();
      if (order?.posClaimedUntil && order.posClaimedUntil > now.toISOString()) {
        // A submission is still in flight (a duplicate delivery holds the claim): its outcome
        // decides. Failing it now could refund an order the POS is about to take.
        message.retry({ delaySeconds: 60 });
        continue;
      }
      if (tenant && order) {
        await handlePosFailure(env, tenant, order, {
          reason: "the submission could not be completed after repeated deliveries",
          attempt: null,
          now,
        });
      }
      message.ack();
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "dead letter handling failed",
          error: err instanceof Error ? err.message : String(err),
        }),
      );
      message.retry({ delaySeconds: 60 });
    }
  }
}
