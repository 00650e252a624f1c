/**
 * The client's rule for sequenced events (CONTRACT.md "Terminal socket"):
 * apply them in seq order, each once. An event past a gap waits, and the
 * screen asks `resume` from its last contiguous seq; a `replayed` frame ends
 * one page of a replay. Pure: the board applies what comes out `ready`, the
 * controller sends the `resume`.
 */

export interface EventOrder<E extends { seq: number }> {
  /** Every seq up to this one was applied (or is gone from the server's log): replays start after it. */
  lastSeq: number;
  /** Events past a gap, by seq, waiting for the ones before them. */
  early: readonly E[];
  /** The `after` of the replay under way (asked by `?after=` or `resume`), until its last page. */
  replayAfter: number | null;
}

export interface Ordered<E extends { seq: number }> {
  order: EventOrder<E>;
  /** Events to apply now, in this order. */
  ready: E[];
  /** When set, send `{ type: "resume", after: resume }`. */
  resume: number | null;
}

/** A screen that has applied nothing and asked for nothing. */
export function emptyOrder<E extends { seq: number }>(): EventOrder<E> {
  return { lastSeq: 0, early: [], replayAfter: null };
}

/** The socket (re)connects with `?after=lastSeq`: the server replays from there first. */
export function connecting<E extends { seq: number }>(order: EventOrder<E>): EventOrder<E> {
  return { lastSeq: order.lastSeq, early: order.early, replayAfter: order.lastSeq };
}

/** Takes one event, live or replayed: a duplicate is dropped, an early one waits. */
export function takeEvent<E extends { seq: number }>(order: EventOrder<E>, event: E): Ordered<E> {
  if (event.seq <= order.lastSeq || order.early.some((e) => e.seq === event.seq)) {
    return unchanged(order);
  }
  const early = [...order.early, event].sort((a, b) => a.seq - b.seq);
  return release({ lastSeq: order.lastSeq, early, replayAfter: order.replayAfter }, order.lastSeq);
}

/**
 * Ends one page of a replay. The page held every logged event in
 * `(after, through]`, so one still missing there was pruned from the log and
 * will not come: the screen moves on to `through`. With `more`, it asks for
 * the next page.
 */
export function endReplay<E extends { seq: number }>(
  order: EventOrder<E>,
  page: { after: number; through: number; more: boolean },
): Ordered<E> {
  // A replay that started past this screen's seq (asked before a reset) says nothing about its gap.
  if (page.after > order.lastSeq) return unchanged(order);
  const done = release(
    { lastSeq: order.lastSeq, early: order.early, replayAfter: null },
    page.through,
  );
  if (!page.more || done.resume !== null) return done;
  const after = done.order.lastSeq;
  return { ...done, order: { ...done.order, replayAfter: after }, resume: after };
}

/** The replay asked for will not come (the server answered `error`): the next gap asks again. */
export function replayRefused<E extends { seq: number }>(order: EventOrder<E>): EventOrder<E> {
  return { lastSeq: order.lastSeq, early: order.early, replayAfter: null };
}

function unchanged<E extends { seq: number }>(order: EventOrder<E>): Ordered<E> {
  return {
    order: { lastSeq: order.lastSeq, early: order.early, replayAfter: order.replayAfter },
    ready: [],
    resume: null,
  };
}

/**
 * Applies the waiting events up to `through`, then each one that follows
 * without a gap; asks for a replay when a gap remains and none is under way.
 */
function release<E extends { seq: number }>(order: EventOrder<E>, through: number): Ordered<E> {
  let lastSeq = Math.max(order.lastSeq, through);
  const ready: E[] = [];
  for (const event of order.early) {
    if (event.seq > lastSeq + 1) break;
    ready.push(event);
    lastSeq = Math.max(lastSeq, event.seq);
  }
  const early = order.early.slice(ready.length);
  const ask = early.length > 0 && order.replayAfter === null;
  return {
    order: { lastSeq, early, replayAfter: ask ? lastSeq : order.replayAfter },
    ready,
    resume: ask ? lastSeq : null,
  };
}
