import { describe, expect, it } from "vitest";
import { publicUrlOf, readConfig } from "../src/config";

const BASE_ENV = {
  ADMIN_TOKEN: "test-admin-token-0123456789",
  CREDENTIALS_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
} as unknown as Env;

const withBase = (value: string) => readConfig({ ...BASE_ENV, PUBLIC_BASE_URL: value } as Env);

describe("PUBLIC_BASE_URL", () => {
  it("is an origin: a trailing slash is dropped, empty is none", () => {
    expect(withBase("https://orders.example.com/").publicBaseUrl).toBe(
      "https://orders.example.com",
    );
    expect(withBase("http://127.0.0.1:8787").publicBaseUrl).toBe("http://127.0.0.1:8787");
    expect(withBase("  ").publicBaseUrl).toBeNull();
  });

  it("refuses what is not an http(s) origin, as a deployment error", () => {
    for (const bad of [
      "orders.example.com",
      "ftp://x.example",
      "https://x.example/api",
      "https://x.example?a=1",
    ]) {
      expect(() => withBase(bad), bad).toThrow(/PUBLIC_BASE_URL/);
    }
  });

  it("gives the URL a vendor was given: the public origin with the request's path and query", () => {
    const request = "http://10.0.0.7:8787/webhooks/pos/square/demo?x=1";
    expect(publicUrlOf({ publicBaseUrl: "https://orders.example.com" }, request)).toBe(
      "https://orders.example.com/webhooks/pos/square/demo?x=1",
    );
    expect(publicUrlOf({ publicBaseUrl: null }, request)).toBe(request);
  });
});

describe("OAuth apps", () => {
  const withApps = (vars: Record<string, string>) => readConfig({ ...BASE_ENV, ...vars } as Env);

  it("are configured by id and secret together, and absent when neither is set", () => {
    expect(
      withApps({ SQUARE_APP_ID: "sq0idp-a", SQUARE_APP_SECRET: "sq0csp-b" }).posOAuthApps,
    ).toEqual({ square: { clientId: "sq0idp-a", clientSecret: "sq0csp-b" }, clover: null });
    expect(withApps({}).posOAuthApps).toEqual({ square: null, clover: null });
  });

  it("refuse half an app, as a deployment error", () => {
    expect(() => withApps({ CLOVER_APP_ID: "app" })).toThrow(/CLOVER_APP_/);
    expect(() => withApps({ SQUARE_APP_SECRET: "secret" })).toThrow(/SQUARE_APP_/);
  });
});
