import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadDoubleState, startStripeDouble } from "../../tools/stripe-double/server.mjs";

// The Stripe double as `npm start` runs it: its state in a file, so that what was paid before a
// restart can be refunded after it. (The tests elsewhere start it without a file, in memory.)

type Double = Awaited<ReturnType<typeof startStripeDouble>>;

const KEY = "sk_test_state_file";
const SECRET = "whsec_state_file";

let dir: string;
let stateFile: string;
const running: Double[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "orderlane-stripe-double-"));
  stateFile = path.join(dir, "stripe-double", "state.json");
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  await rm(dir, { recursive: true, force: true });
});

async function start(warn: (message: string) => void = () => {}): Promise<Double> {
  const double = await startStripeDouble({ webhookSecret: SECRET, stateFile, warn });
  running.push(double);
  return double;
}

async function stop(double: Double): Promise<void> {
  running.splice(running.indexOf(double), 1);
  await double.stop();
}

/** A form-encoded Stripe API call with the test key. */
async function api(
  double: Double,
  method: "GET" | "POST",
  pathAndQuery: string,
  form?: Record<string, string>,
  idempotencyKey?: string,
) {
  const res = await fetch(`${double.url}${pathAndQuery}`, {
    method,
    headers: {
      authorization: `Bearer ${KEY}`,
      ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
    },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  return {
    status: res.status,
    replayed: res.headers.get("idempotent-replayed") === "true",
    body: (await res.json()) as Record<string, unknown>,
  };
}

/** A PaymentIntent the customer has paid. */
async function paidIntent(double: Double, idempotencyKey: string): Promise<string> {
  const created = await api(
    double,
    "POST",
    "/v1/payment_intents",
    { amount: "1545", currency: "usd", "metadata[order_id]": "ord_1" },
    idempotencyKey,
  );
  expect(created.status).toBe(200);
  const id = String(created.body.id);
  const paid = await fetch(`${double.url}/_control/payment_intents/${id}/succeed`, {
    method: "POST",
  });
  expect(paid.status).toBe(200);
  return id;
}

describe("the Stripe double's state file", () => {
  it("an intent paid before a restart is refunded after it; idempotency keys survive too", async () => {
    const first = await start();
    const intentId = await paidIntent(first, "create-ord_1");
    await stop(first);

    const second = await start();
    expect(second.paymentIntents.get(intentId)).toMatchObject({ status: "succeeded" });
    const refund = await api(
      second,
      "POST",
      "/v1/refunds",
      { payment_intent: intentId, "metadata[order_id]": "ord_1" },
      "refund:ord_1",
    );
    expect(refund.status).toBe(200);
    expect(refund.body).toMatchObject({
      object: "refund",
      payment_intent: intentId,
      amount: 1545,
      status: "succeeded",
    });

    // The create made before the restart is replayed, not made again.
    const again = await api(
      second,
      "POST",
      "/v1/payment_intents",
      { amount: "1545", currency: "usd", "metadata[order_id]": "ord_1" },
      "create-ord_1",
    );
    expect(again).toMatchObject({ status: 200, replayed: true, body: { id: intentId } });
    expect(second.paymentIntents.size).toBe(1);
    await stop(second);

    // And the refund made after it is there on the next start.
    const third = await start();
    const listed = await api(third, "GET", `/v1/refunds?payment_intent=${intentId}`);
    expect(listed.body.data).toEqual([expect.objectContaining({ id: refund.body.id })]);
    const refundAgain = await api(
      third,
      "POST",
      "/v1/refunds",
      { payment_intent: intentId, "metadata[order_id]": "ord_1" },
      "refund:ord_1",
    );
    expect(refundAgain).toMatchObject({ replayed: true, body: { id: refund.body.id } });
  });

  it("is written whole, by renaming a temporary file, after every change", async () => {
    const double = await start();
    const intentId = await paidIntent(double, "create-ord_2");
    // Written before the answer or the webhook left: no stop needed to see it.
    const saved = JSON.parse(await readFile(stateFile, "utf8"));
    expect(saved).toMatchObject({
      version: 1,
      paymentIntents: [expect.objectContaining({ id: intentId, status: "succeeded" })],
      refunds: [],
    });
    expect(await readdir(path.dirname(stateFile))).toEqual(["state.json"]);
  });

  it("a pending refund and its settling are kept", async () => {
    const first = await start();
    const intentId = await paidIntent(first, "create-ord_3");
    await fetch(`${first.url}/_control/payment_intents/${intentId}/pending_refunds`, {
      method: "POST",
    });
    await stop(first);

    const second = await start();
    const refund = await api(second, "POST", "/v1/refunds", { payment_intent: intentId });
    expect(refund.body).toMatchObject({ status: "pending" });
    await stop(second);

    const third = await start();
    const settled = await fetch(`${third.url}/_control/refunds/${refund.body.id}/settle`, {
      method: "POST",
      body: JSON.stringify({ status: "succeeded" }),
    });
    expect(settled.status).toBe(200);
    await stop(third);

    const fourth = await start();
    expect(fourth.refunds.get(String(refund.body.id))).toMatchObject({ status: "succeeded" });
  });

  it("a corrupt file is moved aside with a warning, and the double starts empty", async () => {
    const first = await start();
    await paidIntent(first, "create-ord_4");
    await stop(first);
    await writeFile(stateFile, '{"version":1,"paymentIntents":[{"id":');

    const warn = vi.fn();
    const second = await start(warn);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toContain(`moved it to ${stateFile}.corrupt`);
    expect(second.paymentIntents.size).toBe(0);
    expect(await readFile(`${stateFile}.corrupt`, "utf8")).toContain('"paymentIntents"');

    // The next change replaces the bad file with a good one.
    const intentId = await paidIntent(second, "create-ord_5");
    expect(JSON.parse(await readFile(stateFile, "utf8")).paymentIntents).toEqual([
      expect.objectContaining({ id: intentId }),
    ]);
  });

  it("a file of another layout is not read either", async () => {
    await start().then(stop);
    await writeFile(
      path.join(path.dirname(stateFile), "state.json"),
      JSON.stringify({ version: 99, paymentIntents: [] }),
    );
    const warn = vi.fn();
    const double = await start(warn);
    expect(warn.mock.calls[0]?.[0]).toContain("layout version 99");
    expect(double.paymentIntents.size).toBe(0);
  });

  it("idempotency keys older than Stripe's 24 hours are dropped on load", async () => {
    const double = await start();
    await paidIntent(double, "create-ord_6");
    await stop(double);
    const now = Date.now();
    expect(loadDoubleState(stateFile, () => {}, now).idempotency.size).toBe(1);
    expect(loadDoubleState(stateFile, () => {}, now + 24 * 60 * 60 * 1000).idempotency.size).toBe(
      0,
    );
  });

  it("without a state file, as in the tests, nothing is written", async () => {
    const double = await startStripeDouble({ webhookSecret: SECRET });
    running.push(double);
    await paidIntent(double, "create-ord_7");
    expect(await readdir(dir)).toEqual([]);
  });
});
