import { and, eq } from "drizzle-orm";
import { newId, sha256Hex } from "../crypto";
import type { Db } from "./client";
import { type OutboxRecord, outboxInsert } from "./outbox";
import { giftCards } from "./schema";

export type GiftCard = typeof giftCards.$inferSelect;

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** 16 Crockford base32 characters (80 random bits) in groups of four. */
export function generateGiftCardCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = "";
  for (const b of bytes) out += CROCKFORD[b % 32];
  return out.match(/.{4}/g)?.join("-") ?? out;
}

/**
 * The canonical form of a code as a customer may type it: case, dashes and
 * spaces do not matter, and the letters Crockford base32 leaves out are read
 * as the digits they look like.
 */
export function normalizeGiftCardCode(input: string): string | null {
  const compact = input
    .toUpperCase()
    .replace(/[\s-]/g, "")
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
  if (!/^[0-9A-HJKMNP-TV-Z]{16}$/.test(compact)) return null;
  return compact.match(/.{4}/g)?.join("-") ?? null;
}

export async function giftCardCodeHash(normalized: string): Promise<string> {
  return sha256Hex(`gift-card:${normalized}`);
}

/** Stores the card and its `gift_card_purchased` event in one batch. */
export async function insertGiftCard(db: Db, card: GiftCard, event: OutboxRecord): Promise<void> {
  await db.batch([db.insert(giftCards).values(card), outboxInsert(db, event)]);
}

export function newGiftCardId(): string {
  return newId("gft");
}

export async function findGiftCardByCode(
  db: Db,
  tenantId: string,
  normalized: string,
): Promise<GiftCard | undefined> {
  return db.query.giftCards.findFirst({
    where: and(
      eq(giftCards.tenantId, tenantId),
      eq(giftCards.codeHash, await giftCardCodeHash(normalized)),
    ),
  });
}
