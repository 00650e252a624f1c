import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { OutboxRecord } from "../../src/db/outbox";
import { combine, effectsOf, isEmpty, NO_EFFECTS } from "../../src/services/effects";

const SERVICES = path.join(import.meta.dirname, "../../src/services");

const services = readdirSync(SERVICES)
  .filter((f) => f.endsWith(".ts"))
  .map((file) => ({ file, source: readFileSync(path.join(SERVICES, file), "utf8") }));

describe("flows return their effects; entry points deliver them", () => {
  it("reads the flows it checks", () => {
    expect(services.map((s) => s.file)).toEqual(
      expect.arrayContaining(["refunds.ts", "pos-sync.ts", "stripe-events.ts", "effects.ts"]),
    );
  });

  it.each(services.map((s) => [s.file, s.source] as const))(
    "services/%s neither delivers nor calls the Durable Object",
    (_, source) => {
      // Delivery is the entry points' (src/delivery.ts); the hub, queues and notifier are reached there.
      expect(source).not.toMatch(/from "\.\.\/(?:delivery|durable\/[\w-]+|routes\/[\w-]+)"/);
      expect(source).not.toMatch(/\bTENANT_HUB\b/);
      expect(source).not.toMatch(/\.(?:POS_SUBMISSIONS|PAYMENTS)\s*\.\s*send/);
      expect(source).not.toMatch(/\bgetNotifier\s*\(/);
      expect(source).not.toMatch(/\bdeliver(?:Events|AfterResponse)?\s*\(/);
    },
  );
});

const event = (tenantId: string, id: string): OutboxRecord => ({
  id,
  tenantId,
  type: "order_updated",
  payload: {},
  createdAt: "2026-12-02T00:00:00.000Z",
});

describe("combine", () => {
  const a = { id: "ten_a", slug: "a" };
  it("joins one tenant's effects in order", () => {
    const joined = combine(
      effectsOf(a, { events: [event("ten_a", "evt_1")] }),
      NO_EFFECTS,
      effectsOf(a, {
        events: [event("ten_a", "evt_2")],
        messages: [{ type: "refund", tenantId: "ten_a", orderId: "ord_1" }],
      }),
    );
    expect(joined.tenant).toEqual(a);
    expect(joined.events.map((e) => e.id)).toEqual(["evt_1", "evt_2"]);
    expect(joined.messages).toHaveLength(1);
    expect(isEmpty(joined)).toBe(false);
  });

  it("keeps a tenant from nothing", () => {
    expect(combine(NO_EFFECTS, NO_EFFECTS)).toEqual(NO_EFFECTS);
    expect(isEmpty(combine())).toBe(true);
  });

  it("refuses effects of two tenants", () => {
    expect(() => combine(effectsOf(a, {}), effectsOf({ id: "ten_b", slug: "b" }, {}))).toThrow(
      /two tenants/,
    );
  });
});
