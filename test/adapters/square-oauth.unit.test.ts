import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { squareOAuth } from "../../src/adapters/pos/square";
import { PosError, type PosOAuthApp } from "../../src/adapters/pos/types";
import { startPosDouble } from "../../tools/pos-double/server.mjs";
import squareDouble from "../../tools/pos-double/square.mjs";

// Square's authorization-code flow against the Square double's authorize page and ObtainToken.

const OPTIONS = { timeoutMs: 2_000 };

describe("squareOAuth against the Square double", () => {
  let double: Awaited<ReturnType<typeof startPosDouble>>;
  let app: PosOAuthApp;
  beforeAll(async () => {
    double = await startPosDouble({ vendors: [squareDouble] });
    const base = double.baseUrl("square");
    app = {
      clientId: "sq0idp-app",
      clientSecret: "sq0csp-secret",
      authorizeBaseUrl: base,
      apiBaseUrl: base,
      redirectUri: "https://orders.example/oauth/square/callback",
    };
  });
  afterAll(async () => {
    await double.stop();
  });
  beforeEach(() => {
    double.reset();
  });

  /** The callback query the seller's browser brings back after approving. */
  async function approve(state: string): Promise<URLSearchParams> {
    const res = await fetch(squareOAuth.authorizeUrl(app, state), { redirect: "manual" });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get("location") ?? "");
    expect(`${back.origin}${back.pathname}`).toBe(app.redirectUri);
    return back.searchParams;
  }

  it("asks for the permissions orders need, sign-in forced, and carries the state", () => {
    const url = new URL(squareOAuth.authorizeUrl(app, "ols_state"));
    expect(url.pathname).toMatch(/\/oauth2\/authorize$/);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: "sq0idp-app",
      session: "false",
      state: "ols_state",
      redirect_uri: app.redirectUri,
    });
    expect(url.searchParams.get("scope")?.split(" ")).toEqual(
      expect.arrayContaining([
        "ORDERS_READ",
        "ORDERS_WRITE",
        "PAYMENTS_WRITE",
        "MERCHANT_PROFILE_READ",
      ]),
    );
  });

  it("exchanges the code once for a session and the credentials a refresh needs", async () => {
    const query = await approve("ols_1");
    expect(query.get("state")).toBe("ols_1");
    const grant = await squareOAuth.exchangeCode(app, query, OPTIONS);
    expect(grant.merchantId).toBe("ML2PMZQDOUBLE");
    expect(grant.session.accessToken).toMatch(/^EAAA/);
    expect(grant.session.refreshToken).toMatch(/^EQAA/);
    expect(Date.parse(grant.session.expiresAt ?? "")).toBeGreaterThan(Date.now());
    expect(grant.credentials).toEqual({
      accessToken: grant.session.accessToken,
      refreshToken: grant.session.refreshToken,
      clientId: "sq0idp-app",
      clientSecret: "sq0csp-secret",
    });
    const [token] = double.requests("square").filter((r) => r.path === "/oauth2/token");
    expect(JSON.parse(token?.body ?? "{}")).toMatchObject({
      grant_type: "authorization_code",
      code: query.get("code"),
      redirect_uri: app.redirectUri,
    });

    const again = await squareOAuth.exchangeCode(app, query, OPTIONS).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(PosError);
    expect(again).toMatchObject({ kind: "permanent", code: "code_refused" });
  });

  it("refuses a code issued to another app, and a declined callback without calling Square", async () => {
    const query = await approve("ols_2");
    const foreign = await squareOAuth
      .exchangeCode({ ...app, clientId: "sq0idp-other" }, query, OPTIONS)
      .catch((e: unknown) => e);
    expect(foreign).toMatchObject({ kind: "permanent", code: "code_refused" });

    double.reset();
    const declined = await squareOAuth
      .exchangeCode(
        app,
        new URLSearchParams({ error: "access_denied", error_description: "user_denied" }),
        OPTIONS,
      )
      .catch((e: unknown) => e);
    expect(declined).toMatchObject({ kind: "permanent", code: "authorization_denied" });
    expect((declined as Error).message).toContain("user_denied");
    expect(double.requests("square")).toEqual([]);
  });
});
