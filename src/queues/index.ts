import { QUEUES } from "./messages";
import { consumePosDeadLetters } from "./pos-dead-letter";
import { consumePosSubmissions } from "./pos-submission";

/** Routes each queue's batch to its consumer. */
export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  switch (batch.queue) {
    case QUEUES.posSubmissions:
      return consumePosSubmissions(batch, env);
    case QUEUES.posSubmissionsDlq:
      return consumePosDeadLetters(batch, env);
    default:
      // The payments consumers are not written yet; nothing produces their messages.
      for (const message of batch.messages) {
        console.error(
          JSON.stringify({
            level: "error",
            msg: "no consumer for queue yet; message retried",
            queue: batch.queue,
            id: message.id,
          }),
        );
        message.retry({ delaySeconds: 300 });
      }
  }
}
