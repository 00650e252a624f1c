import { getDb } from "../db/client";
import { findOrder } from "../db/orders";
import { findTenantById } from "../db/tenants";
import { deliver } from "../delivery";
import { handlePosFailure } from "../services/pos-sync";
import { consumeEach } from "./messages";

/**
 * `pos-submissions-dlq` consumer: a submission whose deliveries ran out
 * (the consumer itself kept failing) still ends visibly: the order is marked
 * failed and staff are alerted, exactly as for a permanent POS error.
 */
export function consumePosDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = getDb(env);
  return consumeEach(batch, "pos_submit", 60, async (body) => {
    const tenant = await findTenantById(db, body.tenantId);
    const order = tenant ? await findOrder(db, tenant.id, body.orderId) : undefined;
    const now = new Date();
    if (order?.posClaimedUntil && order.posClaimedUntil > now.toISOString()) {
      // A submission is still in flight (a duplicate delivery holds the claim): its outcome
      // decides. Failing it now could refund an order the POS is about to take.
      return { kind: "retry", delaySeconds: 60 };
    }
    if (tenant && order) {
      const effects = await handlePosFailure(env, tenant, order, {
        reason: "the submission could not be completed after repeated deliveries",
        attempt: null,
        now,
      });
      await deliver(env, effects);
    }
    return { kind: "done" };
  });
}
