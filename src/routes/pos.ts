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
import { requireRole } from "../http/auth";
import { ApiError } from "../http/errors";
import { limitGiftCardLookups, limitTicketIssuing } from "../http/rate-limit";
import {
  type AppEnv,
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonContent,
  MoneySchema,
  requireWithinLimit,
  TenantParam,
} from "../http/router";
import { deliverEvents } from "../services/outbox";

/** Gift cards stay valid this long (five years, the longest common statutory minimum). */
const GIFT_CARD_VALIDITY_MS = 5 * 365 * 24 * 60 * 60 * 1000;
const MAX_GIFT_CARD_AMOUNT = 100_000_00;

const GiftCardSchema = z
  .object({ code: z.string(), balance: MoneySchema, expiresAt: z.string(), expired: z.boolean() })
  .openapi("GiftCard");

const PhoneParams = TenantParam.extend({
  phone: z
    .string()
    .transform((raw) => raw.replace(/[\s().-]/g, ""))
    .pipe(
      z.string().regex(/^\+?[1-9]\d{6,14}$/, "must be a phone number (E.164 digits, optional +)"),
    )
    .openapi({ param: { name: "phone", in: "path" }, example: "+15550100" }),
});

const PointsBody = z
  .object({
    points: z.number().int().positive().max(1_000_000),
    reason: z.string().trim().min(1).max(200),
  })
  .strict();

const ticketRoute = createRoute({
  method: "post",
  path: "/v1/pos/{tenant}/terminals/ticket",
  tags: ["pos"],
  summary: "A single-use, 60-second ticket for `?ticket=` on the terminal socket",
  security: bearerSecurity,
  request: { params: TenantParam },
  responses: {
    201: jsonContent(z.object({ ticket: z.string(), expiresAt: z.string() }), "the ticket"),
    ...errorResponses("unauthorized", "forbidden", "not_found", "rate_limited"),
  },
});

const createGiftCardRoute = createRoute({
  method: "post",
  path: "/v1/pos/{tenant}/gift-cards",
  tags: ["pos"],
  summary: "Issue a gift card; its code is returned once",
  security: bearerSecurity,
  request: {
    params: TenantParam,
    body: jsonBody(
      z
        .object({
          amount: MoneySchema,
          purchaserName: z.string().trim().min(1).max(120),
          recipientName: z.string().trim().min(1).max(120).optional(),
          recipientEmail: z.email().max(254).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonContent(z.object({ giftCard: GiftCardSchema }), "the new card"),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "unauthorized",
      "forbidden",
      "not_found",
    ),
  },
});

const getGiftCardRoute = createRoute({
  method: "get",
  path: "/v1/pos/{tenant}/gift-cards/{code}",
  tags: ["pos"],
  summary: "A gift card's balance",
  security: bearerSecurity,
  request: {
    params: TenantParam.extend({
      code: z
        .string()
        .min(1)
        .max(40)
        .openapi({ param: { name: "code", in: "path" } }),
    }),
  },
  responses: {
    200: jsonContent(z.object({ giftCard: GiftCardSchema }), "the card"),
    ...errorResponses("unauthorized", "forbidden", "not_found", "rate_limited"),
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
    security: bearerSecurity,
    request: { params: PhoneParams, body: jsonBody(PointsBody) },
    responses: {
      200: jsonContent(z.object({ balance: z.number().int() }), "the balance after the change"),
      ...errorResponses(
        "validation_failed",
        "malformed_json",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
      ),
    },
  });

const pos = createRouter();
pos.on("GET", "/v1/pos/:tenant/gift-cards/:code", limitGiftCardLookups);
pos.use("/v1/pos/:tenant/*", requireRole("terminal"));
pos.on("POST", "/v1/pos/:tenant/terminals/ticket", limitTicketIssuing);

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
    c.executionCtx.waitUntil(deliverEvents(c.env, tenant, [event]));
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
  c.executionCtx.waitUntil(deliverEvents(c.env, tenant, [result.event]));
  return result.balance;
}
