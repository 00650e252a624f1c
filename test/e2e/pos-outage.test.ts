import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { triggerScheduled } from "../../tools/dev-server.mjs";
import {
  callJson,
  connectTerminal,
  createSquareTenant,
  markPaid,
  type PosStack,
  type PosTenant,
  placeOrder,
  squareCreateCalls,
  startPosStack,
} from "./pos-harness";

// The restaurant keeps selling while its POS is down, end to end on a real `wrangler dev` (its
// queue consumer retrying, its Durable Object feeding a connected terminal): the POS stops
// answering → new paid orders arrive on the terminal as manual-entry tickets → the POS comes back
// → the orders still retrying reach it and new orders flow automatically again. No order is
// both entered by hand and sent.

/** Seconds of silence (with three unanswered attempts) that take the POS down here. */
const DOWN_AFTER_SECONDS = 2;
const WAIT_MS = 45_000;

let stack: PosStack | undefined;

beforeAll(async () => {
  stack = await startPosStack({
    posTimeoutMs: 2000,
    vars: { POS_DOWN_AFTER_SECONDS: String(DOWN_AFTER_SECONDS) },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

function running(): PosStack {
  if (!stack) throw new Error("the stack is not running");
  return stack;
}

interface Health {
  state: string;
  downSince: string | null;
}

async function health(s: PosStack, tenant: PosTenant): Promise<Health> {
  const { integration } = await callJson<{ integration: { health: Health } }>(
    s.url,
    `/v1/admin/${tenant.slug}/pos/integration`,
    { token: tenant.staffKey },
    200,
  );
  return integration.health;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean) {
  const deadline = Date.now() + WAIT_MS;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`${what} within ${WAIT_MS} ms; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function posStatusOf(s: PosStack, tenant: PosTenant, orderId: string): Promise<string> {
  const { order } = await callJson<{ order: { posStatus: string } }>(
    s.url,
    `/v1/admin/${tenant.slug}/orders/${orderId}`,
    { token: tenant.staffKey },
    200,
  );
  return order.posStatus;
}

describe("when the POS is down for a stretch", () => {
  it("orders become manual tickets on the terminal, then flow automatically once it is back", {
    timeout: 150_000,
  }, async () => {
    const s = running();
    const tenant = await createSquareTenant(s, "outage");
    const terminal = await connectTerminal(s, tenant, "outage");
    s.double.setMode("square", { kind: "status", status: 503 });

    // Paid while the POS is silent: the queue retries them, and the POS is taken to be down.
    const stuck: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await placeOrder(s, tenant);
      await markPaid(s, tenant, id);
      stuck.push(id);
    }
    const down = await until(
      "the POS taken to be down",
      () => health(s, tenant),
      (h) => h.state === "down",
    );
    expect(down.downSince).not.toBeNull();
    await terminal.waitFor(
      (f) => f.type === "alert" && (f.data as { kind: string }).kind === "pos_down",
      10_000,
    );

    // A new paid order is a manual ticket on the terminal, never sent to the POS.
    const manual = await placeOrder(s, tenant);
    expect((await markPaid(s, tenant, manual)).posStatus).toBe("manual");
    const ticket = await terminal.waitFor(
      (f) => f.type === "new_order" && (f.data as { id: string }).id === manual,
      10_000,
    );
    expect(ticket.data).toMatchObject({ posStatus: "manual" });

    // The orders that were on their way wait for the POS instead of failing.
    for (const id of stuck) expect(await posStatusOf(s, tenant, id)).toBe("retrying");

    // The POS answers again; the cron pass's probe (due a minute after it went down) finds it,
    // and the orders that waited are sent at once.
    s.double.setMode("square", null);
    const outcome = await triggerScheduled({
      url: s.url,
      cron: "* * * * *",
      scheduledTime: new Date(Date.now() + 2 * 60_000),
    });
    expect(outcome).toBe("ok");
    await until(
      "the POS up again",
      () => health(s, tenant),
      (h) => h.state === "healthy",
    );
    await until(
      "the orders that waited synced",
      () => Promise.all(stuck.map((id) => posStatusOf(s, tenant, id))),
      (statuses) => statuses.every((st) => st === "synced"),
    );
    await terminal.waitFor(
      (f) => f.type === "alert" && (f.data as { kind: string }).kind === "pos_recovered",
      10_000,
    );

    // New orders go to it automatically again.
    const after = await placeOrder(s, tenant);
    expect((await markPaid(s, tenant, after)).posStatus).toBe("queued");
    await until(
      "the new order synced",
      () => posStatusOf(s, tenant, after),
      (st) => st === "synced",
    );

    // Staff typed the manual ticket in; it was never sent, and is recorded once.
    const entered = await callJson<{ order: { posEnteredAt: string | null; posStatus: string } }>(
      s.url,
      `/v1/admin/${tenant.slug}/orders/${manual}/entered-in-pos`,
      { token: tenant.terminalKey, body: {} },
      200,
    );
    expect(entered.order).toMatchObject({ posStatus: "manual" });
    // Recorded now, by this call.
    expect(Date.now() - Date.parse(entered.order.posEnteredAt ?? "")).toBeLessThan(60_000);
    const sent = new Set(squareCreateCalls(s.double).map((c) => c.orderId));
    expect(sent.has(manual)).toBe(false);
    for (const id of [...stuck, after]) expect(sent.has(id)).toBe(true);
    terminal.close();
  });
});
