/**
 * Routes each queue's batch to its consumer. The POS submission and payment
 * consumers are not written yet, so nothing produces messages; should one
 * arrive, it is kept (retried, then dead-lettered) rather than dropped.
 */
export async function handleQueueBatch(batch: MessageBatch<unknown>, _env: Env): Promise<void> {
  for (const message of batch.messages) {
    console.error(
      JSON.stringify({
        level: "error",
        msg: "no consumer for queue yet; message retried",
        queue: batch.queue,
        messageId: message.id,
        attempts: message.attempts,
      }),
    );
    message.retry({ delaySeconds: 60 });
  }
}
