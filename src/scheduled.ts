import { getDb } from "./db/client";
import { pruneIdempotencyKeys } from "./db/idempotency";

/** The cron pass: housekeeping that must not depend on traffic. */
export async function runScheduled(env: Env, now: Date): Promise<void> {
  const pruned = await pruneIdempotencyKeys(getDb(env), now);
  if (pruned > 0)
    console.log(JSON.stringify({ level: "info", msg: "pruned idempotency keys", pruned }));
}
