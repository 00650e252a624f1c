import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  findGiftCardByCode,
  generateGiftCardCode,
  giftCardCodeHash,
  insertGiftCard,
  newGiftCardId,
  normalizeGiftCardCode,
} from "../db/gift-cards";
import { applyLoyaltyChange } from "../db/loyalty";
import { newOutboxRecord } from "../db/outbox";
import { issueTerminalTicket } from "../db/terminal-tickets";
import { deliverAfterResponse } from "../delivery";
import { keyRouter } from "../http/auth";
import { ApiError } from "../http/errors";
import { limitGiftCardLookups, limitTicketIssuing } from "../http/rate-limit";
import {
  type AppEnv,
  errorResponses,
  jsonBody,
  jsonContent,
  MoneySchema,
  NO_TENANT,
  registerComponents,
  requireWithinLimit,
  TenantParam,
} from "../http/router";
import { effectsOf } from "../services/effects";
import { serverTime } from "./schemas";

/** Gift cards stay valid this long (five years, the longest common statutory minimum). */
const GIFT_CARD_VALIDITY_MS = 5 * 365 * 24 * 60 * 60 * 1000;
const MAX_GIFT_CARD_AMOUNT = 100_000_00;

const GiftCardSchema = z
  .object({
    code: z
      .string()
      .describe(
        "The card's code, four groups of four (`7KQ2-M9XD-4TCB-Z8WN`); case, dashes and spaces do not matter when it is looked up.",
      ),
    balance: MoneySchema.openapi({ description: "What is left on the card." }),
    expiresAt: serverTime("When the card expires (five years after issue)"),
    expired: z.boolean().describe("Whether `expiresAt` has passed."),
  })
  .openapi("GiftCard", { description: "A gift card and its balance." });

const PhoneParams = TenantParam.extend({
  phone: z
    .string()
    .transform((raw) => raw.replace(/[\s().-]/g, ""))
    .pipe(
      z.string().regex(/^\+?[1-9]\d{6,14}$/, "must be a phone number (E.164 digits, optional +)"),
    )
    .openapi({
      param: { name: "phone", in: "path" },
      example: "+15550100",
      description:
        "The customer's phone number, which keys the loyalty account: 7–15 digits, optionally after `+` (URL-encoded as `%2B`); spaces, dots, dashes and parentheses are ignored.",
    }),
});

const PointsBody = z
  .object({
    points: z.number().int().positive().max(1_000_000).describe("How many points, 1–1 000 000."),
    reason: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .describe("Why, for the account's history (`visit`, `free coffee`); 1–200 characters."),
  })
  .strict();

const ticketRoute = createRoute({
  method: "post",
  path: "/v1/pos/{tenant}/terminals/ticket",
  tags: ["pos"],
  summary: "A single-use, 60-second ticket for `?ticket=` on the terminal socket",
  description:
    "A ticket lets a browser open the terminal socket (`GET /ws/pos/{tenant}?ticket=…`) without putting a key in its URL. It works once, within 60 seconds, and acts with this key's role; revoking the key revokes its unused tickets.",
  // After the key check: tickets are counted per key.
  middleware: limitTicketIssuing,
  request: { params: TenantParam },
  responses: {
    201: jsonContent(
      z.object({
        ticket: z.string().describe("The ticket (`olt_…`), for `?ticket=` once."),
        expiresAt: serverTime("When it stops working, 60 seconds from now"),
      }),
      "The ticket.",
    ),
    ...errorResponses(NO_TENANT, {
      code: "rate_limited",
      when: "this key was issued too many tickets in the last minute (120 by default), or this client sent too many unknown or revoked credentials; wait `Retry-After` seconds",
    }),
  },
});

const createGiftCardRoute = createRoute({
  method: "post",
  path: "/v1/pos/{tenant}/gift-cards",
  tags: ["pos"],
  summary: "Issue a gift card; its code is returned once",
  description:
    "Issues a gift card worth `amount`, valid for five years, and tells every terminal (`gift_card_purchased`). Only a hash of the code is stored: this answer is the only place it appears in full.",
  request: {
    params: TenantParam,
    body: jsonBody(
      z
        .object({
          amount: MoneySchema.openapi({
            description:
              "What the card is worth: in the tenant's currency, 1 to 10 000 000 minor units (100 000.00) and at most the tenant's `maxAmount`.",
          }),
          purchaserName: z
            .string()
            .trim()
            .min(1)
            .max(120)
            .describe("Who bought it; 1–120 characters."),
          recipientName: z
            .string()
            .trim()
            .min(1)
            .max(120)
            .optional()
            .describe("Who it is for; 1–120 characters."),
          recipientEmail: z
            .email()
            .max(254)
            .optional()
            .describe("Where the recipient can be told about it; at most 254 characters."),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonContent(
      z.object({
        giftCard: GiftCardSchema.openapi({ description: "The new card, with its code." }),
      }),
      "The new card.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the body does not match, or `amount` is in another currency, below 1, over 10 000 000 or over the tenant's `maxAmount`",
      },
      "malformed_json",
      NO_TENANT,
    ),
  },
});

const getGiftCardRoute = createRoute({
  method: "get",
  path: "/v1/pos/{tenant}/gift-cards/{code}",
  tags: ["pos"],
  summary: "A gift card's balance",
  description: "The card's balance and expiry, looked up by its code.",
  request: {
    params: TenantParam.extend({
      code: z
        .string()
        .min(1)
        .max(40)
        .openapi({
          param: { name: "code", in: "path" },
          description: "The card's code as printed; case, dashes and spaces do not matter.",
        }),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({ giftCard: GiftCardSchema.openapi({ description: "The card." }) }),
      "The card.",
    ),
    ...errorResponses(
      { code: "not_found", when: "no tenant has this slug, or it has no card with this code" },
      {
        code: "rate_limited",
        when: "more than 60 look-ups in a minute from this client address, across all tenants, or too many unknown or revoked credentials; wait `Retry-After` seconds",
      },
    ),
  },
});

const loyaltyRoute = (kind: "add" | "redeem") =>
  createRoute({
    method: "post",
    path: `/v1/pos/{tenant}/loyalty/{phone}/${kind}`,
    tags: ["pos"],
    summary:
      kind === "add"
        ? "Add loyalty points"
        : "Redeem loyalty points (409 when the balance is short)",
    description:
      kind === "add"
        ? "Adds points to the account of this phone number (opened by its first points) and tells every terminal (`loyalty_updated`)."
        : "Takes points from the account of this phone number, never below zero, and tells every terminal (`loyalty_updated`).",
    request: { params: PhoneParams, body: jsonBody(PointsBody) },
    responses: {
      200: jsonContent(
        z.object({ balance: z.number().int().describe("The account's points after the change.") }),
        "The balance after the change.",
      ),
      ...errorResponses(
        "validation_failed",
        "malformed_json",
        NO_TENANT,
        ...(kind === "redeem"
          ? [
              {
                code: "conflict",
                when: "the balance is smaller than `points`; `details.balance` is the balance",
                message: "balance is 40 points; cannot redeem 100",
                details: { balance: 40 },
              } as const,
            ]
          : []),
      ),
    },
  });

const pos = keyRouter("terminal");
registerComponents(pos.openAPIRegistry, { GiftCard: GiftCardSchema });
pos.on("GET", "/v1/pos/:tenant/gift-cards/:code", limitGiftCardLookups);

export const posRoutes = pos
  .openapi(ticketRoute, async (c) => {
    const issued = await issueTerminalTicket(
      c.get("db"),
      { tenantId: c.get("tenant").id, apiKeyId: c.get("apiKey").id },
      new Date(),
    );
    return c.json(issued, 201);
  })
  .openapi(createGiftCardRoute, async (c) => {
    const tenant = c.get("tenant");
    const body = c.req.valid("json");
    if (body.amount.currency !== tenant.currency) {
      throw new ApiError("validation_failed", `amount.currency: must be ${tenant.currency}`);
    }
    if (body.amount.amount < 1 || body.amount.amount > MAX_GIFT_CARD_AMOUNT) {
      throw new ApiError(
        "validation_failed",
        `amount.amount: must be between 1 and ${MAX_GIFT_CARD_AMOUNT}`,
      );
    }
    requireWithinLimit(tenant, body.amount.amount, "amount.amount");
    const now = new Date();
    const code = generateGiftCardCode();
    const expiresAt = new Date(now.getTime() + GIFT_CARD_VALIDITY_MS).toISOString();
    const event = newOutboxRecord(
      tenant.id,
      {
        type: "gift_card_purchased",
        payload: {
          code,
          balance: body.amount,
          purchasedBy: body.purchaserName,
          recipientName: body.recipientName ?? null,
          recipientEmail: body.recipientEmail ?? null,
          expiresAt,
        },
      },
      now,
    );
    await insertGiftCard(
      c.get("db"),
      {
        id: newGiftCardId(),
        tenantId: tenant.id,
        codeHash: await giftCardCodeHash(code),
        codeLast4: code.slice(-4),
        initialAmount: body.amount.amount,
        balance: body.amount.amount,
        currency: tenant.currency,
        purchaserName: body.purchaserName,
        recipientName: body.recipientName ?? null,
        recipientEmail: body.recipientEmail ?? null,
        expiresAt,
        createdAt: now.toISOString(),
      },
      event,
    );
    deliverAfterResponse(c, effectsOf(tenant, { events: [event] }));
    return c.json({ giftCard: { code, balance: body.amount, expiresAt, expired: false } }, 201);
  })
  .openapi(getGiftCardRoute, async (c) => {
    const tenant = c.get("tenant");
    const code = normalizeGiftCardCode(c.req.valid("param").code);
    const card = code ? await findGiftCardByCode(c.get("db"), tenant.id, code) : undefined;
    if (!card || !code) throw new ApiError("not_found", "unknown gift card");
    return c.json(
      {
        giftCard: {
          code,
          balance: { amount: card.balance, currency: card.currency },
          expiresAt: card.expiresAt,
          expired: Date.parse(card.expiresAt) <= Date.now(),
        },
      },
      200,
    );
  })
  .openapi(loyaltyRoute("add"), async (c) => {
    const { phone } = c.req.valid("param");
    return c.json({ balance: await changePoints(c, "add", phone, c.req.valid("json")) }, 200);
  })
  .openapi(loyaltyRoute("redeem"), async (c) => {
    const { phone } = c.req.valid("param");
    return c.json({ balance: await changePoints(c, "redeem", phone, c.req.valid("json")) }, 200);
  });

/** Applies a loyalty change, answers 409 for a short balance, and delivers its event. */
async function changePoints(
  c: Context<AppEnv>,
  kind: "add" | "redeem",
  phone: string,
  body: z.infer<typeof PointsBody>,
): Promise<number> {
  const tenant = c.get("tenant");
  const result = await applyLoyaltyChange(
    c.get("db"),
    { tenantId: tenant.id, phone, kind, points: body.points, reason: body.reason },
    new Date(),
  );
  if (!result.ok) {
    throw new ApiError(
      "conflict",
      `balance is ${result.balance} points; cannot redeem ${body.points}`,
      { balance: result.balance },
    );
  }
  deliverAfterResponse(c, effectsOf(tenant, { events: [result.event] }));
  return result.balance;
}
