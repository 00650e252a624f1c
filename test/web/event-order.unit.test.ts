import { describe, expect, it } from "vitest";
import {
  connecting,
  type EventOrder,
  emptyOrder,
  endReplay,
  replayRefused,
  takeEvent,
} from "../../web/terminal/event-order";

interface Event {
  seq: number;
  from: string;
}

const ev = (seq: number, from = "live"): Event => ({ seq, from });

/** Feeds frames in arrival order; returns the seqs applied, the resumes asked and the end state. */
function run(
  start: EventOrder<Event>,
  frames: (Event | { after: number; through: number; more: boolean })[],
) {
  let order = start;
  const applied: number[] = [];
  const resumes: number[] = [];
  for (const frame of frames) {
    const out = "seq" in frame ? takeEvent(order, frame) : endReplay(order, frame);
    order = out.order;
    applied.push(...out.ready.map((e) => e.seq));
    if (out.resume !== null) resumes.push(out.resume);
  }
  return { order, applied, resumes };
}

const at = (lastSeq: number): EventOrder<Event> => ({ lastSeq, early: [], replayAfter: null });

describe("event order: one seq at a time, each once", () => {
  it("applies events that follow on at once", () => {
    const { order, applied, resumes } = run(emptyOrder(), [ev(1), ev(2), ev(3)]);
    expect(applied).toEqual([1, 2, 3]);
    expect(resumes).toEqual([]);
    expect(order).toEqual({ lastSeq: 3, early: [], replayAfter: null });
  });

  it("drops an event it applied, and a second copy of one that waits", () => {
    const { order, applied, resumes } = run(at(2), [ev(1), ev(2), ev(4), ev(4, "again")]);
    expect(applied).toEqual([]);
    expect(order.early).toEqual([ev(4)]);
    expect(resumes).toEqual([2]);
  });

  it("holds events past a gap, asks resume from the last contiguous seq once, and applies them in seq order", () => {
    const { order, applied, resumes } = run(at(1), [ev(4), ev(3), ev(2, "replay"), ev(5)]);
    expect(applied).toEqual([2, 3, 4, 5]);
    expect(resumes).toEqual([1]);
    expect(order).toEqual({ lastSeq: 5, early: [], replayAfter: 1 });
  });

  it("a live event between two replay pages waits for the page that carries the seqs before it", () => {
    const page1 = Array.from({ length: 500 }, (_, i) => ev(i + 1, "replay"));
    const page2 = Array.from({ length: 101 }, (_, i) => ev(i + 501, "replay"));
    const { order, applied, resumes } = run(connecting(emptyOrder<Event>()), [
      ...page1,
      { after: 0, through: 500, more: true },
      ev(601),
      ...page2,
      { after: 500, through: 601, more: false },
      ev(602),
    ]);
    expect(applied).toEqual(Array.from({ length: 602 }, (_, i) => i + 1));
    // The page asked for the next one; the live event did not ask again.
    expect(resumes).toEqual([500]);
    expect(order).toEqual({ lastSeq: 602, early: [], replayAfter: null });
  });

  it("moves past seqs a replay page did not carry: they were pruned from the log", () => {
    const { order, applied } = run(connecting(at(3)), [
      ev(10, "replay"),
      ev(11, "replay"),
      { after: 3, through: 11, more: false },
      ev(12),
    ]);
    expect(applied).toEqual([10, 11, 12]);
    expect(order.lastSeq).toBe(12);
  });

  it("asks for the next page from where the page left it", () => {
    const { order, resumes } = run(connecting(at(0)), [
      ev(1, "replay"),
      { after: 0, through: 500, more: true },
    ]);
    expect(resumes).toEqual([500]);
    expect(order).toEqual({ lastSeq: 500, early: [], replayAfter: 500 });
  });

  it("asks again after the last page when a gap is still open", () => {
    const { order, resumes } = run(connecting(at(5)), [
      { after: 5, through: 5, more: false },
      ev(8),
    ]);
    expect(resumes).toEqual([5]);
    expect(order).toEqual({ lastSeq: 5, early: [ev(8)], replayAfter: 5 });
  });

  it("ignores the end of a replay that started past its seq (asked before the log was reset)", () => {
    const start = { lastSeq: 0, early: [], replayAfter: 0 };
    const { order, applied, resumes } = run(start, [{ after: 40, through: 40, more: false }]);
    expect(order).toEqual(start);
    expect(applied).toEqual([]);
    expect(resumes).toEqual([]);
  });

  it("does not ask while the connect's ?after= replay is under way, and asks again once a resume was refused", () => {
    const waiting = run(connecting(at(2)), [ev(5)]);
    expect(waiting.resumes).toEqual([]);
    const refused = run(replayRefused(waiting.order), [ev(6)]);
    expect(refused.resumes).toEqual([2]);
    expect(refused.order.early.map((e) => e.seq)).toEqual([5, 6]);
  });

  it("applies 1..n exactly once whatever the arrival order and duplicates", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 50; round++) {
      const arrivals = Array.from({ length: 40 }, (_, i) => ev(i + 1));
      for (let i = 0; i < 10; i++) arrivals.push(ev(1 + Math.floor(random() * 40), "dup"));
      for (let i = arrivals.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [arrivals[i], arrivals[j]] = [arrivals[j] as Event, arrivals[i] as Event];
      }
      const { order, applied, resumes } = run(emptyOrder(), arrivals);
      expect(applied).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(order).toMatchObject({ lastSeq: 40, early: [] });
      // One resume at a time: none is asked while one is under way.
      expect(resumes.length).toBeLessThanOrEqual(1);
    }
  });
});
