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
