import { deliver } from "../delivery";
import { submitOrderToPos } from "../services/pos-sync";
import { pushUpdateToPos } from "../services/pos-updates";
import { consumeEach } from "./messages";

/**
 * `pos-submissions` consumer: one submission per message. Messages of a batch
 * are handled concurrently, so one tenant's slow POS does not hold up
 * another's orders; the per-order claim keeps duplicate deliveries to one POS
 * call. Retries carry the backoff the retry policy chose; a message that gave
 * up was handed to the failure handler before its ack. What the submission
 * decided (events, notifications, a refund) is delivered before the ack.
 */
export function consumePosSubmissions(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  return consumeEach(batch, ["pos_submit", "pos_update"], 30, async (body, message) => {
    const progress = { attempt: message.attempts, random: Math.random() };
    const { outcome, effects } =
      body.type === "pos_submit"
        ? await submitOrderToPos(env, body, progress)
        : await pushUpdateToPos(env, body, progress);
    await deliver(env, effects);
    return outcome;
  });
}
