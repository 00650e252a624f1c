import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { QUEUES } from "../../src/queues/messages";

describe("every consumer acks or retries each message explicitly", () => {
  it.each(Object.values(QUEUES))(
    "%s: an unreadable body or another queue's message is acked (retrying cannot mend it)",
    async (queue) => {
      const wrongType = queue.startsWith("payments") ? "pos_submit" : "refund";
      const batch = createMessageBatch<unknown>(queue, [
        { id: "garbage", timestamp: new Date(), attempts: 1, body: "not json at all" },
        { id: "no-ids", timestamp: new Date(), attempts: 1, body: { type: "refund" } },
        {
          id: "wrong-type",
          timestamp: new Date(),
          attempts: 1,
          body: { type: wrongType, tenantId: "ten_x", orderId: "ord_x" },
        },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.retryMessages).toEqual([]);
      expect(result.explicitAcks.sort()).toEqual(["garbage", "no-ids", "wrong-type"]);
    },
  );
});
