import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";

describe("cron pass", () => {
  it("prunes idempotency keys older than 24 hours and keeps newer ones", async () => {
    const now = Date.parse("2026-11-24T12:00:00.000Z");
    const insert = env.DB.prepare(
      "INSERT INTO idempotency_keys (tenant_id, key, request_hash, response_status, response_body, order_id, created_at) VALUES (?, ?, 'h', 201, '{}', NULL, ?)",
    );
    await env.DB.batch([
      insert.bind("ten_a", "old-key", new Date(now - 25 * 3600_000).toISOString()),
      insert.bind("ten_a", "fresh-key", new Date(now - 23 * 3600_000).toISOString()),
    ]);
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ scheduledTime: now, cron: "* * * * *" }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const left = await env.DB.prepare("SELECT key FROM idempotency_keys ORDER BY key").all();
    expect(left.results).toEqual([{ key: "fresh-key" }]);
  });
});
