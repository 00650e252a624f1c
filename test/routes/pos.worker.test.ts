import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  call,
  callJson,
  createKey,
  createTenant,
  expectError,
  type TestTenant,
  tableCounts,
} from "../helpers";
import { connectTerminal } from "../ws-helpers";

async function setup(): Promise<{ t: TestTenant; terminalKey: string }> {
  const t = await createTenant();
  return { t, terminalKey: await createKey(t, "terminal") };
}

const usd = (amount: number) => ({ amount, currency: "USD" });

describe("gift cards", () => {
  it("issues a card with an unguessable code, reads its balance and tells the terminals", async () => {
    const { t, terminalKey } = await setup();
    const terminal = await connectTerminal(t.slug, { token: terminalKey });
    const created = await callJson<{
      giftCard: { code: string; balance: unknown; expiresAt: string; expired: boolean };
    }>(
      `/v1/pos/${t.slug}/gift-cards`,
      {
        token: terminalKey,
        body: {
          amount: usd(5000),
          purchaserName: "Grace",
          recipientName: "Alan",
          recipientEmail: "alan@example.com",
        },
      },
      201,
    );
    const { code } = created.giftCard;
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(created.giftCard.balance).toEqual(usd(5000));
    const years = (Date.parse(created.giftCard.expiresAt) - Date.now()) / (365 * 24 * 3600_000);
    expect(years).toBeGreaterThan(4.9);

    const event = await terminal.waitFor((m) => m.type === "gift_card_purchased");
    expect(event.data).toEqual({
      code,
      balance: usd(5000),
      purchasedBy: "Grace",
      recipientName: "Alan",
      recipientEmail: "alan@example.com",
      expiresAt: created.giftCard.expiresAt,
    });

    // Customers type codes loosely: case and dashes do not matter.
    const loose = code.toLowerCase().replace(/-/g, " ");
    const read = await callJson<{ giftCard: { code: string; balance: unknown; expired: boolean } }>(
      `/v1/pos/${t.slug}/gift-cards/${encodeURIComponent(loose)}`,
      { token: terminalKey },
      200,
    );
    expect(read.giftCard).toMatchObject({ code, balance: usd(5000), expired: false });

    // Only a hash of the code is stored.
    const stored = await env.DB.prepare("SELECT * FROM gift_cards").all();
    expect(JSON.stringify(stored.results)).not.toContain(code);
    terminal.close();
  });

  it("codes differ from card to card", async () => {
    const { t, terminalKey } = await setup();
    const codes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const body = await callJson<{ giftCard: { code: string } }>(
        `/v1/pos/${t.slug}/gift-cards`,
        { token: terminalKey, body: { amount: usd(100), purchaserName: "P" } },
        201,
      );
      codes.add(body.giftCard.code);
    }
    expect(codes.size).toBe(20);
  });

  it("an unknown code, or one of another tenant, is 404", async () => {
    const a = await setup();
    const b = await setup();
    const card = await callJson<{ giftCard: { code: string } }>(
      `/v1/pos/${a.t.slug}/gift-cards`,
      { token: a.terminalKey, body: { amount: usd(100), purchaserName: "P" } },
      201,
    );
    await expectError(
      await call(`/v1/pos/${a.t.slug}/gift-cards/AAAA-BBBB-CCCC-DDDD`, { token: a.terminalKey }),
      404,
      "not_found",
    );
    await expectError(
      await call(`/v1/pos/${a.t.slug}/gift-cards/short`, { token: a.terminalKey }),
      404,
      "not_found",
    );
    await expectError(
      await call(`/v1/pos/${b.t.slug}/gift-cards/${card.giftCard.code}`, { token: b.terminalKey }),
      404,
      "not_found",
    );
  });

  it.each([
    ["zero amount", { amount: usd(0), purchaserName: "P" }],
    ["another currency", { amount: { amount: 100, currency: "EUR" }, purchaserName: "P" }],
    ["no purchaser", { amount: usd(100) }],
    ["bad email", { amount: usd(100), purchaserName: "P", recipientEmail: "x" }],
    ["unknown field", { amount: usd(100), purchaserName: "P", pin: "1234" }],
  ])("%s is 400 and writes nothing", async (_name, body) => {
    const { t, terminalKey } = await setup();
    const before = await tableCounts();
    await expectError(
      await call(`/v1/pos/${t.slug}/gift-cards`, { token: terminalKey, body }),
      400,
      "validation_failed",
    );
    expect(await tableCounts()).toEqual(before);
  });
});

describe("loyalty", () => {
  it("adds and redeems points, normalising the phone number, and tells the terminals", async () => {
    const { t, terminalKey } = await setup();
    const terminal = await connectTerminal(t.slug, { token: terminalKey });
    const add = await callJson<{ balance: number }>(
      `/v1/pos/${t.slug}/loyalty/${encodeURIComponent("+1 (555) 010-0200")}/add`,
      { token: terminalKey, body: { points: 120, reason: "order 1001" } },
      200,
    );
    expect(add.balance).toBe(120);
    const redeem = await callJson<{ balance: number }>(
      `/v1/pos/${t.slug}/loyalty/${encodeURIComponent("+15550100200")}/redeem`,
      { token: terminalKey, body: { points: 100, reason: "free coffee" } },
      200,
    );
    expect(redeem.balance).toBe(20);
    const events = await terminal.waitForEvents(2);
    expect(events.map((e) => e.data)).toEqual([
      {
        phone: "+15550100200",
        pointsChange: 120,
        balance: 120,
        transactionType: "add",
        reason: "order 1001",
      },
      {
        phone: "+15550100200",
        pointsChange: -100,
        balance: 20,
        transactionType: "redeem",
        reason: "free coffee",
      },
    ]);
    const txs = await env.DB.prepare(
      "SELECT kind, points, balance_after FROM loyalty_transactions WHERE phone = ? ORDER BY created_at, rowid",
    )
      .bind("+15550100200")
      .all();
    expect(txs.results).toEqual([
      { kind: "add", points: 120, balance_after: 120 },
      { kind: "redeem", points: 100, balance_after: 20 },
    ]);
    terminal.close();
  });

  it("redeeming more than the balance is 409 and writes nothing", async () => {
    const { t, terminalKey } = await setup();
    await callJson(
      `/v1/pos/${t.slug}/loyalty/15550100300/add`,
      { token: terminalKey, body: { points: 50, reason: "r" } },
      200,
    );
    const before = await tableCounts();
    const error = await expectError(
      await call(`/v1/pos/${t.slug}/loyalty/15550100300/redeem`, {
        token: terminalKey,
        body: { points: 51, reason: "r" },
      }),
      409,
      "conflict",
    );
    expect(error.details).toEqual({ balance: 50 });
    await expectError(
      await call(`/v1/pos/${t.slug}/loyalty/15550100999/redeem`, {
        token: terminalKey,
        body: { points: 1, reason: "r" },
      }),
      409,
      "conflict",
    );
    expect(await tableCounts()).toEqual(before);
  });

  it("concurrent redeems never take the balance below zero", async () => {
    const { t, terminalKey } = await setup();
    await callJson(
      `/v1/pos/${t.slug}/loyalty/15550100400/add`,
      { token: terminalKey, body: { points: 100, reason: "r" } },
      200,
    );
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(`/v1/pos/${t.slug}/loyalty/15550100400/redeem`, {
          token: terminalKey,
          body: { points: 30, reason: "race" },
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 409, 409, 409, 409, 409]);
    const account = await env.DB.prepare(
      "SELECT balance FROM loyalty_accounts WHERE phone = '15550100400'",
    ).first();
    expect(account).toEqual({ balance: 10 });
    const redeemed = await env.DB.prepare(
      "SELECT count(*) AS n FROM loyalty_transactions WHERE kind = 'redeem' AND phone = '15550100400'",
    ).first();
    expect(redeemed).toEqual({ n: 3 });
  });

  it.each([
    ["a bad phone", "abc", { points: 1, reason: "r" }],
    ["zero points", "15550100500", { points: 0, reason: "r" }],
    ["fractional points", "15550100500", { points: 1.5, reason: "r" }],
    ["no reason", "15550100500", { points: 1 }],
  ])("%s is 400", async (_name, phone, body) => {
    const { t, terminalKey } = await setup();
    await expectError(
      await call(`/v1/pos/${t.slug}/loyalty/${phone}/add`, { token: terminalKey, body }),
      400,
      "validation_failed",
    );
  });
});

describe("pos routes: roles", () => {
  it("every role covers terminal; no key is 401", async () => {
    const { t } = await setup();
    const staff = await createKey(t, "staff");
    for (const token of [t.ownerKey, staff]) {
      await callJson(`/v1/pos/${t.slug}/terminals/ticket`, { token, body: {} }, 201);
    }
    await expectError(
      await call(`/v1/pos/${t.slug}/terminals/ticket`, { body: {} }),
      401,
      "unauthorized",
    );
  });
});
