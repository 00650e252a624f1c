import { submitOrderToPos } from "../services/pos-sync";
import { QueueMessageSchema } from "./messages";

/**
 * `pos-submissions` consumer: one submission per message, each message acked
 * or retried explicitly. Messages of a batch are handled concurrently, so one
 * tenant's slow POS does not hold up another's orders; the per-order claim
 * keeps duplicate deliveries to one POS call. Retries carry the backoff the
 * retry policy chose; a message that gave up was handed to the failure
 * handler before its ack.
 */
export async function consumePosSubmissions(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((message) => consumeOne(message, env)));
}

async function consumeOne(message: Message<unknown>, env: Env): Promise<void> {
  const parsed = QueueMessageSchema.safeParse(message.body);
  if (!parsed.success || parsed.data.type !== "pos_submit") {
    console.error(
      JSON.stringify({
        level: "error",
        msg: "unreadable pos-submissions message; dropped",
        id: message.id,
      }),
    );
    message.ack();
    return;
  }
  try {
    const outcome = await submitOrderToPos(env, parsed.data, {
      attempt: message.attempts,
      random: Math.random(),
    });
    if (outcome.kind === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
    else message.ack();
  } catch (err) {
    // Our own failure (D1 unavailable, …): the queue's retries and dead-letter queue take over.
    console.error(
      JSON.stringify({
        level: "error",
        msg: "pos submission failed unexpectedly",
        orderId: parsed.data.orderId,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    message.retry({ delaySeconds: 30 });
  }
}
