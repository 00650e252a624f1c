import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { tenantHub } from "../../src/delivery";
import { REPLAY_PAGE_SIZE } from "../../src/domain/terminal-protocol";
import { createTenant, type TestTenant } from "../helpers";
import { connectTerminal, type Received, type TestTerminal } from "../ws-helpers";

/**
 * On one socket, events go out in seq order: a replay (`?after=` or `resume`,
 * paged) is never overtaken by a live event, and a live event is never sent
 * twice. Publishes are interleaved with the replay on purpose, at the points
 * where the hub yields: between two pages, and while it checks the key of a `resume`.
 */

let published = 0;

/** Publishes `count` events to the tenant's hub, as the outbox delivery does. */
async function publish(t: TestTenant, count: number): Promise<void> {
  const now = new Date().toISOString();
  const events = Array.from({ length: count }, () => {
    published += 1;
    return {
      id: `evt_order_${published}`,
      tenantId: t.id,
      type: "loyalty_updated" as const,
      payload: {
        phone: "+15550100",
        pointsChange: 1,
        balance: published,
        transactionType: "add",
        reason: "x",
      },
      createdAt: now,
    };
  });
  await tenantHub(env, t.id).publish(events, t.slug);
}

/**
 * Waits until the hub answered a ping of its own (not the runtime's
 * auto-response, which this frame's spacing avoids): everything the hub sent
 * this socket before has arrived by then.
 */
async function settled(socket: TestTerminal): Promise<void> {
  const pongs = socket.messages.filter((m) => m.type === "pong").length;
  socket.send('{ "type": "ping" }');
  await socket.waitFor(() => socket.messages.filter((m) => m.type === "pong").length > pongs);
}

function replays(socket: TestTerminal): Received[] {
  return socket.messages.filter((m) => m.type === "replayed");
}

/** Waits for the `count`th `replayed` frame and returns its data. */
async function replayEnd(
  socket: TestTerminal,
  count: number,
): Promise<{ after: number; through: number; more: boolean }> {
  await socket.waitFor(() => replays(socket).length >= count, 10_000);
  return replays(socket)[count - 1]?.data as { after: number; through: number; more: boolean };
}

function seqs(socket: TestTerminal): (number | undefined)[] {
  return socket.events().map((e) => e.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe("terminal socket: ordered delivery", () => {
  it("a paged ?after= replay with publishes around it arrives as every seq once, in order", async () => {
    const t = await createTenant();
    await publish(t, REPLAY_PAGE_SIZE + 100);
    // Seq 601 is published while the socket connects: before or after, it comes once, in place.
    const [socket] = await Promise.all([
      connectTerminal(t.slug, { token: t.ownerKey, query: "after=0" }),
      publish(t, 1),
    ]);
    expect(await replayEnd(socket, 1)).toMatchObject({ after: 0, through: 500, more: true });
    // Between two pages: the next page carries it, not the live feed.
    await publish(t, 1);
    await settled(socket);
    expect(seqs(socket)).toEqual(range(1, 500));
    // While the hub checks the resume's key.
    socket.send({ type: "resume", after: 500 });
    await publish(t, 1);
    const end = await replayEnd(socket, 2);
    expect(end.more).toBe(false);
    // Once caught up, live events follow on.
    await publish(t, 1);
    await socket.waitFor((m) => m.seq === 604);
    await settled(socket);
    expect(seqs(socket)).toEqual(range(1, 604));
    socket.close();
  });

  it("a resume from an older seq replays in order, and what was published meanwhile follows once", async () => {
    const t = await createTenant();
    await publish(t, REPLAY_PAGE_SIZE + 100);
    const socket = await connectTerminal(t.slug, { token: t.ownerKey });
    expect(socket.messages[0]).toMatchObject({ type: "hello", seq: 600 });
    await publish(t, 1);
    await socket.waitFor((m) => m.seq === 601);
    // Already past 601, the terminal asks for everything again.
    socket.send({ type: "resume", after: 0 });
    expect(await replayEnd(socket, 1)).toEqual({ after: 0, through: 500, more: true });
    await publish(t, 1);
    await settled(socket);
    expect(seqs(socket)).toEqual([601, ...range(1, 500)]);
    socket.send({ type: "resume", after: 500 });
    expect(await replayEnd(socket, 2)).toEqual({ after: 500, through: 602, more: false });
    await publish(t, 1);
    await socket.waitFor((m) => m.seq === 603);
    await settled(socket);
    expect(seqs(socket)).toEqual([601, ...range(1, 603)]);
    socket.close();
  });

  it("live events stay held between two pages while the object hibernates", async () => {
    const t = await createTenant();
    await publish(t, REPLAY_PAGE_SIZE + 10);
    const socket = await connectTerminal(t.slug, { token: t.ownerKey, query: "after=0" });
    expect(await replayEnd(socket, 1)).toMatchObject({ through: 500, more: true });
    await evictDurableObject(tenantHub(env, t.id));
    await publish(t, 1);
    await settled(socket);
    expect(seqs(socket)).toEqual(range(1, 500));
    socket.send({ type: "resume", after: 500 });
    expect(await replayEnd(socket, 2)).toEqual({ after: 500, through: 511, more: false });
    await evictDurableObject(tenantHub(env, t.id));
    await publish(t, 1);
    await socket.waitFor((m) => m.seq === 512);
    await settled(socket);
    expect(seqs(socket)).toEqual(range(1, 512));
    socket.close();
  });

  it("a socket that connected without ?after= gets each live event once, from hello's seq on", async () => {
    const t = await createTenant();
    await publish(t, 3);
    const socket = await connectTerminal(t.slug, { token: t.ownerKey });
    expect(socket.messages[0]).toMatchObject({ type: "hello", seq: 3 });
    await Promise.all([publish(t, 2), publish(t, 2)]);
    await socket.waitFor((m) => m.seq === 7);
    await settled(socket);
    expect(seqs(socket)).toEqual([4, 5, 6, 7]);
    socket.close();
  });
});
