import { describe, expect, it } from "vitest";
import {
  decideTransition,
  isFinalStatus,
  ORDER_STATUSES,
  ORDER_TYPES,
  type OrderStatus,
  type OrderType,
  PAYMENT_STATUSES,
  POS_STATUSES,
  STATUS_SOURCES,
  type StatusSource,
} from "../../src/domain/order-status";

type Outcome = "apply" | "ignore" | "reject";

/**
 * The oracle, written from the rules as an explicit list of legal edges
 * rather than by ranks, so it does not share the implementation's logic.
 * Every move not listed is refused: ignored for a vendor report, rejected
 * for a command, with one exception (pending_payment → confirmed from a
 * non-payment source is rejected whoever sends it).
 */
const LEGAL_EDGES: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending_payment: ["confirmed", "cancelled"],
  confirmed: ["preparing", "ready", "out_for_delivery", "completed", "cancelled"],
  preparing: ["ready", "out_for_delivery", "completed", "cancelled"],
  ready: ["out_for_delivery", "completed", "cancelled"],
  out_for_delivery: ["completed", "cancelled"],
  completed: [],
  cancelled: [],
};

function expectedOutcome(
  from: OrderStatus,
  to: OrderStatus,
  source: StatusSource,
  orderType: OrderType,
): Outcome {
  const isReport = source === "stripe" || source === "pos_webhook" || source === "pos_poll";
  if (from === to) return "ignore";
  if (from === "pending_payment" && to === "confirmed") {
    return source === "stripe" || source === "system" ? "apply" : "reject";
  }
  const legal =
    LEGAL_EDGES[from].includes(to) && !(to === "out_for_delivery" && orderType !== "delivery");
  if (legal) return "apply";
  return isReport ? "ignore" : "reject";
}

const COMBINATIONS = ORDER_STATUSES.flatMap((from) =>
  ORDER_STATUSES.flatMap((to) =>
    STATUS_SOURCES.flatMap((source) =>
      ORDER_TYPES.map((orderType) => ({
        from,
        to,
        source,
        orderType,
        expected: expectedOutcome(from, to, source, orderType),
      })),
    ),
  ),
);

const REPORTS: readonly StatusSource[] = ["stripe", "pos_webhook", "pos_poll"];
const COMMANDS: readonly StatusSource[] = ["storefront", "terminal", "staff", "system"];

describe("decideTransition, every combination", () => {
  it("covers 7 × 7 statuses × 7 sources × 3 order types", () => {
    expect(COMBINATIONS.length).toBe(1029);
  });

  it("splits the combinations as the rules imply", () => {
    const counts = { apply: 0, ignore: 0, reject: 0 };
    for (const c of COMBINATIONS) counts[c.expected] += 1;
    // apply: pending→confirmed (2 sources × 3 types) + pending→cancelled (18)
    // + confirmed/preparing/ready → out_for_delivery (delivery only: 3 × 6)
    // + the other 11 forward or cancel edges from confirmed…out_for_delivery (× 18)
    // Refused moves per order type, leaving pending→confirmed aside: 42 pairs
    // minus 12 legal edges (15 for delivery), i.e. 29 + 26 + 29 = 84.
    // (the cancel and forward edges are legal from all 7 sources: × 21)
    // ignore: 147 unchanged + 3 report sources × 84
    // reject: 4 command sources × 84 + pending→confirmed from the 5 non-payment sources × 3 types
    expect(counts).toEqual({
      apply: 6 + 21 + 21 + 11 * 21,
      ignore: 147 + 3 * 84,
      reject: 4 * 84 + 5 * 3,
    });
    expect(counts.apply + counts.ignore + counts.reject).toBe(1029);
  });

  it.each(COMBINATIONS)(
    "$from → $to by $source for $orderType: $expected",
    ({ from, to, source, orderType, expected }) => {
      const decision = decideTransition({ from, to, source, orderType });
      expect(decision.outcome).toBe(expected);
      if (decision.outcome !== "apply") expect(decision.reason.length).toBeGreaterThan(0);
    },
  );
});

describe("decideTransition rules", () => {
  it("ignores a move to the same status from every source, even when final", () => {
    for (const source of STATUS_SOURCES) {
      for (const status of ORDER_STATUSES) {
        expect(decideTransition({ from: status, to: status, source, orderType: "pickup" })).toEqual(
          {
            outcome: "ignore",
            reason: "unchanged",
          },
        );
      }
    }
  });

  it("rejects a command on a completed order", () => {
    expect(
      decideTransition({
        from: "completed",
        to: "cancelled",
        source: "staff",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "reject",
      reason: "order is already completed",
    });
  });

  it("rejects a command on a cancelled order", () => {
    expect(
      decideTransition({
        from: "cancelled",
        to: "preparing",
        source: "terminal",
        orderType: "dine_in",
      }),
    ).toEqual({
      outcome: "reject",
      reason: "order is already cancelled",
    });
  });

  it("ignores a late report on a final order", () => {
    expect(
      decideTransition({
        from: "cancelled",
        to: "ready",
        source: "pos_webhook",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "ignore",
      reason: "order is already cancelled",
    });
    expect(
      decideTransition({
        from: "completed",
        to: "confirmed",
        source: "stripe",
        orderType: "delivery",
      }),
    ).toEqual({
      outcome: "ignore",
      reason: "order is already completed",
    });
  });

  it("never moves back to pending_payment", () => {
    expect(
      decideTransition({
        from: "confirmed",
        to: "pending_payment",
        source: "system",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "reject",
      reason: "an order cannot return to pending_payment",
    });
    expect(
      decideTransition({
        from: "ready",
        to: "pending_payment",
        source: "stripe",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "ignore",
      reason: "an order cannot return to pending_payment",
    });
  });

  it("confirms an unpaid order only on a payment confirmation", () => {
    for (const source of ["stripe", "system"] as const) {
      expect(
        decideTransition({ from: "pending_payment", to: "confirmed", source, orderType: "pickup" }),
      ).toEqual({
        outcome: "apply",
      });
    }
    for (const source of ["storefront", "terminal", "staff", "pos_webhook"] as const) {
      expect(
        decideTransition({ from: "pending_payment", to: "confirmed", source, orderType: "pickup" }),
      ).toEqual({
        outcome: "reject",
        reason: "order is not paid",
      });
    }
  });

  it("does not let an unpaid order skip ahead", () => {
    expect(
      decideTransition({
        from: "pending_payment",
        to: "preparing",
        source: "terminal",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "reject",
      reason: "order is not paid",
    });
    expect(
      decideTransition({
        from: "pending_payment",
        to: "completed",
        source: "system",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "reject",
      reason: "order is not paid",
    });
    expect(
      decideTransition({
        from: "pending_payment",
        to: "ready",
        source: "pos_webhook",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "ignore",
      reason: "order is not paid",
    });
  });

  it("cancels any non-final order from any source", () => {
    for (const from of [
      "pending_payment",
      "confirmed",
      "preparing",
      "ready",
      "out_for_delivery",
    ] as const) {
      for (const source of STATUS_SOURCES) {
        expect(decideTransition({ from, to: "cancelled", source, orderType: "delivery" })).toEqual({
          outcome: "apply",
        });
      }
    }
  });

  it("sends only delivery orders out for delivery", () => {
    expect(
      decideTransition({
        from: "ready",
        to: "out_for_delivery",
        source: "terminal",
        orderType: "delivery",
      }),
    ).toEqual({
      outcome: "apply",
    });
    expect(
      decideTransition({
        from: "ready",
        to: "out_for_delivery",
        source: "terminal",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "reject",
      reason: "a pickup order does not go out for delivery",
    });
    expect(
      decideTransition({
        from: "ready",
        to: "out_for_delivery",
        source: "pos_webhook",
        orderType: "dine_in",
      }),
    ).toEqual({
      outcome: "ignore",
      reason: "a dine_in order does not go out for delivery",
    });
  });

  it("ignores a stale report that would move the order backwards", () => {
    expect(
      decideTransition({
        from: "ready",
        to: "preparing",
        source: "pos_webhook",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "ignore",
      reason: "stale report",
    });
    expect(
      decideTransition({
        from: "preparing",
        to: "confirmed",
        source: "stripe",
        orderType: "pickup",
      }),
    ).toEqual({
      outcome: "ignore",
      reason: "stale report",
    });
  });

  it("rejects a command that would move the order backwards", () => {
    expect(
      decideTransition({ from: "ready", to: "preparing", source: "staff", orderType: "pickup" }),
    ).toEqual({
      outcome: "reject",
      reason: "order cannot move back from ready to preparing",
    });
    expect(
      decideTransition({
        from: "out_for_delivery",
        to: "ready",
        source: "terminal",
        orderType: "delivery",
      }),
    ).toEqual({
      outcome: "reject",
      reason: "order cannot move back from out_for_delivery to ready",
    });
  });

  it("applies forward moves, including skipped steps", () => {
    const forward: [OrderStatus, OrderStatus, OrderType][] = [
      ["confirmed", "preparing", "pickup"],
      ["confirmed", "ready", "pickup"],
      ["confirmed", "completed", "dine_in"],
      ["preparing", "ready", "dine_in"],
      ["ready", "completed", "pickup"],
      ["ready", "completed", "delivery"],
      ["confirmed", "out_for_delivery", "delivery"],
      ["out_for_delivery", "completed", "delivery"],
    ];
    for (const [from, to, orderType] of forward) {
      for (const source of [...REPORTS, ...COMMANDS]) {
        expect(decideTransition({ from, to, source, orderType })).toEqual({ outcome: "apply" });
      }
    }
  });

  it("applies a duplicate report once and ignores the replay", () => {
    const first = decideTransition({
      from: "preparing",
      to: "ready",
      source: "pos_webhook",
      orderType: "pickup",
    });
    const replay = decideTransition({
      from: "ready",
      to: "ready",
      source: "pos_webhook",
      orderType: "pickup",
    });
    expect([first, replay]).toEqual([
      { outcome: "apply" },
      { outcome: "ignore", reason: "unchanged" },
    ]);
  });
});

describe("isFinalStatus", () => {
  it("is true for completed and cancelled only", () => {
    expect(ORDER_STATUSES.filter(isFinalStatus)).toEqual(["completed", "cancelled"]);
  });
});

describe("status vocabularies", () => {
  it("lists the order statuses in forward order", () => {
    expect(ORDER_STATUSES).toEqual([
      "pending_payment",
      "confirmed",
      "preparing",
      "ready",
      "out_for_delivery",
      "completed",
      "cancelled",
    ]);
  });

  it("lists payment, POS, order-type and source values", () => {
    expect(PAYMENT_STATUSES).toEqual([
      "unpaid",
      "paid",
      "failed",
      "refund_pending",
      "refunded",
      "refund_failed",
    ]);
    expect(POS_STATUSES).toEqual([
      "not_required",
      "manual",
      "queued",
      "retrying",
      "synced",
      "failed",
    ]);
    expect(ORDER_TYPES).toEqual(["pickup", "delivery", "dine_in"]);
    expect(STATUS_SOURCES).toEqual([
      "storefront",
      "stripe",
      "pos_webhook",
      "pos_poll",
      "terminal",
      "staff",
      "system",
    ]);
  });
});
