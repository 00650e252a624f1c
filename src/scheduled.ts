import { getDb } from "./db/client";
import { pruneIdempotencyKeys } from "./db/idempotency";
import { redeliverPendingEvents } from "./services/outbox";

/** The cron pass: work that must not depend on traffic. */
export async function runScheduled(env: Env, now: Date): Promise<void> {
  const db = getDb(env);
  const [redelivered, pruned] = await Promise.all([
    redeliverPendingEvents(env, db, now),
    pruneIdempotencyKeys(db, now),
  ]);
  if (redelivered > 0 || pruned > 0) {
    console.log(JSON.stringify({ level: "info", msg: "cron pass", redelivered, pruned }));
  }
}
