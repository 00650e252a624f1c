import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cloverOAuth } from "../../src/adapters/pos/clover";
import { PosError, type PosOAuthApp } from "../../src/adapters/pos/types";
import cloverDouble from "../../tools/pos-double/clover.mjs";
import { startPosDouble } from "../../tools/pos-double/server.mjs";

// Clover's v2/OAuth (high-trust app) against the Clover double's authorize page and token endpoint.

const OPTIONS = { timeoutMs: 2_000 };

describe("cloverOAuth against the Clover double", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;
  let app: PosOAuthApp;
  beforeAll(async () => {
    double = await startPosDouble({ vendors: [cloverDouble] });
    const base = double.baseUrl("clover");
    app = {
      clientId: "CLOVERAPP1",
      clientSecret: "clover-secret",
      authorizeBaseUrl: base,
      apiBaseUrl: base,
      redirectUri: "https://orders.example/oauth/clover/callback",
    };
  });
  afterAll(async () => {
    await double.stop();
  });
  beforeEach(() => {
    double.reset();
  });

  async function approve(state: string): Promise<URLSearchParams> {
    const res = await fetch(cloverOAuth.authorizeUrl(app, state), { redirect: "manual" });
    expect(res.status).toBe(302);
    return new URL(res.headers.get("location") ?? "").searchParams;
  }

  it("exchanges the code once; the grant names the merchant and keeps what a refresh needs", async () => {
    const query = await approve("ols_c1");
    expect(query.get("state")).toBe("ols_c1");
    const grant = await cloverOAuth.exchangeCode(app, query, OPTIONS);
    expect(grant.merchantId).toBe("MCLOVEROAUTH01");
    expect(Date.parse(grant.session.expiresAt ?? "")).toBeGreaterThan(Date.now());
    expect(grant.credentials).toEqual({
      accessToken: grant.session.accessToken,
      refreshToken: grant.session.refreshToken,
      clientId: "CLOVERAPP1",
    });
    const [token] = double.requests("clover").filter((r) => r.path === "/oauth/v2/token");
    expect(JSON.parse(token?.body ?? "{}")).toEqual({
      client_id: "CLOVERAPP1",
      client_secret: "clover-secret",
      code: query.get("code"),
    });
    const again = await cloverOAuth.exchangeCode(app, query, OPTIONS).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(PosError);
    expect(again).toMatchObject({ kind: "permanent", code: "code_refused" });
  });

  it("refuses another app's code, and a callback without one without calling Clover", async () => {
    const query = await approve("ols_c2");
    const foreign = await cloverOAuth
      .exchangeCode({ ...app, clientId: "OTHERAPP" }, query, OPTIONS)
      .catch((e: unknown) => e);
    expect(foreign).toMatchObject({ kind: "permanent", code: "code_refused" });
    double.reset();
    const none = await cloverOAuth
      .exchangeCode(app, new URLSearchParams({ merchant_id: "M1" }), OPTIONS)
      .catch((e: unknown) => e);
    expect(none).toMatchObject({ kind: "permanent", code: "authorization_denied" });
    expect(double.requests("clover")).toEqual([]);
  });
});
