import { env } from "cloudflare:workers";

/**
 * A `DB` binding that counts D1 round trips: each `run`/`all`/`first`/`raw`
 * of a prepared statement, each `batch` and each `exec` is one call to D1
 * (https://developers.cloudflare.com/d1/worker-api/d1-database/). Statements
 * pass through to the real binding; `trips` lists what was sent, in order.
 */
export interface D1Counter {
  db: D1Database;
  trips: string[];
  /** An `Env` whose `DB` is the counting binding and every other binding the real one. */
  env: Env;
}

const ROUND_TRIPS = new Set(["run", "all", "first", "raw"]);

export function countD1(): D1Counter {
  const trips: string[] = [];
  const real = new WeakMap<object, { statement: D1PreparedStatement; text: string }>();
  const wrap = (statement: D1PreparedStatement, text: string): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") {
          return (...values: unknown[]) => wrap(target.bind(...values), text);
        }
        const value = Reflect.get(target, prop, target);
        if (typeof prop === "string" && ROUND_TRIPS.has(prop)) {
          return (...args: unknown[]) => {
            trips.push(`${prop}: ${text}`);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    real.set(proxy, { statement, text });
    return proxy;
  };
  const db = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") return (text: string) => wrap(target.prepare(text), text);
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          const known = statements.map((s) => real.get(s) ?? { statement: s, text: "?" });
          trips.push(`batch: ${known.map((k) => k.text).join(" ; ")}`);
          return target.batch(known.map((k) => k.statement));
        };
      }
      if (prop === "exec") {
        return (text: string) => {
          trips.push(`exec: ${text}`);
          return target.exec(text);
        };
      }
      if (prop === "withSession") throw new Error("the counter does not follow D1 sessions");
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const counted = new Proxy(env, {
    get: (target, prop) => (prop === "DB" ? db : Reflect.get(target, prop, target)),
  });
  return { db, trips, env: counted };
}
