import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { redact, redactPath } from "../../src/http/errors";
import { logRequest } from "../../src/http/middleware";
import type { AppEnv } from "../../src/http/router";

describe("redact", () => {
  it("cuts bound parameters out of a failed query's message", () => {
    const message =
      'Failed query: insert into "orders" ("id", "customer_email") values (?, ?)\nparams: ord_1,ada@example.com';
    const out = redact(message);
    expect(out).not.toContain("ada@example.com");
    expect(out).toContain('insert into "orders"');
    expect(out).toContain("params: [redacted]");
  });
});

describe("redactPath", () => {
  it.each([
    ["/v1/pos/acme/gift-cards/ABCD-EFGH-JKMN-PQRS", "/v1/pos/acme/gift-cards/[redacted]"],
    ["/v1/pos/acme/loyalty/+15550100/add", "/v1/pos/acme/loyalty/[redacted]/add"],
    ["/v1/pos/acme/loyalty/%2B1%20555%200100/redeem", "/v1/pos/acme/loyalty/[redacted]/redeem"],
    ["/v1/stores/acme/lookup/+44 20 7946 0958", "/v1/stores/acme/lookup/[redacted]"],
  ])("%s → %s", (path, expected) => {
    expect(redactPath(path)).toBe(expected);
  });

  it("leaves ordinary paths, ids and order numbers alone", () => {
    const path = "/v1/admin/acme-2/orders/ord_01M8SNR9J35X2AF2BQ/status";
    expect(redactPath(path)).toBe(path);
    expect(redactPath("/v1/admin/acme/orders?cursor=1001")).toBe(
      "/v1/admin/acme/orders?cursor=1001",
    );
  });
});

describe("logRequest", () => {
  async function logged(mode: string | undefined, path: string, status: number) {
    const app = new Hono<AppEnv>();
    app.use("*", logRequest);
    app.all("*", (c) => c.json({}, status as 200));
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: string) => {
      lines.push(line);
    });
    try {
      await app.request(path, {}, { ACCESS_LOG: mode } as unknown as Env);
    } finally {
      spy.mockRestore();
    }
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it("logs each request with its path redacted", async () => {
    const lines = await logged("all", "/v1/pos/acme/gift-cards/ABCD-EFGH-JKMN-PQRS", 200);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: "request",
        method: "GET",
        path: "/v1/pos/acme/gift-cards/[redacted]",
        status: 200,
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain("ABCD");
  });

  it("logs only failures with errors, nothing with off", async () => {
    expect(await logged("errors", "/v1/stores/acme/menu", 200)).toEqual([]);
    expect(await logged("errors", "/v1/stores/acme/menu", 404)).toHaveLength(1);
    expect(await logged("off", "/v1/stores/acme/menu", 500)).toEqual([]);
  });
});
