// @ts-check
// Cron Triggers for local runs: `wrangler dev` never fires the `[triggers] crons` of
// wrangler.toml by itself, so `npm start` keeps the schedule here and calls the Worker's
// scheduled handler when an expression falls due.
//
// The syntax is Cloudflare's (https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions):
// five fields, minute hour day-of-month month day-of-week, always in UTC.
//
//   field         values                              also
//   minute        0-59                                * , - /
//   hour          0-23                                * , - /
//   day of month  1-31                                * , - /   L, L-n, LW, L-nW, nW
//   month         1-12 or JAN-DEC                     * , - /
//   day of week   1-7 or SUN-SAT (1 is Sunday)        * , - /   dL (last d), d#n (n-th d)
//
// Where the platform's docs are silent, this follows Cloudflare's own parser, saffron
// (github.com/cloudflare/saffron): a range may wrap (`FRI-MON`, `50-10`), a step starts at
// the range's first value (`5/15` is 5, 20, 35, 50), and when both day fields are restricted a
// day matches if either does, as in classic cron. Names are case-insensitive.

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** Long enough to reach the next 29 February after a century year that has none. */
const SEARCH_DAYS = 8 * 366 + 1;
/** setTimeout's largest delay; longer waits are taken in several steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const MONTH_NAMES = [
  "JAN",
  "FEB",
  "MAR",
  "APR",
  "MAY",
  "JUN",
  "JUL",
  "AUG",
  "SEP",
  "OCT",
  "NOV",
  "DEC",
];
const WEEKDAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/**
 * @typedef {object} FieldSpec
 * @property {string} name
 * @property {number} min
 * @property {number} max
 * @property {string[]} [names] names for min, min + 1, …
 */

/** @type {Record<"minute" | "hour" | "dayOfMonth" | "month" | "dayOfWeek", FieldSpec>} */
const FIELDS = {
  minute: { name: "minute", min: 0, max: 59 },
  hour: { name: "hour", min: 0, max: 23 },
  dayOfMonth: { name: "day of month", min: 1, max: 31 },
  month: { name: "month", min: 1, max: 12, names: MONTH_NAMES },
  dayOfWeek: { name: "day of week", min: 1, max: 7, names: WEEKDAY_NAMES },
};

/**
 * A day-of-month rule: a set of days, or one of the `L` / `W` forms.
 * @typedef {{ kind: "days", days: Set<number> }
 *   | { kind: "last", offset: number, weekday: boolean }
 *   | { kind: "nearestWeekday", day: number }} DayOfMonthRule
 */

/**
 * A day-of-week rule; weekdays are 0 (Sunday) to 6 (Saturday), as `Date#getUTCDay` counts.
 * @typedef {{ kind: "weekdays", weekdays: Set<number> }
 *   | { kind: "lastOfMonth", weekday: number }
 *   | { kind: "nth", weekday: number, nth: number }} DayOfWeekRule
 */

/**
 * A parsed expression.
 * @typedef {object} CronSchedule
 * @property {string} expression as written
 * @property {number[]} minutes ascending
 * @property {number[]} hours ascending
 * @property {Set<number>} months 1-12
 * @property {DayOfMonthRule | null} dayOfMonth null for `*`
 * @property {DayOfWeekRule | null} dayOfWeek null for `*`
 */

export class CronSyntaxError extends Error {
  /** @param {string} expression @param {string} problem */
  constructor(expression, problem) {
    super(`invalid cron expression "${expression}": ${problem}`);
    this.name = "CronSyntaxError";
  }
}

/**
 * Parses a five-field expression.
 * @param {string} expression
 * @returns {CronSchedule}
 * @throws {CronSyntaxError}
 */
export function parseCron(expression) {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new CronSyntaxError(expression, `expected 5 fields, found ${fields.length}`);
  }
  const [minute = "", hour = "", dayOfMonth = "", month = "", dayOfWeek = ""] = fields;
  /** @param {string} problem */
  const fail = (problem) => new CronSyntaxError(expression, problem);
  return {
    expression,
    minutes: [...parseList(minute, FIELDS.minute, fail)].sort((a, b) => a - b),
    hours: [...parseList(hour, FIELDS.hour, fail)].sort((a, b) => a - b),
    months: parseList(month, FIELDS.month, fail),
    dayOfMonth: dayOfMonth === "*" ? null : parseDayOfMonth(dayOfMonth, fail),
    dayOfWeek: dayOfWeek === "*" ? null : parseDayOfWeek(dayOfWeek, fail),
  };
}

/**
 * A comma-separated list of `*`, values, ranges and steps.
 * @param {string} text @param {FieldSpec} spec @param {(problem: string) => Error} fail
 * @returns {Set<number>}
 */
function parseList(text, spec, fail) {
  /** @type {Set<number>} */
  const values = new Set();
  for (const part of text.split(",")) {
    const match = /^(\*|[^-/]+)(?:-([^-/]+))?(?:\/(\d+))?$/.exec(part);
    if (!match) throw fail(`cannot read "${part}" in the ${spec.name} field`);
    const [, from = "", to, stepText] = match;
    const star = from === "*";
    if (star && to !== undefined) throw fail(`"${part}": * cannot start a range`);
    const start = star ? spec.min : parseValue(from, spec, fail);
    // `5/15` runs from 5 to the field's end, as `*/15` runs from its start.
    const end =
      to !== undefined
        ? parseValue(to, spec, fail)
        : star || stepText !== undefined
          ? spec.max
          : start;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || step > spec.max - spec.min) {
      throw fail(`step ${stepText} is outside 1-${spec.max - spec.min} in the ${spec.name} field`);
    }
    // A range whose end comes before its start wraps around the field (`FRI-MON`).
    const length = (end - start + (spec.max - spec.min + 1)) % (spec.max - spec.min + 1);
    for (let i = 0; i <= length; i += step) {
      values.add(spec.min + ((start - spec.min + i) % (spec.max - spec.min + 1)));
    }
  }
  return values;
}

/**
 * One value: a number, or a name where the field has names.
 * @param {string} text @param {FieldSpec} spec @param {(problem: string) => Error} fail
 */
function parseValue(text, spec, fail) {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named !== -1) return spec.min + named;
  if (!/^\d+$/.test(text)) throw fail(`"${text}" is not a ${spec.name}`);
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    throw fail(`${value} is outside ${spec.min}-${spec.max} in the ${spec.name} field`);
  }
  return value;
}

/**
 * @param {string} text @param {(problem: string) => Error} fail
 * @returns {DayOfMonthRule}
 */
function parseDayOfMonth(text, fail) {
  const upper = text.toUpperCase();
  const last = /^L(?:-(\d+))?(W)?$/.exec(upper);
  if (last) {
    const offset = last[1] === undefined ? 0 : Number(last[1]);
    if (offset > 30) throw fail(`${text}: the offset from the last day is at most 30`);
    return { kind: "last", offset, weekday: last[2] === "W" };
  }
  const nearest = /^(\d+)W$/.exec(upper);
  if (nearest) {
    return { kind: "nearestWeekday", day: parseValue(nearest[1] ?? "", FIELDS.dayOfMonth, fail) };
  }
  return { kind: "days", days: parseList(text, FIELDS.dayOfMonth, fail) };
}

/**
 * @param {string} text @param {(problem: string) => Error} fail
 * @returns {DayOfWeekRule}
 */
function parseDayOfWeek(text, fail) {
  const spec = FIELDS.dayOfWeek;
  const last = /^(.+)L$/i.exec(text);
  if (last) return { kind: "lastOfMonth", weekday: parseValue(last[1] ?? "", spec, fail) - 1 };
  const nth = /^(.+)#(\d+)$/.exec(text);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw fail(`${text}: the week of the month is 1-5`);
    return { kind: "nth", weekday: parseValue(nth[1] ?? "", spec, fail) - 1, nth: n };
  }
  return {
    kind: "weekdays",
    weekdays: new Set([...parseList(text, spec, fail)].map((day) => day - 1)),
  };
}

/** Days in a month; `month` is 1-12. @param {number} year @param {number} month */
function daysInMonth(year, month) {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 0 (Sunday) to 6 for a day of a month. @param {number} year @param {number} month @param {number} day */
function weekdayOf(year, month, day) {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

/**
 * The weekday (Monday to Friday) nearest to `day` without leaving the month: a Saturday moves
 * back to Friday (forward to Monday on the 1st), a Sunday forward to Monday (back to Friday on
 * the last day).
 * @param {number} year @param {number} month @param {number} day
 */
function nearestWeekday(year, month, day) {
  const weekday = weekdayOf(year, month, day);
  if (weekday === 6) return day === 1 ? 3 : day - 1;
  if (weekday === 0) return day === daysInMonth(year, month) ? day - 2 : day + 1;
  return day;
}

/**
 * @param {DayOfMonthRule} rule @param {number} year @param {number} month @param {number} day
 */
function dayOfMonthMatches(rule, year, month, day) {
  const length = daysInMonth(year, month);
  if (rule.kind === "days") return rule.days.has(day);
  if (rule.kind === "nearestWeekday") {
    return rule.day <= length && nearestWeekday(year, month, rule.day) === day;
  }
  const target = length - rule.offset;
  if (target < 1) return false;
  return (rule.weekday ? nearestWeekday(year, month, target) : target) === day;
}

/**
 * @param {DayOfWeekRule} rule @param {number} year @param {number} month @param {number} day
 */
function dayOfWeekMatches(rule, year, month, day) {
  const weekday = weekdayOf(year, month, day);
  if (rule.kind === "weekdays") return rule.weekdays.has(weekday);
  if (weekday !== rule.weekday) return false;
  if (rule.kind === "nth") return Math.ceil(day / 7) === rule.nth;
  return day + 7 > daysInMonth(year, month);
}

/**
 * Whether the expression runs on a date (month and both day fields).
 * @param {CronSchedule} schedule @param {number} year @param {number} month 1-12 @param {number} day
 */
function runsOn(schedule, year, month, day) {
  if (!schedule.months.has(month)) return false;
  const { dayOfMonth, dayOfWeek } = schedule;
  if (dayOfMonth && dayOfWeek) {
    return (
      dayOfMonthMatches(dayOfMonth, year, month, day) ||
      dayOfWeekMatches(dayOfWeek, year, month, day)
    );
  }
  if (dayOfMonth) return dayOfMonthMatches(dayOfMonth, year, month, day);
  if (dayOfWeek) return dayOfWeekMatches(dayOfWeek, year, month, day);
  return true;
}

/**
 * The first time after `after` (strictly, to the minute) at which the expression fires, or
 * null if it never does within eight years (`0 0 30 FEB *`).
 * @param {CronSchedule} schedule
 * @param {Date} after
 * @returns {Date | null}
 */
export function nextFireTime(schedule, after) {
  let t = Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  for (let i = 0; i < SEARCH_DAYS; i++) {
    const date = new Date(t);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth() + 1;
    const day = date.getUTCDate();
    const midnight = Date.UTC(year, month - 1, day);
    if (runsOn(schedule, year, month, day)) {
      const from = (t - midnight) / MINUTE_MS;
      for (const hour of schedule.hours) {
        if (hour * 60 + 59 < from) continue;
        const minute = schedule.minutes.find((m) => hour * 60 + m >= from);
        if (minute !== undefined) return new Date(midnight + (hour * 60 + minute) * MINUTE_MS);
      }
    }
    t = midnight + DAY_MS;
  }
  return null;
}

/**
 * @typedef {object} CronScheduler
 * @property {() => Date | null} nextRun when the next expression falls due
 * @property {() => Promise<void>} stop no further runs; aborts and awaits the ones under way
 */

/**
 * Calls `run(expression, scheduledTime, signal)` each time one of `expressions` falls due,
 * as the platform fires each Cron Trigger. A time is skipped, and reported to `onSkip`, when
 * the expression's previous run is still going ("running": runs never overlap, so a stuck
 * Worker does not pile them up) or when this process woke a minute or more after it
 * ("missed": it was suspended; the platform does not make up missed times either).
 * @param {object} options
 * @param {readonly string[]} options.expressions
 * @param {(expression: string, scheduledTime: Date, signal: AbortSignal) => Promise<unknown>} options.run
 *   its rejections are the caller's to report; they are swallowed here
 * @param {(expression: string, scheduledTime: Date, reason: "running" | "missed") => void} [options.onSkip]
 * @param {() => number} [options.now] the clock, ms since the epoch
 * @returns {CronScheduler}
 * @throws {CronSyntaxError} before anything is scheduled
 */
export function startCronScheduler({
  expressions,
  run,
  onSkip = () => {},
  now = () => Date.now(),
}) {
  const entries = expressions.map((expression) => ({
    schedule: parseCron(expression),
    /** @type {Promise<void> | null} */
    running: null,
  }));
  const aborter = new AbortController();
  /** Fire times are looked for strictly after this minute. */
  let after = now();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let stopped = false;

  const nextRun = () => {
    /** @type {Date | null} */
    let soonest = null;
    for (const { schedule } of entries) {
      const next = nextFireTime(schedule, new Date(after));
      if (next && (!soonest || next < soonest)) soonest = next;
    }
    return soonest;
  };

  const arm = () => {
    if (stopped) return;
    const next = nextRun();
    if (!next) return;
    const wait = Math.max(0, next.getTime() - now());
    timer = setTimeout(() => fire(next), Math.min(wait, MAX_TIMER_MS));
    // The scheduler alone never keeps a process alive.
    timer.unref?.();
  };

  /** @param {Date} due */
  const fire = (due) => {
    timer = undefined;
    if (stopped) return;
    const current = now();
    // A long wait is taken in steps, and a timer may fire a little early: wait on.
    if (current < due.getTime()) {
      arm();
      return;
    }
    const missed = current - due.getTime() >= MINUTE_MS;
    for (const entry of entries) {
      if (nextFireTime(entry.schedule, new Date(after))?.getTime() !== due.getTime()) continue;
      if (missed || entry.running) {
        onSkip(entry.schedule.expression, due, missed ? "missed" : "running");
        continue;
      }
      entry.running = Promise.resolve()
        .then(() => run(entry.schedule.expression, due, aborter.signal))
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => {
          entry.running = null;
        });
    }
    // After a late wake-up, the next time is the first one within the last minute or later.
    after = Math.max(due.getTime(), current - MINUTE_MS);
    arm();
  };

  arm();
  return {
    nextRun,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      aborter.abort();
      await Promise.all(entries.map((entry) => entry.running));
    },
  };
}
