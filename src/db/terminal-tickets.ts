import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { randomToken, sha256Hex } from "../crypto";
import type { Db } from "./client";
import { apiKeys, terminalTickets } from "./schema";

/** How long a ticket can be used after it was issued. */
export const TICKET_TTL_MS = 60_000;

/** Issues a single-use ticket for `?ticket=` on the socket; only its hash is stored. */
export async function issueTerminalTicket(
  db: Db,
  key: { tenantId: string; apiKeyId: string },
  now: Date,
): Promise<{ ticket: string; expiresAt: string }> {
  const ticket = `olt_${randomToken(40)}`;
  const expiresAt = new Date(now.getTime() + TICKET_TTL_MS).toISOString();
  await db.insert(terminalTickets).values({
    ticketHash: await sha256Hex(ticket),
    tenantId: key.tenantId,
    apiKeyId: key.apiKeyId,
    expiresAt,
    createdAt: now.toISOString(),
  });
  return { ticket, expiresAt };
}

/**
 * This tenant's ticket, usable now: known, unused, unexpired, and issued from a key that is
 * still live.
 */
async function usableTicket(tenantId: string, ticket: string, now: Date) {
  return and(
    eq(terminalTickets.tenantId, tenantId),
    eq(terminalTickets.ticketHash, await sha256Hex(ticket)),
    isNull(terminalTickets.usedAt),
    gt(terminalTickets.expiresAt, now.toISOString()),
    sql`EXISTS (SELECT 1 FROM ${apiKeys} WHERE ${apiKeys.tenantId} = ${terminalTickets.tenantId} AND ${apiKeys.id} = ${terminalTickets.apiKeyId} AND ${apiKeys.revokedAt} IS NULL)`,
  );
}

/**
 * A ticket of this tenant that could be used now (see `usableTicket`), without
 * using it up: so a connection can be refused (rate limited) before it costs the client
 * its ticket.
 */
export async function findUsableTerminalTicket(
  db: Db,
  tenantId: string,
  ticket: string,
  now: Date,
): Promise<{ apiKeyId: string } | null> {
  const [row] = await db
    .select({ apiKeyId: terminalTickets.apiKeyId })
    .from(terminalTickets)
    .where(await usableTicket(tenantId, ticket, now))
    .limit(1);
  return row ?? null;
}

/**
 * Uses up a ticket of this tenant: one conditional update, so of two
 * connections racing with the same ticket exactly one gets it. Unknown,
 * used, expired, another tenant's (which stays unused), or issued from a key
 * revoked since: null.
 */
export async function consumeTerminalTicket(
  db: Db,
  tenantId: string,
  ticket: string,
  now: Date,
): Promise<{ apiKeyId: string } | null> {
  const [row] = await db
    .update(terminalTickets)
    .set({ usedAt: now.toISOString() })
    .where(await usableTicket(tenantId, ticket, now))
    .returning({ apiKeyId: terminalTickets.apiKeyId });
  return row ?? null;
}

/** Retention across every tenant: only tickets long expired go. */
export async function pruneTerminalTickets(db: Db, now: Date): Promise<void> {
  await db
    .delete(terminalTickets)
    .where(lt(terminalTickets.expiresAt, new Date(now.getTime() - TICKET_TTL_MS).toISOString()));
}
