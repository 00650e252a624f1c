import { z } from "zod";

/** Every queue message body, one union; consumers parse with it, never cast. */
export const QueueMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("pos_submit"),
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

export const QUEUES = {
  posSubmissions: "pos-submissions",
  posSubmissionsDlq: "pos-submissions-dlq",
  payments: "payments",
  paymentsDlq: "payments-dlq",
} as const;
