import { describe, expect, it } from "vitest";
import { redact } from "../../src/http/errors";

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
