import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = DrizzleD1Database<typeof schema>;

/** The drizzle handle over the `DB` binding; cheap, so one per request. */
export function getDb(env: Env): Db {
  return drizzle(env.DB, { schema });
}

/** D1 reports constraint failures only in the message text. */
export function isConstraintError(err: unknown, needle: string): boolean {
  const text = errorText(err);
  return /constraint/i.test(text) && text.includes(needle);
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` ${errorText(err.cause)}` : "";
  return `${err.message}${cause}`;
}
