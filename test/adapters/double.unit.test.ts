import { createServer, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { squareAdapter } from "../../src/adapters/pos/square";
import { toastAdapter } from "../../src/adapters/pos/toast";
import { webhookAdapter } from "../../src/adapters/pos/webhook";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import squareDouble from "../../tools/pos-double/square.mjs";
import toastDouble, { orderUpdatedEvent } from "../../tools/pos-double/toast.mjs";
import webhookDouble from "../../tools/pos-double/webhook-receiver.mjs";

// The double sends status webhooks the way each vendor does; the real
// adapters must accept them as correctly signed.

/** What the receiver got, in the adapters' `WebhookRequest` shape. */
interface Captured {
  headers: Record<string, string>;
  rawBody: string;
  url: string;
}

const captured: Captured[] = [];
const receiver = createServer(async (req: IncomingMessage, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v);
  captured.push({
    headers,
    rawBody: Buffer.concat(chunks).toString("utf8"),
    url: `http://${req.headers.host}${req.url}`,
  });
  res.writeHead(200, { "content-type": "application/json" });
  res.end('{"ok":true}');
});
let receiverUrl = "";
let double: Awaited<ReturnType<typeof startPosDouble>>;

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hook`;
  double = await startPosDouble({ vendors: [toastDouble, squareDouble, webhookDouble] });
});

afterAll(async () => {
  await double.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

async function sendAndCapture(vendor: string, secret: string, body: unknown) {
  captured.length = 0;
  const answer = await double.sendWebhook(vendor, { url: receiverUrl, secret, body });
  expect(answer.status).toBe(200);
  expect(captured).toHaveLength(1);
  const [request] = captured;
  if (!request) throw new Error("nothing received");
  return request;
}

describe("the vendor double sends signed status webhooks", () => {
  it("Square: signed over URL and body; the adapter verifies it, and not with another key", async () => {
    const body = {
      merchant_id: "M1",
      type: "order.fulfillment.updated",
      event_id: "evt-1",
      created_at: "2026-11-24T10:00:00Z",
      data: {
        type: "order_fulfillment_updated",
        id: "ORDER1",
        object: {
          order_fulfillment_updated: {
            order_id: "ORDER1",
            state: "OPEN",
            version: 2,
            location_id: "L1",
            fulfillment_update: [
              { fulfillment_uid: "F1", old_state: "PROPOSED", new_state: "PREPARED" },
            ],
          },
        },
      },
    };
    const request = await sendAndCapture("square", "sq-signature-key", body);
    expect(request.headers["x-square-hmacsha256-signature"]).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(await squareAdapter.verifyWebhook(request, "sq-signature-key")).toBe(true);
    expect(await squareAdapter.verifyWebhook(request, "another-key")).toBe(false);
    expect(squareAdapter.parseWebhook(request)).toEqual([
      expect.objectContaining({ eventId: "evt-1", posOrderId: "ORDER1", status: "ready" }),
    ]);
  });

  it("Toast: Toast-Signature over body and timestamp", async () => {
    const event = orderUpdatedEvent({
      guid: "toast-order-1",
      externalId: "orderlane:ord_1",
      approvalStatus: "APPROVED",
    });
    const request = await sendAndCapture("toast", "toast-secret", event);
    expect(request.headers["toast-signature"]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(await toastAdapter.verifyWebhook(request, "toast-secret")).toBe(true);
    expect(
      await toastAdapter.verifyWebhook(
        { ...request, rawBody: `${request.rawBody} ` },
        "toast-secret",
      ),
    ).toBe(false);
  });

  it("Generic webhook POS: X-Orderlane-Signature over timestamp.body", async () => {
    const body = {
      eventId: "e-1",
      orderId: "ord_1",
      status: "ready",
      occurredAt: new Date().toISOString(),
    };
    const request = await sendAndCapture("webhook", "webhook-secret-0123456789", body);
    expect(request.headers["x-orderlane-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(await webhookAdapter.verifyWebhook(request, "webhook-secret-0123456789")).toBe(true);
    expect(await webhookAdapter.verifyWebhook(request, "webhook-secret-other-000")).toBe(false);
  });
});

describe("the double's control API", () => {
  const MENU_GROUP = "881472e6-dd94-48c6-b5c6-25e51a864208";
  const LISTED = "9c59d4ab-8242-450f-8f36-b16e1b3ab802";
  const UNLISTED = "0c7fa3b2-11d4-4b6e-9e2a-5d8c7b6a5f43";
  const RESTAURANT = "4622e7a9-b4be-3fef-9220-b3dad273e0b4";

  async function control(path: string, body: unknown): Promise<Response> {
    return fetch(`${double.url}/_control/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  async function priceOrder(items: Record<string, unknown>[]): Promise<Response> {
    const login = await fetch(`${double.baseUrl("toast")}/authentication/v1/authentication/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        clientId: "c",
        clientSecret: "s",
        userAccessType: "TOAST_MACHINE_CLIENT",
      }),
    });
    const { token } = (await login.json()) as { token: { accessToken: string } };
    return fetch(`${double.baseUrl("toast")}/orders/v2/prices`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token.accessToken}`,
        "toast-restaurant-external-id": RESTAURANT,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        diningOption: { guid: "18855a26-40d4-4a8f-b484-c6af211dd597" },
        checks: [{ selections: items }],
      }),
    });
  }

  const selection = (item: string, extra: Record<string, unknown> = {}) => ({
    itemGroup: { guid: MENU_GROUP },
    item: { guid: item },
    quantity: 2,
    modifiers: [],
    ...extra,
  });

  it("POST /_control/state sets one key of a vendor's state, which the vendor then uses", async () => {
    double.reset();
    const set = await control("state", {
      vendor: "toast",
      key: "menu",
      value: { [LISTED]: 7.25 },
    });
    expect(set.status).toBe(204);
    expect(double.state("toast").menu).toEqual({ [LISTED]: 7.25 });
    await control("state", { vendor: "toast", key: "taxRate", value: 0.1 });

    const priced = await priceOrder([selection(LISTED, { openPriceAmount: 1 })]);
    expect(priced.status).toBe(200);
    const order = (await priced.json()) as {
      guid: unknown;
      checks: { amount: number; taxAmount: number; totalAmount: number }[];
    };
    // The menu's price wins over the selection's own; tax 10% of 14.50.
    expect(order.guid).toBeNull();
    expect(order.checks[0]).toMatchObject({ amount: 14.5, taxAmount: 1.45, totalAmount: 15.95 });
    expect(double.orders("toast").size).toBe(0);
  });

  it("refuses a control call without vendor and key", async () => {
    expect((await control("state", { vendor: "toast", value: 1 })).status).toBe(400);
    expect((await control("state", { vendor: "toast", key: "__proto__", value: {} })).status).toBe(
      400,
    );
  });

  it("prices an unlisted item at its openPriceAmount, and answers 404 for one with no price at all", async () => {
    double.reset();
    await control("state", { vendor: "toast", key: "menu", value: { [LISTED]: 7.25 } });
    const open = await priceOrder([selection(UNLISTED, { openPriceAmount: 3 })]);
    expect(((await open.json()) as { checks: { amount: number }[] }).checks[0]?.amount).toBe(6);
    const unknown = await priceOrder([selection(LISTED), selection(UNLISTED)]);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toContain(UNLISTED);
    const negative = await priceOrder([selection(UNLISTED, { openPriceAmount: -1 })]);
    expect(negative.status).toBe(400);
  });
});
