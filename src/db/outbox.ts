import type { SQL } from "drizzle-orm";
import { newId } from "../crypto";
import { type Db, insertIf } from "./client";
import { outboxEvents } from "./schema";

/** The client-facing event types (the terminal protocol's server messages). */
export type OutboxEventType =
  | "new_order"
  | "order_updated"
  | "gift_card_purchased"
  | "loyalty_updated"
  | "alert";

/**
 * The outbox row for an event; callers put it in the same batch as the state
 * change it describes, so the event exists exactly when the change does.
 */
export function outboxInsert(
  db: Db,
  event: { tenantId: string; type: OutboxEventType; payload: unknown },
  now: Date,
) {
  return db.insert(outboxEvents).values({
    id: newId("evt"),
    tenantId: event.tenantId,
    type: event.type,
    payload: event.payload,
    createdAt: now.toISOString(),
  });
}

/**
 * The outbox row, written only when the SQL condition `guard` holds at that
 * point of the batch (for example "the order now has the version this change
 * gave it").
 */
export function guardedOutboxInsert(
  db: Db,
  event: { tenantId: string; type: OutboxEventType; payload: unknown },
  guard: SQL,
  now: Date,
) {
  return insertIf(
    db,
    outboxEvents,
    {
      id: newId("evt"),
      tenantId: event.tenantId,
      type: event.type,
      payload: event.payload,
      createdAt: now.toISOString(),
      attempts: 0,
    },
    guard,
  );
}
