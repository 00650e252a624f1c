import { z } from "zod";

/** Every queue message body, one union; consumers parse with it, never cast. */
export const QueueMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("pos_submit"),
    tenantId: z.string().min(1),
    orderId: z.string().min(1),
  }),
  z.object({
    // A change made here that the POS has to hear (the order's `pos_push`): on pos-submissions.
    type: z.literal("pos_update"),
    tenantId: z.string().min(1),
    orderId: z.string().min(1),
  }),
  z.object({
    type: z.literal("refund"),
    tenantId: z.string().min(1),
    orderId: z.string().min(1),
  }),
]);
export type QueueMessage = z.infer<typeof QueueMessageSchema>;
/** The message on `pos-submissions` (and its dead-letter queue). */
export type PosSubmitMessage = Extract<QueueMessage, { type: "pos_submit" }>;
/** The other message on `pos-submissions`: tell the POS of a change (services/pos-updates.ts). */
export type PosUpdateMessage = Extract<QueueMessage, { type: "pos_update" }>;
/** The message on `payments` (and its dead-letter queue). */
export type RefundMessage = Extract<QueueMessage, { type: "refund" }>;

export const QUEUES = {
  posSubmissions: "pos-submissions",
  posSubmissionsDlq: "pos-submissions-dlq",
  payments: "payments",
  paymentsDlq: "payments-dlq",
} as const;

/** What a consumer does with one message: ack it, or retry it after a delay. */
export type MessageOutcome = { kind: "done" } | { kind: "retry"; delaySeconds: number };

/**
 * Runs `handle` on every message of a batch concurrently and acks or retries
 * each explicitly. A body that is not a `type` message is logged and acked
 * (retrying cannot make it readable); a handler that throws (D1 down, …) is
 * logged and retried after `failureDelaySeconds`, so the queue's retries and
 * dead-letter queue take over.
 */
export async function consumeEach<T extends QueueMessage["type"]>(
  batch: MessageBatch<unknown>,
  types: T | readonly T[],
  failureDelaySeconds: number,
  handle: (
    body: Extract<QueueMessage, { type: T }>,
    message: Message<unknown>,
  ) => Promise<MessageOutcome>,
): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = QueueMessageSchema.safeParse(message.body);
      const accepted: readonly string[] = typeof types === "string" ? [types] : types;
      if (!parsed.success || !accepted.includes(parsed.data.type)) {
        console.error(
          JSON.stringify({
            level: "error",
            msg: "unreadable queue message; dropped",
            queue: batch.queue,
            id: message.id,
          }),
        );
        message.ack();
        return;
      }
      try {
        const outcome = await handle(parsed.data as Extract<QueueMessage, { type: T }>, message);
        if (outcome.kind === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
        else message.ack();
      } catch (err) {
        console.error(
          JSON.stringify({
            level: "error",
            msg: "queue message failed unexpectedly; retried",
            queue: batch.queue,
            orderId: parsed.data.orderId,
            error: err instanceof Error ? err.message : String(err),
          }),
        );
        message.retry({ delaySeconds: failureDelaySeconds });
      }
    }),
  );
}
