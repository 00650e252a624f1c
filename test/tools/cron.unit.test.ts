import { afterEach, describe, expect, it, vi } from "vitest";
import { CronSyntaxError, nextFireTime, parseCron, startCronScheduler } from "../../tools/cron.mjs";
import { readCronTriggers } from "../../tools/dev-server.mjs";

/** The next `count` fire times of `expression` after `from`, as ISO minutes. */
function nextTimes(expression: string, from: string, count = 4): (string | null)[] {
  const schedule = parseCron(expression);
  const times: (string | null)[] = [];
  let after: Date | null = new Date(from);
  for (let i = 0; i < count && after; i++) {
    after = nextFireTime(schedule, after);
    times.push(after ? after.toISOString().slice(0, 16) : null);
  }
  return times;
}

// 2026-12-01 is a Tuesday.
const FROM = "2026-12-01T21:34:20Z";

describe("parseCron and nextFireTime", () => {
  it("the project's schedule (wrangler.toml) fires at the start of every minute", () => {
    const crons = readCronTriggers();
    expect(crons).toEqual(["* * * * *"]);
    expect(nextTimes(crons[0] ?? "", FROM)).toEqual([
      "2026-12-01T21:35",
      "2026-12-01T21:36",
      "2026-12-01T21:37",
      "2026-12-01T21:38",
    ]);
    // Strictly after: a time on the minute gives the next minute, not itself.
    expect(nextTimes("* * * * *", "2026-12-01T21:35:00Z", 1)).toEqual(["2026-12-01T21:36"]);
  });

  it("steps, lists and ranges", () => {
    expect(nextTimes("*/15 * * * *", FROM)).toEqual([
      "2026-12-01T21:45",
      "2026-12-01T22:00",
      "2026-12-01T22:15",
      "2026-12-01T22:30",
    ]);
    // A step from a value runs to the end of the field.
    expect(nextTimes("5/20 * * * *", FROM)).toEqual([
      "2026-12-01T21:45",
      "2026-12-01T22:05",
      "2026-12-01T22:25",
      "2026-12-01T22:45",
    ]);
    expect(nextTimes("0,30 9-10 * * *", FROM)).toEqual([
      "2026-12-02T09:00",
      "2026-12-02T09:30",
      "2026-12-02T10:00",
      "2026-12-02T10:30",
    ]);
    // A range that ends before it starts wraps around.
    expect(nextTimes("55-5/5 * * * *", FROM, 5)).toEqual([
      "2026-12-01T21:55",
      "2026-12-01T22:00",
      "2026-12-01T22:05",
      "2026-12-01T22:55",
      "2026-12-01T23:00",
    ]);
  });

  it("months and weekdays by number or name; 1 is Sunday, as on Cloudflare", () => {
    expect(nextTimes("0 17 * * 1", FROM, 2)).toEqual(["2026-12-06T17:00", "2026-12-13T17:00"]);
    expect(nextTimes("0 17 * * sun", FROM, 2)).toEqual(nextTimes("0 17 * * 1", FROM, 2));
    expect(nextTimes("10 7 * * MON-FRI", FROM, 5)).toEqual([
      "2026-12-02T07:10",
      "2026-12-03T07:10",
      "2026-12-04T07:10",
      "2026-12-07T07:10",
      "2026-12-08T07:10",
    ]);
    expect(nextTimes("10 7 * * 2-6", FROM, 5)).toEqual(nextTimes("10 7 * * mon-fri", FROM, 5));
    expect(nextTimes("0 0 * * FRI-MON", FROM)).toEqual([
      "2026-12-04T00:00",
      "2026-12-05T00:00",
      "2026-12-06T00:00",
      "2026-12-07T00:00",
    ]);
    expect(nextTimes("0 15 1 jan,Jul *", FROM, 3)).toEqual([
      "2027-01-01T15:00",
      "2027-07-01T15:00",
      "2028-01-01T15:00",
    ]);
  });

  it("the examples of Cloudflare's cron trigger docs", () => {
    expect(nextTimes("0 15 1 * *", FROM, 3)).toEqual([
      "2027-01-01T15:00",
      "2027-02-01T15:00",
      "2027-03-01T15:00",
    ]);
    // Last weekday of the month: 31 January 2027 is a Sunday, 28 February a Sunday too.
    expect(nextTimes("59 23 LW * *", FROM, 3)).toEqual([
      "2026-12-31T23:59",
      "2027-01-29T23:59",
      "2027-02-26T23:59",
    ]);
    // Last Friday of the month.
    expect(nextTimes("0 18 * * 6L", FROM, 3)).toEqual([
      "2026-12-25T18:00",
      "2027-01-29T18:00",
      "2027-02-26T18:00",
    ]);
    expect(nextTimes("0 18 * * friL", FROM, 3)).toEqual(nextTimes("0 18 * * 6L", FROM, 3));
  });

  it("L-n, nW and d#n", () => {
    expect(nextTimes("0 9 L * *", FROM, 3)).toEqual([
      "2026-12-31T09:00",
      "2027-01-31T09:00",
      "2027-02-28T09:00",
    ]);
    expect(nextTimes("0 9 L-2 * *", FROM, 2)).toEqual(["2026-12-29T09:00", "2027-01-29T09:00"]);
    // 1 May 2027 is a Saturday: the nearest weekday in May is Monday the 3rd.
    expect(nextTimes("0 9 1W 5 *", FROM, 1)).toEqual(["2027-05-03T09:00"]);
    // 15 May 2027 is a Saturday too: Friday the 14th.
    expect(nextTimes("0 9 15W 5 *", FROM, 1)).toEqual(["2027-05-14T09:00"]);
    // The second Monday.
    expect(nextTimes("0 10 * * MON#2", FROM, 3)).toEqual([
      "2026-12-14T10:00",
      "2027-01-11T10:00",
      "2027-02-08T10:00",
    ]);
  });

  it("both day fields restricted: a day matches if either does", () => {
    expect(nextTimes("0 12 13 * FRI", FROM, 4)).toEqual([
      "2026-12-04T12:00",
      "2026-12-11T12:00",
      "2026-12-13T12:00",
      "2026-12-18T12:00",
    ]);
  });

  it("29 February waits for a leap year; 30 February never comes", () => {
    expect(nextTimes("0 0 29 2 *", FROM, 2)).toEqual(["2028-02-29T00:00", "2032-02-29T00:00"]);
    expect(nextTimes("0 0 30 FEB *", FROM, 1)).toEqual([null]);
  });

  it.each([
    ["* * * *", "expected 5 fields"],
    ["* * * * * *", "expected 5 fields"],
    ["60 * * * *", "60 is outside 0-59 in the minute field"],
    ["* 24 * * *", "outside 0-23"],
    ["* * 0 * *", "outside 1-31"],
    ["* * * 13 *", "outside 1-12"],
    ["* * * * 0", "0 is outside 1-7 in the day of week field"],
    ["*/0 * * * *", "step 0"],
    ["*/60 * * * *", "step 60"],
    ["* * * * MON#6", "the week of the month is 1-5"],
    ["1,,2 * * * *", 'cannot read ""'],
    ["x * * * *", '"x" is not a minute'],
    ["* * * JUNE *", '"JUNE" is not a month'],
    ["*-5 * * * *", "* cannot start a range"],
    ["* * ? * *", '"?" is not a day of month'],
  ])("rejects %s", (expression, problem) => {
    expect(() => parseCron(expression)).toThrow(CronSyntaxError);
    expect(() => parseCron(expression)).toThrow(problem);
  });
});

describe("startCronScheduler", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A scheduler on fake timers whose runs are recorded. */
  function schedule(
    expressions: string[],
    run: (expression: string, at: Date, signal: AbortSignal) => Promise<unknown> = async () => {},
  ) {
    const runs: string[] = [];
    const skips: string[] = [];
    const scheduler = startCronScheduler({
      expressions,
      run: (expression, at, signal) => {
        runs.push(`${expression} @ ${at.toISOString().slice(0, 16)}`);
        return run(expression, at, signal);
      },
      onSkip: (expression, at, reason) => {
        skips.push(`${expression} @ ${at.toISOString().slice(0, 16)}: ${reason}`);
      },
    });
    return { scheduler, runs, skips };
  }

  it("runs each expression on its schedule with its scheduled time, until stopped", async () => {
    vi.useFakeTimers({ now: new Date(FROM) });
    const { scheduler, runs } = schedule(["* * * * *", "*/2 * * * *"]);
    expect(scheduler.nextRun()?.toISOString()).toBe("2026-12-01T21:35:00.000Z");

    await vi.advanceTimersByTimeAsync(39_999);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual(["* * * * * @ 2026-12-01T21:35"]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toEqual([
      "* * * * * @ 2026-12-01T21:35",
      "* * * * * @ 2026-12-01T21:36",
      "*/2 * * * * @ 2026-12-01T21:36",
    ]);

    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(runs).toHaveLength(3);
  });

  it("waits longer than setTimeout can in several steps, and fires once", async () => {
    vi.useFakeTimers({ now: new Date(FROM) });
    const { scheduler, runs } = schedule(["0 0 1 9 *"]);
    expect(scheduler.nextRun()?.toISOString()).toBe("2027-09-01T00:00:00.000Z");
    await vi.advanceTimersByTimeAsync(Date.parse("2027-09-01T00:00:00Z") - Date.now() - 1);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual(["0 0 1 9 * @ 2027-09-01T00:00"]);
    await scheduler.stop();
  });

  it("never overlaps runs of one expression: a time falling during a run is skipped", async () => {
    vi.useFakeTimers({ now: new Date(FROM) });
    let finish = () => {};
    const slow = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let calls = 0;
    const { scheduler, runs, skips } = schedule(["* * * * *"], () =>
      ++calls === 1 ? slow : Promise.resolve(),
    );
    await vi.advanceTimersByTimeAsync(40_000 + 60_000);
    expect(runs).toEqual(["* * * * * @ 2026-12-01T21:35"]);
    expect(skips).toEqual(["* * * * * @ 2026-12-01T21:36: running"]);
    finish();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toEqual(["* * * * * @ 2026-12-01T21:35", "* * * * * @ 2026-12-01T21:37"]);
    await scheduler.stop();
  });

  it("does not make up the times it slept through", async () => {
    vi.useFakeTimers({ now: new Date(FROM) });
    const { scheduler, runs, skips } = schedule(["* * * * *"]);
    // The clock jumps ten minutes while no timer runs (a suspended laptop).
    vi.setSystemTime(new Date("2026-12-01T21:44:20Z"));
    await vi.advanceTimersByTimeAsync(40_000);
    // (setTimeout's shortest delay is 1 ms.)
    await vi.advanceTimersByTimeAsync(1);
    // The time the timer was for is skipped; the one that just came is run at once.
    expect(skips).toEqual(["* * * * * @ 2026-12-01T21:35: missed"]);
    expect(runs).toEqual(["* * * * * @ 2026-12-01T21:45"]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toEqual(["* * * * * @ 2026-12-01T21:45", "* * * * * @ 2026-12-01T21:46"]);
    await scheduler.stop();
  });

  it("stop aborts the run under way and waits for it", async () => {
    vi.useFakeTimers({ now: new Date(FROM) });
    let settled = false;
    const { scheduler, runs } = schedule(
      ["* * * * *"],
      (_expression, _at, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            settled = true;
            reject(new Error("aborted"));
          });
        }),
    );
    await vi.advanceTimersByTimeAsync(40_000);
    expect(runs).toHaveLength(1);
    await scheduler.stop();
    expect(settled).toBe(true);
  });

  it("rejects a bad expression before scheduling anything", () => {
    expect(() => startCronScheduler({ expressions: ["61 * * * *"], run: async () => {} })).toThrow(
      CronSyntaxError,
    );
  });
});
