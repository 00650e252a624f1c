import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { createTenant } from "./helpers";

/** One pass of the Worker's scheduled handler, as the cron trigger runs it at `now`. */
async function runCron(now: number): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime: now, cron: "* * * * *" }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

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
    await runCron(now);
    const left = await env.DB.prepare("SELECT key FROM idempotency_keys ORDER BY key").all();
    expect(left.results).toEqual([{ key: "fresh-key" }]);
  });
  it("hands notifications left unsent for a minute to the notifier and marks them sent", async () => {
    const now = Date.parse("2026-11-24T12:00:00.000Z");
    const insert = env.DB.prepare(
      "INSERT INTO notifications (id, tenant_id, audience, kind, order_id, message, created_at, sent_at) VALUES (?, 'ten_n', 'customer', 'order_refunded', 'ord_n', 'refunded', ?, ?)",
    );
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    await env.DB.batch([
      insert.bind("ntf_stale", at(6 * 60_000), null),
      // Recently written: its own request may still be handing it over.
      insert.bind("ntf_fresh", at(2 * 60_000), null),
      insert.bind("ntf_done", at(10 * 60_000), at(9 * 60_000)),
    ]);
    await runCron(now);
    const rows = await env.DB.prepare(
      "SELECT id, sent_at FROM notifications WHERE tenant_id = 'ten_n' ORDER BY id",
    ).all();
    expect(rows.results).toEqual([
      { id: "ntf_done", sent_at: at(9 * 60_000) },
      { id: "ntf_fresh", sent_at: null },
      { id: "ntf_stale", sent_at: new Date(now).toISOString() },
    ]);
  });
  it("raises every open critical alert again after five minutes, not warnings, acknowledged ones or a gone tenant's", async () => {
    const t = await createTenant();
    const now = Date.parse("2026-11-24T12:00:00.000Z");
    const old = new Date(now - 6 * 60_000).toISOString();
    const insert = env.DB.prepare(
      "INSERT INTO alerts (id, tenant_id, kind, level, order_id, message, created_at, last_raised_at, raise_count, acknowledged_at) VALUES (?, ?, ?, ?, NULL, 'm', ?, ?, 1, ?)",
    );
    await env.DB.batch([
      insert.bind("alr_refund", t.id, "refund_failed", "critical", old, old, null),
      insert.bind("alr_double", t.id, "payment_duplicate", "critical", old, old, null),
      insert.bind("alr_warn", t.id, "integration_degraded", "warning", old, old, null),
      insert.bind("alr_acked", t.id, "refund_failed", "critical", old, old, old),
      insert.bind("alr_gone", "ten_gone", "refund_failed", "critical", old, old, null),
    ]);
    await runCron(now);
    const rows = await env.DB.prepare(
      "SELECT id, raise_count FROM alerts WHERE id LIKE 'alr_%' ORDER BY id",
    ).all();
    expect(rows.results).toEqual([
      { id: "alr_acked", raise_count: 1 },
      { id: "alr_double", raise_count: 2 },
      { id: "alr_gone", raise_count: 1 },
      { id: "alr_refund", raise_count: 2 },
      { id: "alr_warn", raise_count: 1 },
    ]);
  });
});
