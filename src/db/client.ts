import { getTableColumns, is, SQL, sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
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

/**
 * `INSERT INTO table SELECT <row> WHERE <guard>`: the row is written only if
 * the guard holds at that point of a batch. Built as an insert-select so it
 * batches like any drizzle query (drizzle's raw `db.run` cannot be batched
 * on D1 with parameters). Values go through each column's own mapping, or
 * may be SQL expressions; columns not given are NULL (an integer primary key
 * then auto-assigns).
 */
export function insertIf<T extends SQLiteTable>(
  db: Db,
  table: T,
  row: { [K in keyof T["$inferInsert"]]?: T["$inferInsert"][K] | SQL },
  guard: SQL,
) {
  const values = row as Record<string, unknown>;
  const columns = Object.entries(getTableColumns(table)).filter(
    // The columns drizzle itself lists in an insert: all but always-generated ones.
    ([, column]) => column.generated === undefined || column.generated.type === "byDefault",
  );
  const selected = columns.map(([key, column]) => {
    const value = values[key];
    if (value === undefined || value === null) return sql`NULL`;
    // An SQL value is computed by the database at that point of the batch.
    return is(value, SQL) ? value : sql`${column.mapToDriverValue(value)}`;
  });
  return db.insert(table).select(sql`SELECT ${sql.join(selected, sql`, `)} WHERE ${guard}`);
}

/** A guard that always holds: for a statement built to take one, written unconditionally. */
export const ALWAYS: SQL = sql`1`;
