import { QUEUES } from "./messages";
import { consumePaymentDeadLetters, consumePayments } from "./payments";
import { consumePosDeadLetters } from "./pos-dead-letter";
import { consumePosSubmissions } from "./pos-submission";

/** Routes each queue's batch to its consumer. */
export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  switch (batch.queue) {
    case QUEUES.posSubmissions:
      return consumePosSubmissions(batch, env);
    case QUEUES.posSubmissionsDlq:
      return consumePosDeadLetters(batch, env);
    case QUEUES.payments:
      return consumePayments(batch, env);
    case QUEUES.paymentsDlq:
      return consumePaymentDeadLetters(batch, env);
    default:
      console.error(
        JSON.stringify({
          level: "error",
          msg: "batch from an unknown queue; retried",
          queue: batch.queue,
        }),
      );
      for (const message of batch.messages) message.retry({ delaySeconds: 300 });
  }
}
