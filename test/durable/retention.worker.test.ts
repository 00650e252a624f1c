import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { tenantHub } from "../../src/delivery";
import { RETENTION_EVENTS, RETENTION_MS, type TenantHub } from "../../src/durable/tenant-hub";

/** Fills a hub's log with `count` events stored `ageMs` ago, as if published then. */
async function fillLog(hubName: string, count: number, ageMs: number) {
  const stub = tenantHub(env, hubName);
  await stub.publish(
    [
      {
        id: `evt_${hubName}_first`,
        tenantId: hubName,
        type: "alert",
        payload: {},
        createdAt: new Date().toISOString(),
      },
    ],
    "slug",
  );
  await runInDurableObject(stub, (_instance: TenantHub, state) => {
    const storedAt = Date.now() - ageMs;
    state.storage.transactionSync(() => {
      for (let seq = 2; seq <= count; seq++) {
        state.storage.sql.exec(
          "INSERT INTO events (seq, outbox_id, type, tenant, timestamp, data, stored_at) VALUES (?, ?, 'alert', 'slug', '', '{}', ?)",
          seq,
          `evt_${seq}`,
          storedAt,
        );
      }
      state.storage.sql.exec("UPDATE events SET stored_at = ?", storedAt);
      state.storage.sql.exec("UPDATE meta SET value = ? WHERE key = 'last_seq'", String(count));
    });
  });
  return stub;
}

describe("event log retention", () => {
  it("the alarm drops events older than 24 hours beyond the newest 10 000", async () => {
    const stub = await fillLog("retention-old", RETENTION_EVENTS + 25, RETENTION_MS + 60_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const status = await stub.status();
    expect(status).toEqual({ seq: RETENTION_EVENTS + 25, terminals: 0, events: RETENTION_EVENTS });
    const oldest = await runInDurableObject(stub, (_i: TenantHub, state) =>
      state.storage.sql.exec<{ seq: number }>("SELECT min(seq) AS seq FROM events").one(),
    );
    expect(oldest.seq).toBe(26);
  });

  it("keeps more than 10 000 events while they are younger than 24 hours", async () => {
    const stub = await fillLog("retention-young", RETENTION_EVENTS + 25, RETENTION_MS - 60_000);
    await runDurableObjectAlarm(stub);
    expect((await stub.status()).events).toBe(RETENTION_EVENTS + 25);
  });

  it("keeps old events while there are fewer than 10 000", async () => {
    const stub = await fillLog("retention-few", 50, RETENTION_MS * 3);
    await runDurableObjectAlarm(stub);
    expect((await stub.status()).events).toBe(50);
  });
});
