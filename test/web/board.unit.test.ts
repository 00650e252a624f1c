import { describe, expect, it } from "vitest";
import {
  ageLevel,
  applyFrame,
  type BoardState,
  dismissAlert,
  type Effect,
  emptyBoard,
  FRESH_MS,
  failPending,
  formatAge,
  formatMoney,
  isFresh,
  isPending,
  nextStep,
  orderAgeMs,
  reconnecting,
  requestStatus,
  ticketsIn,
} from "../../web/terminal/board";
import { type Order, parseServerFrame, type ServerFrame } from "../../web/terminal/protocol";

const NOW = Date.parse("2026-11-20T12:00:00.000Z");

function order(overrides: Partial<Order> = {}): Order {
  return {
    id: "ord_1",
    number: 1001,
    status: "confirmed",
    paymentStatus: "paid",
    posStatus: "not_required",
    orderType: "pickup",
    customer: { name: "Ada Lovelace" },
    items: [
      {
        name: "Smash Burger",
        quantity: 2,
        modifiers: [{ name: "Add cheese" }],
        specialInstructions: "no onions",
      },
    ],
    specialInstructions: null,
    deliveryAddress: null,
    scheduledFor: null,
    estimatedReadyAt: null,
    posEnteredAt: null,
    total: { amount: 2990, currency: "USD" },
    createdAt: "2026-11-20T11:57:00.000Z",
    updatedAt: "2026-11-20T11:58:00.000Z",
    ...overrides,
  };
}

const envelope = (seq: number) => ({ seq, tenant: "bistro", timestamp: "2026-11-20T12:00:00Z" });

function hello(seq: number, timestamp = "2026-11-20T12:00:00.000Z"): ServerFrame {
  return { type: "hello", seq, tenant: "bistro", timestamp, data: { terminalId: "k", seq } };
}

function newOrder(seq: number, o: Order): ServerFrame {
  return { type: "new_order", ...envelope(seq), data: o };
}

function updated(seq: number, o: Order, previousStatus: Order["status"] | null): ServerFrame {
  return {
    type: "order_updated",
    ...envelope(seq),
    data: { order: o, previousStatus, change: "status" },
  };
}

/** Folds frames in order, collecting every effect. */
function alert(
  seq: number,
  alertId: string,
  message: string,
  acknowledgedAt: string | null = null,
): ServerFrame {
  return {
    type: "alert",
    ...envelope(seq),
    data: {
      alertId,
      level: "error",
      kind: "pos_sync_failed",
      orderId: null,
      message,
      acknowledgedAt,
    },
  };
}

function fold(frames: ServerFrame[], start: BoardState = emptyBoard(), now = NOW) {
  let state = start;
  const effects: Effect[] = [];
  for (const frame of frames) {
    const reduced = applyFrame(state, frame, now);
    state = reduced.state;
    effects.push(...reduced.effects);
  }
  return { state, effects };
}

/** A board that has finished its first catch-up with an empty log. */
const liveBoard = () => fold([hello(0)]).state;

describe("terminal board reducer", () => {
  it("puts a confirmed order in the New column, acks it and chimes once live", () => {
    const { state, effects } = fold([newOrder(1, order())], liveBoard());

    expect(ticketsIn(state, "confirmed").map((o) => o.number)).toEqual([1001]);
    expect(state.lastSeq).toBe(1);
    expect(effects).toEqual([
      { kind: "ack", seq: 1 },
      { kind: "chime", orderId: "ord_1" },
    ]);
    expect(isFresh(state, "ord_1", NOW)).toBe(true);
    expect(isFresh(state, "ord_1", NOW + FRESH_MS)).toBe(false);
  });

  it("ignores an event whose seq it has already folded in", () => {
    const first = fold([newOrder(1, order())], liveBoard());
    const again = applyFrame(first.state, newOrder(1, order({ status: "preparing" })), NOW);

    expect(again.state).toBe(first.state);
    expect(again.effects).toEqual([]);
  });

  it("does not show an unpaid order, and shows it once it is paid", () => {
    const unpaid = order({ status: "pending_payment", paymentStatus: "unpaid" });
    const paid = order({ updatedAt: "2026-11-20T11:59:00.000Z" });
    const afterCreate = fold([updated(1, unpaid, null)], liveBoard());
    expect(afterCreate.effects).toEqual([{ kind: "ack", seq: 1 }]);
    for (const column of ["confirmed", "preparing", "ready", "out_for_delivery"] as const) {
      expect(ticketsIn(afterCreate.state, column)).toEqual([]);
    }

    const afterPay = fold([updated(2, paid, "pending_payment")], afterCreate.state);
    expect(ticketsIn(afterPay.state, "confirmed").map((o) => o.id)).toEqual(["ord_1"]);
    expect(afterPay.effects).toContainEqual({ kind: "chime", orderId: "ord_1" });
  });

  it("moves a ticket between columns and drops it when completed or cancelled", () => {
    const start = fold([newOrder(1, order())], liveBoard()).state;
    const preparing = order({ status: "preparing", updatedAt: "2026-11-20T11:59:00.000Z" });
    const { state, effects } = fold([updated(2, preparing, "confirmed")], start);

    expect(ticketsIn(state, "confirmed")).toEqual([]);
    expect(ticketsIn(state, "preparing").map((o) => o.id)).toEqual(["ord_1"]);
    expect(effects).toEqual([{ kind: "ack", seq: 2 }]);
    expect(isFresh(state, "ord_1", NOW)).toBe(false);

    const done = order({ status: "completed", updatedAt: "2026-11-20T12:00:00.000Z" });
    const after = fold([updated(3, done, "preparing")], state).state;
    expect(ticketsIn(after, "preparing")).toEqual([]);
    expect(ticketsIn(after, "completed").map((o) => o.id)).toEqual(["ord_1"]);
  });

  it("keeps the newest snapshot when an older one arrives under a later seq", () => {
    const ready = order({ status: "ready", updatedAt: "2026-11-20T11:59:30.000Z" });
    const stale = order({ status: "confirmed", updatedAt: "2026-11-20T11:58:00.000Z" });
    const { state, effects } = fold(
      [updated(1, ready, "preparing"), newOrder(2, stale)],
      liveBoard(),
    );

    expect(state.orders.ord_1?.status).toBe("ready");
    expect(state.lastSeq).toBe(2);
    expect(effects.filter((e) => e.kind === "chime")).toEqual([]);
  });

  it("does not bring back a completed order on a stale re-published event", () => {
    const done = order({ status: "completed", updatedAt: "2026-11-20T12:00:00.000Z" });
    const { state } = fold([updated(1, done, "ready"), newOrder(2, order())], liveBoard());

    expect(ticketsIn(state, "confirmed")).toEqual([]);
  });

  it("builds the board from the first catch-up without chiming, then chimes for news", () => {
    const a = order({ id: "a", number: 1001 });
    const b = order({ id: "b", number: 1002, createdAt: "2026-11-20T11:58:00.000Z" });
    const caughtUp = fold([hello(2), newOrder(1, a), newOrder(2, b)]);

    expect(caughtUp.state.synced).toBe(true);
    expect(caughtUp.effects.filter((e) => e.kind === "chime")).toEqual([]);
    expect(ticketsIn(caughtUp.state, "confirmed").map((o) => o.number)).toEqual([1001, 1002]);

    // After a reconnect, an order missed while away is news: it chimes.
    const c = order({ id: "c", number: 1003 });
    const resumed = fold([hello(3), newOrder(3, c)], caughtUp.state);
    expect(resumed.effects).toContainEqual({ kind: "chime", orderId: "c" });
  });

  it("sorts a column oldest first", () => {
    const late = order({ id: "late", number: 1002, createdAt: "2026-11-20T11:59:00.000Z" });
    const early = order({ id: "early", number: 1001, createdAt: "2026-11-20T11:50:00.000Z" });
    const { state } = fold([newOrder(1, late), newOrder(2, early)], liveBoard());

    expect(ticketsIn(state, "confirmed").map((o) => o.id)).toEqual(["early", "late"]);
  });

  it("asks for a full replay when the server's log is behind the screen", () => {
    const seen = fold([newOrder(5, order())], { ...liveBoard(), lastSeq: 4 }).state;
    const { state, effects } = applyFrame(seen, hello(2), NOW);

    expect(effects).toEqual([{ kind: "resume", after: 0 }]);
    expect(state.lastSeq).toBe(0);
    expect(state.orders.ord_1?.number).toBe(1001);
  });

  it("learns the server's clock from hello and ages tickets by it", () => {
    // The device's clock runs two minutes behind the server's.
    const { state } = fold([hello(0, "2026-11-20T12:02:00.000Z")]);
    const placed = order({ createdAt: "2026-11-20T11:57:00.000Z" });

    expect(state.clockOffsetMs).toBe(120_000);
    expect(orderAgeMs(state, placed, NOW)).toBe(5 * 60_000);
  });

  it("tracks a status change until its result, and shows a refusal on the ticket", () => {
    const start = fold([newOrder(1, order())], liveBoard()).state;
    const sent = requestStatus(start, {
      requestId: "r1",
      orderId: "ord_1",
      status: "ready",
      sentAt: NOW,
    });
    expect(isPending(sent, "ord_1")).toBe(true);

    const refused = applyFrame(
      sent,
      {
        type: "set_status_result",
        requestId: "r1",
        ok: false,
        error: { code: "conflict", message: "order cannot move back from ready to preparing" },
      },
      NOW,
    ).state;
    expect(isPending(refused, "ord_1")).toBe(false);
    expect(refused.ticketErrors.ord_1).toBe("order cannot move back from ready to preparing");

    const retried = requestStatus(refused, {
      requestId: "r2",
      orderId: "ord_1",
      status: "preparing",
      sentAt: NOW,
    });
    expect(retried.ticketErrors.ord_1).toBeUndefined();
    const accepted = applyFrame(
      retried,
      { type: "set_status_result", requestId: "r2", ok: true },
      NOW,
    ).state;
    expect(accepted.pending).toEqual({});
    expect(accepted.ticketErrors).toEqual({});
  });

  it("ignores a result for a request it did not send", () => {
    const start = liveBoard();
    const { state } = applyFrame(
      start,
      { type: "set_status_result", requestId: "someone-else", ok: false },
      NOW,
    );
    expect(state).toBe(start);
  });

  it("fails pending changes that timed out or whose connection dropped", () => {
    let state = liveBoard();
    state = requestStatus(state, { requestId: "old", orderId: "a", status: "ready", sentAt: NOW });
    state = requestStatus(state, {
      requestId: "new",
      orderId: "b",
      status: "ready",
      sentAt: NOW + 9_000,
    });

    const timedOut = failPending(state, "no answer", NOW + 5_000);
    expect(Object.keys(timedOut.pending)).toEqual(["new"]);
    expect(timedOut.ticketErrors).toEqual({ a: "no answer" });

    const dropped = failPending(timedOut, "connection lost");
    expect(dropped.pending).toEqual({});
    expect(dropped.ticketErrors).toEqual({ a: "no answer", b: "connection lost" });
    expect(failPending(dropped, "again")).toBe(dropped);
  });

  it("clears a ticket's error once the order moves on", () => {
    let state = fold([newOrder(1, order())], liveBoard()).state;
    state = failPending(
      requestStatus(state, { requestId: "r", orderId: "ord_1", status: "preparing", sentAt: NOW }),
      "connection lost",
    );
    expect(state.ticketErrors.ord_1).toBe("connection lost");

    const moved = order({ status: "preparing", updatedAt: "2026-11-20T11:59:00.000Z" });
    state = fold([updated(2, moved, "confirmed")], state).state;
    expect(state.ticketErrors).toEqual({});
  });

  it("keeps one banner per alert, newest first, until dismissed", () => {
    const { state } = fold(
      [alert(1, "al_1", "first"), alert(2, "al_2", "second"), alert(3, "al_1", "raised again")],
      liveBoard(),
    );

    expect(state.alerts.map((a) => [a.alertId, a.message])).toEqual([
      ["al_1", "raised again"],
      ["al_2", "second"],
    ]);
    expect(dismissAlert(state, "al_1").alerts.map((a) => a.alertId)).toEqual(["al_2"]);
  });

  it("takes a banner down when the alert was acknowledged anywhere", () => {
    const { state } = fold(
      [
        alert(1, "al_1", "first"),
        alert(2, "al_2", "second"),
        alert(3, "al_1", "first", "2026-11-20T12:01:00.000Z"),
      ],
      liveBoard(),
    );
    expect(state.alerts.map((a) => a.alertId)).toEqual(["al_2"]);
    // The server's own frame parses to the same thing.
    const parsed = parseServerFrame(
      JSON.stringify({
        type: "alert",
        ...envelope(4),
        data: {
          alertId: "al_2",
          level: "critical",
          kind: "x",
          message: "m",
          acknowledgedAt: "2026-11-20T12:02:00Z",
        },
      }),
    );
    expect(fold([parsed], state).state.alerts).toEqual([]);
  });

  it("lists gift card and loyalty events in the activity strip", () => {
    const { state } = fold(
      [
        {
          type: "gift_card_purchased",
          ...envelope(1),
          data: {
            code: "GC-1234",
            balance: { amount: 2500, currency: "USD" },
            purchasedBy: "Grace",
            recipientName: null,
          },
        },
        {
          type: "loyalty_updated",
          ...envelope(2),
          data: {
            phone: "+15550100",
            pointsChange: 40,
            balance: 140,
            transactionType: "add",
            reason: "visit",
          },
        },
      ],
      liveBoard(),
    );

    expect(state.activity.map((a) => a.text)).toEqual([
      "Loyalty +15550100: +40 points (balance 140)",
      "Gift card GC-1234 sold by Grace: $25.00",
    ]);
  });

  it("advances past an event it cannot read, and shows a server error as a notice", () => {
    const { state, effects } = fold(
      [
        { type: "unreadable_event", seq: 1, eventType: "menu_changed", reason: "unknown" },
        { type: "error", code: "invalid_message", message: "invalid set_status message" },
      ],
      liveBoard(),
    );
    expect(state.lastSeq).toBe(1);
    expect(effects).toEqual([{ kind: "ack", seq: 1 }]);
    expect(state.notice).toBe("invalid set_status message (invalid_message)");
  });
});

describe("ticket helpers", () => {
  it("offers the next step of the order's own flow", () => {
    expect(nextStep(order({ status: "confirmed" }))).toEqual({
      status: "preparing",
      label: "Start",
    });
    expect(nextStep(order({ status: "preparing" }))).toEqual({ status: "ready", label: "Ready" });
    expect(nextStep(order({ status: "ready" }))).toEqual({
      status: "completed",
      label: "Complete",
    });
    expect(nextStep(order({ status: "ready", orderType: "delivery" }))).toEqual({
      status: "out_for_delivery",
      label: "Out for delivery",
    });
    expect(nextStep(order({ status: "out_for_delivery", orderType: "delivery" }))).toEqual({
      status: "completed",
      label: "Delivered",
    });
    expect(nextStep(order({ status: "completed" }))).toBeNull();
  });

  it("formats ages and flags old tickets", () => {
    expect(formatAge(59_999)).toBe("<1 min");
    expect(formatAge(3 * 60_000 + 5_000)).toBe("3 min");
    expect(formatAge(65 * 60_000)).toBe("1 h 05 min");
    expect([ageLevel(9 * 60_000), ageLevel(10 * 60_000), ageLevel(20 * 60_000)]).toEqual([
      "ok",
      "warn",
      "late",
    ]);
  });

  it("formats minor units in the currency's own precision", () => {
    expect(formatMoney({ amount: 1299, currency: "USD" }, "en-US")).toBe("$12.99");
    expect(formatMoney({ amount: 1299, currency: "JPY" }, "en-US")).toBe("¥1,299");
  });
});

describe("server frame parsing", () => {
  it("reads an order event, dropping fields the screen does not use", () => {
    const frame = parseServerFrame(
      JSON.stringify({
        type: "new_order",
        ...envelope(7),
        data: { ...order(), tenant: "bistro", subtotal: { amount: 1, currency: "USD" } },
      }),
    );
    expect(frame.type).toBe("new_order");
    if (frame.type !== "new_order") return;
    expect(frame.seq).toBe(7);
    expect(frame.data).toEqual(order());
  });

  it("keeps the seq of an event it cannot read", () => {
    expect(
      parseServerFrame(JSON.stringify({ type: "new_order", ...envelope(8), data: { id: 1 } })),
    ).toMatchObject({ type: "unreadable_event", seq: 8, eventType: "new_order" });
    expect(
      parseServerFrame(JSON.stringify({ type: "menu_changed", ...envelope(9), data: {} })),
    ).toEqual({ type: "unreadable_event", seq: 9, eventType: "menu_changed", reason: "unknown" });
  });

  it("reports frames outside the protocol as malformed", () => {
    expect(parseServerFrame("not json")).toEqual({
      type: "malformed",
      reason: "frame is not valid JSON",
    });
    expect(parseServerFrame("[]")).toEqual({ type: "malformed", reason: "frame has no type" });
    expect(parseServerFrame('{"type":"hello","seq":"x"}')).toEqual({
      type: "malformed",
      reason: "invalid hello frame",
    });
    expect(parseServerFrame('{"type":"pong"}')).toEqual({ type: "pong" });
  });
});

describe("paged replays", () => {
  const replayed = (after: number, through: number, more: boolean) =>
    parseServerFrame(JSON.stringify({ type: "replayed", data: { after, through, more } }));

  it("asks for the next page when a replay says there is more", () => {
    const o = order();
    const { state, effects } = fold([hello(900), newOrder(500, o), replayed(0, 500, true)]);
    expect(state.lastSeq).toBe(500);
    expect(effects).toContainEqual({ kind: "resume", after: 500 });
  });

  it("applies a live event that arrives between two pages after the second page, and loses nothing", () => {
    const loyalty = (seq: number): ServerFrame => ({
      type: "loyalty_updated",
      ...envelope(seq),
      data: {
        phone: "+15550100",
        pointsChange: 1,
        balance: seq,
        transactionType: "add",
        reason: null,
      },
    });
    const page = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => loyalty(from + i));
    const { state, effects } = fold(
      [
        hello(600),
        ...page(1, 500),
        replayed(0, 500, true),
        loyalty(601),
        ...page(501, 601),
        replayed(500, 601, false),
      ],
      reconnecting(emptyBoard()),
    );
    expect(state.lastSeq).toBe(601);
    expect(effects.filter((e) => e.kind === "resume")).toEqual([{ kind: "resume", after: 500 }]);
    expect(effects.filter((e) => e.kind === "ack").map((e) => e.kind === "ack" && e.seq)).toEqual(
      Array.from({ length: 601 }, (_, i) => i + 1),
    );
    expect(state.activity[0]?.text).toBe("Loyalty +15550100: +1 points (balance 601)");
  });

  it("asks for nothing more after the last page", () => {
    const { effects } = fold([hello(3), replayed(0, 3, false)]);
    expect(effects.filter((e) => e.kind === "resume")).toEqual([]);
  });

  it("reads a replayed frame and refuses a malformed one", () => {
    expect(replayed(1, 2, true)).toEqual({
      type: "replayed",
      data: { after: 1, through: 2, more: true },
    });
    expect(parseServerFrame('{"type":"replayed","data":{"more":"yes"}}')).toMatchObject({
      type: "malformed",
    });
  });
});
