import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { tenantHub } from "../../src/delivery";
import {
  ADMIN_TOKEN,
  call,
  callJson,
  createKey,
  createMenuItem,
  createTenant,
  expectError,
  insertOpenAlert,
  keyIdOf,
  type TestTenant,
} from "../helpers";
import { connectTerminal, openSocket, type TestTerminal } from "../ws-helpers";

let keySeq = 0;

async function confirmedOrder(t: TestTenant, itemId: string): Promise<string> {
  const { order } = await callJson<{ order: { id: string } }>(
    `/v1/stores/${t.slug}/orders`,
    {
      body: {
        orderType: "pickup",
        items: [{ menuItemId: itemId, quantity: 1 }],
        customer: { name: "Ada" },
      },
      headers: { "idempotency-key": `boundary-${Date.now()}-${++keySeq}` },
    },
    201,
  );
  await callJson(
    `/v1/admin/${t.slug}/orders/${order.id}/mark-paid`,
    { token: t.ownerKey, body: {} },
    200,
  );
  return order.id;
}

async function ticketFor(t: TestTenant, key: string): Promise<string> {
  const { ticket } = await callJson<{ ticket: string }>(
    `/v1/pos/${t.slug}/terminals/ticket`,
    { token: key, body: {} },
    201,
  );
  return ticket;
}

async function orderStatus(id: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT status FROM orders WHERE id = ?")
    .bind(id)
    .first<{ status: string }>();
  return row?.status;
}

async function setup() {
  const t = await createTenant();
  const item = await createMenuItem(t, { name: "Soup", price: 500 });
  return { t, itemId: item.id };
}

describe("revocation reaches open sockets", () => {
  it("revoking a key closes its bearer and ticket sockets with 4401 and leaves other keys' open", async () => {
    const { t } = await setup();
    const doomed = await createKey(t, "terminal");
    const other = await createKey(t, "terminal");
    const byBearer = await connectTerminal(t.slug, { token: doomed });
    const byTicket = await connectTerminal(t.slug, { ticket: await ticketFor(t, doomed) });
    const unrelated = await connectTerminal(t.slug, { token: other });
    const unusedTicket = await ticketFor(t, doomed);

    const res = await call(`/v1/admin/${t.slug}/keys/${await keyIdOf(t, doomed)}`, {
      method: "DELETE",
      token: t.ownerKey,
    });
    expect(res.status).toBe(204);

    for (const socket of [byBearer, byTicket]) {
      expect(await socket.waitForClose(5000)).toEqual({ code: 4401, reason: "key revoked" });
    }
    // A ticket issued before the revocation died with its key.
    expect((await openSocket(t.slug, { ticket: unusedTicket })).res.status).toBe(401);
    expect((await openSocket(t.slug, { token: doomed })).res.status).toBe(401);
    unrelated.send({ type: "resume", after: 0 });
    await unrelated.waitFor((m) => m.type === "replayed");
    expect(unrelated.closed).toBeNull();
    unrelated.close();
  });

  it("from the moment the key is revoked in D1, the hub refuses the socket's commands and closes it", async () => {
    const { t, itemId } = await setup();
    const key = await createKey(t, "staff");
    const socket = await connectTerminal(t.slug, { token: key });
    const orderId = await confirmedOrder(t, itemId);
    const alertId = await insertOpenAlert(t.id);
    // Revoked behind the hub's back: no access_revoked event has reached it yet.
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), await keyIdOf(t, key))
      .run();

    socket.send({ type: "set_status", orderId, status: "preparing", requestId: "r1" });
    const result = await socket.waitFor((m) => m.type === "set_status_result");
    expect(result).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    expect(await socket.waitForClose(5000)).toMatchObject({ code: 4401 });
    expect(await orderStatus(orderId)).toBe("confirmed");
    const alert = await env.DB.prepare("SELECT acknowledged_at FROM alerts WHERE id = ?")
      .bind(alertId)
      .first<{ acknowledged_at: string | null }>();
    expect(alert?.acknowledged_at).toBeNull();
  });

  it("a revoked key's resume replays nothing", async () => {
    const { t, itemId } = await setup();
    const key = await createKey(t, "terminal");
    const socket = await connectTerminal(t.slug, { token: key });
    await confirmedOrder(t, itemId);
    await socket.waitForEvents(2);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), await keyIdOf(t, key))
      .run();
    const before = socket.events().length;
    socket.send({ type: "resume", after: 0 });
    expect(await socket.waitFor((m) => m.type === "error")).toMatchObject({ code: "unauthorized" });
    await socket.waitForClose(5000);
    expect(socket.events().length).toBe(before);
  });

  it("deleting a tenant closes every socket, kills its keys and answers 404 on its routes", async () => {
    const { t } = await setup();
    const staff = await createKey(t, "staff");
    const sockets = [
      await connectTerminal(t.slug, { token: staff }),
      await connectTerminal(t.slug, { token: t.ownerKey }),
    ];
    const unusedTicket = await ticketFor(t, staff);
    const res = await call(`/v1/platform/tenants/${t.slug}`, {
      method: "DELETE",
      token: ADMIN_TOKEN,
    });
    expect(res.status).toBe(204);
    for (const socket of sockets) {
      expect(await socket.waitForClose(5000)).toEqual({ code: 4401, reason: "tenant deleted" });
    }
    await expectError(await call(`/v1/stores/${t.slug}/menu`), 404, "not_found");
    await expectError(
      await call(`/v1/admin/${t.slug}/orders`, { token: t.ownerKey }),
      401,
      "unauthorized",
    );
    expect((await openSocket(t.slug, { ticket: unusedTicket })).res.status).toBe(401);
    await expectError(
      await call(`/v1/platform/tenants/${t.slug}`, { method: "DELETE", token: ADMIN_TOKEN }),
      404,
      "not_found",
    );
  });

  it("a ticket sent to another tenant's socket path is refused and stays usable at its own", async () => {
    const a = await setup();
    const b = await setup();
    const ticket = await ticketFor(b.t, await createKey(b.t, "terminal"));
    expect((await openSocket(a.t.slug, { ticket })).res.status).toBe(401);
    const own = await connectTerminal(b.t.slug, { ticket });
    own.close();
  });
});

type Role = "owner" | "staff" | "terminal";

describe("one role rule for HTTP and the socket", () => {
  /** Each command, what it needs, and how to tell that it was carried out. */
  const commands: {
    name: string;
    needs: Role;
    run: (socket: TestTerminal, ctx: { orderId: string; alertId: string }) => Promise<boolean>;
  }[] = [
    {
      name: "ack",
      needs: "terminal",
      run: async (socket) => {
        socket.send({ type: "ack", seq: 1 });
        socket.send({ type: "resume", after: 0 });
        const done = await socket.waitFor((m) => m.type === "replayed" || m.type === "error");
        return done.type === "replayed";
      },
    },
    {
      name: "resume",
      needs: "terminal",
      run: async (socket) => {
        socket.send({ type: "resume", after: 0 });
        const done = await socket.waitFor((m) => m.type === "replayed" || m.type === "error");
        return done.type === "replayed";
      },
    },
    {
      name: "ping",
      needs: "terminal",
      run: async (socket) => {
        socket.send({ type: "ping" });
        return (await socket.waitFor((m) => m.type === "pong")).type === "pong";
      },
    },
    {
      name: "set_status forward",
      needs: "terminal",
      run: async (socket, { orderId }) => {
        socket.send({ type: "set_status", orderId, status: "preparing", requestId: "fwd" });
        const result = await socket.waitFor((m) => m.type === "set_status_result");
        return result.ok === true && (await orderStatus(orderId)) === "preparing";
      },
    },
    {
      name: "set_status cancelled",
      needs: "staff",
      run: async (socket, { orderId }) => {
        socket.send({ type: "set_status", orderId, status: "cancelled", requestId: "cxl" });
        const result = await socket.waitFor((m) => m.type === "set_status_result");
        const status = await orderStatus(orderId);
        if (result.ok !== true) {
          expect(result).toMatchObject({ error: { code: "forbidden" } });
          expect(status).toBe("confirmed");
        }
        return result.ok === true && status === "cancelled";
      },
    },
    {
      name: "ack_alert",
      needs: "terminal",
      run: async (socket, { alertId }) => {
        socket.send({ type: "ack_alert", alertId });
        const result = await socket.waitFor((m) => m.type === "ack_alert_result");
        return result.ok === true;
      },
    },
  ];
  const covers: Record<Role, Role[]> = {
    owner: ["owner", "staff", "terminal"],
    staff: ["staff", "terminal"],
    terminal: ["terminal"],
  };

  for (const role of ["terminal", "staff", "owner"] as const) {
    for (const command of commands) {
      const allowed = covers[role].includes(command.needs);
      it(`${command.name} from a ${role} socket is ${allowed ? "carried out" : "refused"}`, async () => {
        const { t, itemId } = await setup();
        const key = role === "owner" ? t.ownerKey : await createKey(t, role);
        const socket = await connectTerminal(t.slug, { token: key });
        const ctx = {
          orderId: await confirmedOrder(t, itemId),
          alertId: await insertOpenAlert(t.id),
        };
        expect(await command.run(socket, ctx)).toBe(allowed);
        expect(socket.closed).toBeNull();
        socket.close();
      });
    }
  }

  it("the HTTP twin of a socket cancel refuses a terminal key as well", async () => {
    const { t, itemId } = await setup();
    const orderId = await confirmedOrder(t, itemId);
    const terminalKey = await createKey(t, "terminal");
    await expectError(
      await call(`/v1/admin/${t.slug}/orders/${orderId}/cancel`, {
        token: terminalKey,
        body: {},
      }),
      403,
      "forbidden",
    );
    expect(await orderStatus(orderId)).toBe("confirmed");
  });
});

describe("bounded socket input", () => {
  it("a frame over 16 KiB is refused without being echoed, and the socket stays open", async () => {
    const { t } = await setup();
    const socket = await connectTerminal(t.slug, { token: t.ownerKey });
    const marker = "X".repeat(17 * 1024);
    socket.send(JSON.stringify({ type: "resume", after: 0, pad: marker }));
    const error = await socket.waitFor((m) => m.type === "error");
    expect(error).toMatchObject({ code: "frame_too_large" });
    expect(JSON.stringify(error)).not.toContain("XXXX");
    socket.send({ type: "ping" });
    await socket.waitFor((m) => m.type === "pong");
    socket.close();
  });

  it("an error never quotes more than 100 characters of the frame", async () => {
    const { t } = await setup();
    const socket = await connectTerminal(t.slug, { token: t.ownerKey });
    const long = "y".repeat(5000);
    socket.send({ type: long });
    socket.send({ type: "ack", seq: 1, [long]: 1 });
    await socket.waitFor(() => socket.messages.filter((m) => m.type === "error").length === 2);
    for (const error of socket.messages.filter((m) => m.type === "error")) {
      const text = JSON.stringify(error);
      expect(text).not.toContain("y".repeat(101));
      expect(text.length).toBeLessThan(2000);
    }
    socket.close();
  });

  it("resume replays at most 500 events a page and says where to go on", async () => {
    const { t } = await setup();
    const hub = tenantHub(env, t.id);
    const now = new Date().toISOString();
    const events = Array.from({ length: 1203 }, (_, i) => ({
      id: `evt_page_${i}`,
      tenantId: t.id,
      type: "loyalty_updated" as const,
      payload: {
        phone: "+15550100",
        pointsChange: 1,
        balance: i + 1,
        transactionType: "add",
        reason: "x",
      },
      createdAt: now,
    }));
    await hub.publish(events, t.slug);
    const socket = await connectTerminal(t.slug, { token: t.ownerKey });
    const pages: { through: number; more: boolean }[] = [];
    let after = 0;
    for (;;) {
      const count = socket.messages.filter((m) => m.type === "replayed").length;
      socket.send({ type: "resume", after });
      await socket.waitFor(
        () => socket.messages.filter((m) => m.type === "replayed").length > count,
        10_000,
      );
      const page = socket.messages.filter((m) => m.type === "replayed").at(-1)?.data as {
        through: number;
        more: boolean;
      };
      pages.push(page);
      if (!page.more) break;
      after = page.through;
    }
    expect(pages).toEqual([
      { after: 0, through: 500, more: true },
      { after: 500, through: 1000, more: true },
      { after: 1000, through: 1203, more: false },
    ]);
    const seqs = socket.events().map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 1203 }, (_, i) => i + 1));
    socket.close();
  });

  it("resume is rate-limited per socket", async () => {
    const { t } = await setup();
    const socket = await connectTerminal(t.slug, { token: t.ownerKey });
    const other = await connectTerminal(t.slug, { token: t.ownerKey });
    for (let i = 0; i < 25; i++) socket.send({ type: "resume", after: 0 });
    await socket.waitFor(
      () =>
        socket.messages.filter((m) => m.type === "replayed" || m.type === "error").length === 25,
      10_000,
    );
    expect(socket.messages.filter((m) => m.type === "replayed")).toHaveLength(20);
    const limited = socket.messages.filter((m) => m.type === "error");
    expect(limited).toHaveLength(5);
    expect(limited[0]).toMatchObject({ code: "rate_limited" });
    // Another socket has its own allowance.
    other.send({ type: "resume", after: 0 });
    await other.waitFor((m) => m.type === "replayed");
    socket.close();
    other.close();
  });

  it("?after= replays one page too", async () => {
    const { t } = await setup();
    const hub = tenantHub(env, t.id);
    const now = new Date().toISOString();
    await hub.publish(
      Array.from({ length: 600 }, (_, i) => ({
        id: `evt_after_${i}`,
        tenantId: t.id,
        type: "loyalty_updated" as const,
        payload: {
          phone: "+15550100",
          pointsChange: 1,
          balance: i,
          transactionType: "add",
          reason: "x",
        },
        createdAt: now,
      })),
      t.slug,
    );
    const socket = await connectTerminal(t.slug, { token: t.ownerKey, query: "after=50" });
    const page = await socket.waitFor((m) => m.type === "replayed");
    expect(page.data).toEqual({ after: 50, through: 550, more: true });
    expect(socket.events()).toHaveLength(500);
    socket.close();
  });
});
