import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cloverAdapter } from "../../src/adapters/pos/clover";
import { PosError } from "../../src/adapters/pos/types";
import { readConfig } from "../../src/config";
import { getDb } from "../../src/db/client";
import {
  DEFAULT_POS_SETTINGS,
  findPosIntegration,
  saveSession,
} from "../../src/db/pos-integrations";
import { ApiError } from "../../src/http/errors";
import { runScheduled } from "../../src/scheduled";
import { completePosOAuth, refreshDueSessions, startPosOAuth } from "../../src/services/pos-oauth";
import { callWithOneRefresh, connectionFor } from "../../src/services/pos-sync";
import { caught } from "../caught";
import {
  call,
  callJson,
  createKey,
  createTenant,
  expectError,
  type TestTenant,
  tableCounts,
} from "../helpers";
import { posDouble } from "../pos-helpers";

// Connecting Square by the owner granting access: start → Square's authorize page (the double
// approves at once and redirects) → our callback, which exchanges the code and connects.

const CALLBACK = "https://orders.orderlane.example/oauth/square/callback";

async function start(t: TestTenant, body: Record<string, unknown> = {}) {
  return callJson<{ authorizeUrl: string; expiresAt: string }>(
    `/v1/admin/${t.slug}/pos/oauth/square/start`,
    { token: t.ownerKey, body },
    200,
  );
}

/** What Square's authorize page does for a seller who approves: the redirect to our callback. */
async function approveAtSquare(authorizeUrl: string): Promise<URL> {
  const res = await fetch(authorizeUrl, { redirect: "manual" });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location") ?? "");
}

/** The browser following the redirect: the same path and query, on the Worker. */
function followToWorker(redirect: URL): Promise<Response> {
  return call(`${redirect.pathname}${redirect.search}`);
}

async function tokenCalls(grant: string): Promise<number> {
  const received = await posDouble.received("square");
  return received.filter(
    (r) => r.path === "/oauth2/token" && JSON.parse(r.body).grant_type === grant,
  ).length;
}

describe("POS OAuth: Square", () => {
  it("connects the seller's main location when the owner grants access, tokens sealed", async () => {
    const t = await createTenant();
    const started = await start(t, {
      webhookSecret: "square-signature-key",
      settings: { autoSync: false },
    });
    const url = new URL(started.authorizeUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`${env.POS_SQUARE_BASE_URL}/oauth2/authorize`);
    expect(url.searchParams.get("client_id")).toBe("sq0idp-orderlane-tests");
    expect(url.searchParams.get("redirect_uri")).toBe(CALLBACK);
    expect(url.searchParams.get("scope")?.split(" ")).toEqual(
      expect.arrayContaining(["ORDERS_WRITE", "PAYMENTS_WRITE", "MERCHANT_PROFILE_READ"]),
    );
    expect(url.searchParams.get("state")).toMatch(/^ols_/);
    expect(Date.parse(started.expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);

    const redirect = await approveAtSquare(started.authorizeUrl);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(CALLBACK);
    const res = await followToWorker(redirect);
    const page = await res.text();
    expect(res.status, page).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(page).toContain("Square is connected");

    const { integration } = await callJson<{ integration: Record<string, unknown> }>(
      `/v1/admin/${t.slug}/pos/integration`,
      { token: t.ownerKey },
      200,
    );
    expect(integration).toMatchObject({
      provider: "square",
      // The real id of the main location, not the alias.
      locationId: "L8RYWBB6DRWEM",
      status: "connected",
      hasWebhookSecret: true,
      settings: { autoSync: false },
      location: { currency: "USD", timezone: "America/Los_Angeles" },
    });
    expect(page).toContain(String((integration.location as { name: string }).name));

    const row = await env.DB.prepare(
      "SELECT credentials_ciphertext, session_ciphertext, session_refresh_at FROM pos_integrations WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first<Record<string, string>>();
    expect(row?.session_ciphertext).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain("sq0csp-orderlane-tests-secret");
    expect(JSON.stringify(row)).not.toContain(redirect.searchParams.get("code"));
    // Square's tokens last 30 days: renewed within a week.
    const refreshIn = Date.parse(row?.session_refresh_at ?? "") - Date.now();
    expect(refreshIn).toBeGreaterThan(6 * 24 * 3_600_000);
    expect(refreshIn).toBeLessThanOrEqual(7 * 24 * 3_600_000);
  });

  it("connects the location the owner named", async () => {
    const t = await createTenant();
    const started = await start(t, { locationId: "L_TEST_LOCATION" });
    const res = await followToWorker(await approveAtSquare(started.authorizeUrl));
    expect(res.status).toBe(200);
    const row = await env.DB.prepare("SELECT location_id FROM pos_integrations WHERE tenant_id = ?")
      .bind(t.id)
      .first();
    expect(row).toEqual({ location_id: "L_TEST_LOCATION" });
  });

  it("a state works once: a replayed callback is 400, asks Square nothing and changes nothing", async () => {
    const t = await createTenant();
    const redirect = await approveAtSquare((await start(t)).authorizeUrl);
    expect((await followToWorker(redirect)).status).toBe(200);
    const before = await tableCounts();
    const exchanges = await tokenCalls("authorization_code");
    const replay = await expectError(await followToWorker(redirect), 400, "validation_failed");
    expect(replay.message).toMatch(/state/);
    expect(await tokenCalls("authorization_code")).toBe(exchanges);
    expect(await tableCounts()).toEqual(before);
  });

  it("a state is for its provider and its ten minutes only", async () => {
    const t = await createTenant();
    const redirect = await approveAtSquare((await start(t)).authorizeUrl);
    // The wrong provider's callback does not use it up.
    await expectError(
      await call(`/oauth/clover/callback${redirect.search}`),
      400,
      "validation_failed",
    );
    const late = await caught(
      completePosOAuth(
        env,
        getDb(env),
        "square",
        redirect.searchParams,
        new Date(Date.now() + 10 * 60_000 + 1_000),
      ),
      ApiError,
    );
    expect(late).toMatchObject({ code: "validation_failed", status: 400 });
    // Neither attempt used it: in time, on the right path, it still connects.
    expect((await followToWorker(redirect)).status).toBe(200);
  });

  it("a seller who declines at Square gets a 422 and nothing is connected", async () => {
    const t = await createTenant();
    const state = new URL((await start(t)).authorizeUrl).searchParams.get("state") ?? "";
    const declined = await expectError(
      await call(
        `/oauth/square/callback?error=access_denied&error_description=user_denied&state=${state}`,
      ),
      422,
      "validation_failed",
    );
    expect(declined.details).toMatchObject({ reason: "pos_authorization_refused" });
    expect(declined.message).toContain("user_denied");
    const row = await env.DB.prepare(
      "SELECT count(*) AS n FROM pos_integrations WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first();
    expect(row).toEqual({ n: 0 });
  });

  it("a callback without a state, or a forged one, is 400 and connects nothing", async () => {
    const before = await tableCounts();
    await expectError(await call("/oauth/square/callback?code=sq0cgp-x"), 400, "validation_failed");
    await expectError(
      await call("/oauth/square/callback?code=sq0cgp-x&state=ols_forged"),
      400,
      "validation_failed",
    );
    expect(await tableCounts()).toEqual(before);
  });

  it("only this tenant's owner starts; a provider without an app here is 422 and stores nothing", async () => {
    const t = await createTenant();
    const staff = await createKey(t, "staff");
    const before = await tableCounts();
    await expectError(
      await call(`/v1/admin/${t.slug}/pos/oauth/square/start`, { token: staff, body: {} }),
      403,
      "forbidden",
    );
    await expectError(
      await call(`/v1/admin/${t.slug}/pos/oauth/toast/start`, { token: t.ownerKey, body: {} }),
      400,
      "validation_failed",
    );
    expect(await tableCounts()).toEqual(before);

    // Another tenant's owner cannot start for this tenant.
    const other = await createTenant();
    await expectError(
      await call(`/v1/admin/${t.slug}/pos/oauth/square/start`, {
        token: other.ownerKey,
        body: {},
      }),
      403,
      "forbidden",
    );
  });

  it("the cron pass renews a session that is due and seals the new token", async () => {
    const t = await createTenant();
    expect(
      (await followToWorker(await approveAtSquare((await start(t)).authorizeUrl))).status,
    ).toBe(200);
    const sealed = await env.DB.prepare(
      "SELECT session_ciphertext FROM pos_integrations WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first<{ session_ciphertext: string }>();
    await env.DB.prepare(
      "UPDATE pos_integrations SET session_refresh_at = '2000-01-01T00:00:00.000Z' WHERE tenant_id = ?",
    )
      .bind(t.id)
      .run();
    const refreshes = await tokenCalls("refresh_token");
    await runScheduled(env, new Date());
    expect(await tokenCalls("refresh_token")).toBe(refreshes + 1);
    const after = await env.DB.prepare(
      "SELECT session_ciphertext, session_refresh_at FROM pos_integrations WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first<{ session_ciphertext: string; session_refresh_at: string }>();
    expect(after?.session_ciphertext).not.toBe(sealed?.session_ciphertext);
    expect(Date.parse(after?.session_refresh_at ?? "")).toBeGreaterThan(Date.now());
    // Not due any more: the next pass leaves it alone.
    await runScheduled(env, new Date());
    expect(await tokenCalls("refresh_token")).toBe(refreshes + 1);
  });

  it("a renewal Square refuses ends the renewals and raises integration_degraded once", async () => {
    const t = await createTenant();
    expect(
      (await followToWorker(await approveAtSquare((await start(t)).authorizeUrl))).status,
    ).toBe(200);
    await env.DB.prepare(
      "UPDATE pos_integrations SET session_refresh_at = '2000-01-01T00:00:00.000Z' WHERE tenant_id = ?",
    )
      .bind(t.id)
      .run();
    await posDouble.control("state", { vendor: "square", key: "refreshRefused", value: true });
    try {
      await runScheduled(env, new Date());
      await runScheduled(env, new Date());
    } finally {
      await posDouble.control("state", { vendor: "square", key: "refreshRefused", value: false });
    }
    const alerts = await env.DB.prepare(
      "SELECT kind, message FROM alerts WHERE tenant_id = ? AND kind = 'integration_degraded'",
    )
      .bind(t.id)
      .all<{ kind: string; message: string }>();
    expect(alerts.results).toHaveLength(1);
    expect(alerts.results[0]?.message).toMatch(/reconnect/);
    const { integration } = await callJson<{ integration: { health: { state: string } } }>(
      `/v1/admin/${t.slug}/pos/integration`,
      { token: t.ownerKey },
      200,
    );
    expect(integration.health.state).toBe("degraded");
    const row = await env.DB.prepare(
      "SELECT session_refresh_at FROM pos_integrations WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first();
    expect(row).toEqual({ session_refresh_at: null });
  });

  it("a provider without an OAuth app on this deployment is 422 and stores nothing", async () => {
    const t = await createTenant();
    const before = await tableCounts();
    const unconfigured = { ...env, CLOVER_APP_ID: "", CLOVER_APP_SECRET: "" } as Env;
    const error = await caught(
      startPosOAuth(
        unconfigured,
        getDb(env),
        { id: t.id },
        {
          provider: "clover",
          locationId: null,
          webhookSecret: null,
          settings: DEFAULT_POS_SETTINGS,
        },
        "http://orderlane.test",
        new Date(),
      ),
      ApiError,
    );
    expect(error).toMatchObject({ status: 422, details: { reason: "oauth_not_configured" } });
    expect(await tableCounts()).toEqual(before);
  });
});

describe("POS OAuth: Clover", () => {
  it("connects the merchant that granted access, and renews its short-lived session", async () => {
    const t = await createTenant();
    const started = await callJson<{ authorizeUrl: string }>(
      `/v1/admin/${t.slug}/pos/oauth/clover/start`,
      { token: t.ownerKey, body: { webhookSecret: "clover-app-auth-code" } },
      200,
    );
    const url = new URL(started.authorizeUrl);
    expect(`${url.origin}${url.pathname}`).toBe(
      `${env.POS_CLOVER_AUTHORIZE_URL}/oauth/v2/authorize`,
    );
    expect(url.searchParams.get("client_id")).toBe("ORDERLANECLOVERAPP");
    expect(url.searchParams.get("redirect_uri")).toBe(
      "https://orders.orderlane.example/oauth/clover/callback",
    );
    const res = await fetch(started.authorizeUrl, { redirect: "manual" });
    const back = new URL(res.headers.get("location") ?? "");
    expect(back.searchParams.get("merchant_id")).toBe("MCLOVEROAUTH01");
    const page = await call(`${back.pathname}${back.search}`);
    const text = await page.text();
    expect(page.status, text).toBe(200);
    expect(text).toContain("Clover is connected");
    const { integration } = await callJson<{ integration: Record<string, unknown> }>(
      `/v1/admin/${t.slug}/pos/integration`,
      { token: t.ownerKey },
      200,
    );
    expect(integration).toMatchObject({
      provider: "clover",
      locationId: "MCLOVEROAUTH01",
      status: "connected",
      hasWebhookSecret: true,
    });
    // Clover's access tokens last 30 minutes here: renewed after 15, with the rotated refresh token.
    const row = await env.DB.prepare(
      "SELECT session_refresh_at, session_ciphertext FROM pos_integrations WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first<{ session_refresh_at: string; session_ciphertext: string }>();
    const refreshIn = Date.parse(row?.session_refresh_at ?? "") - Date.now();
    expect(refreshIn).toBeGreaterThan(14 * 60_000);
    expect(refreshIn).toBeLessThanOrEqual(15 * 60_000);
    const refreshes = async () =>
      (await posDouble.received("clover")).filter((r) => r.path === "/oauth/v2/refresh").length;
    const before = await refreshes();
    for (let pass = 0; pass < 2; pass++) {
      await runScheduled(env, new Date(Date.now() + (pass + 1) * 16 * 60_000));
    }
    // Two renewals in a row: each used the refresh token the one before it got.
    expect(await refreshes()).toBe(before + 2);
    const after = await env.DB.prepare(
      "SELECT degraded_at FROM pos_integrations WHERE tenant_id = ?",
    )
      .bind(t.id)
      .first();
    expect(after).toEqual({ degraded_at: null });
  });

  it("two renewals at once make one call, and the one that lost is not taken for a revoked grant", async () => {
    const t = await connectClover();
    await env.DB.prepare(
      "UPDATE pos_integrations SET session_refresh_at = '2000-01-01T00:00:00.000Z' WHERE tenant_id = ?",
    )
      .bind(t.id)
      .run();
    const before = await cloverRefreshes();
    await Promise.all([
      refreshDueSessions(env, getDb(env), new Date()),
      refreshDueSessions(env, getDb(env), new Date()),
    ]);
    expect(await cloverRefreshes()).toBe(before + 1);
    expect(await degradedAlerts(t.id)).toBe(0);
  });

  it("a submission holding a session another caller renewed takes theirs instead of failing", async () => {
    const t = await connectClover();
    const db = getDb(env);
    const row = await findPosIntegration(db, t.id);
    if (!row) throw new Error("not connected");
    const stale = await connectionFor(env, row);
    // Someone else renews first: the stale session's refresh token is used up at Clover.
    const renewed = await cloverAdapter.refreshSession(stale, { timeoutMs: 2000 });
    await saveSession(db, readConfig(env).credentialsKey, t.id, renewed, new Date());
    const answer = await callWithOneRefresh(
      env,
      db,
      t.id,
      cloverAdapter,
      stale,
      { timeoutMs: 2000, now: () => new Date() },
      async (c) => {
        if (c.session?.accessToken !== renewed.accessToken) {
          throw new PosError("auth", "unauthorized", "401 Unauthorized", { status: 401 });
        }
        return "sent";
      },
    );
    expect(answer).toBe("sent");
  });
});

async function connectClover(): Promise<TestTenant> {
  const t = await createTenant();
  const started = await callJson<{ authorizeUrl: string }>(
    `/v1/admin/${t.slug}/pos/oauth/clover/start`,
    { token: t.ownerKey, body: {} },
    200,
  );
  const res = await fetch(started.authorizeUrl, { redirect: "manual" });
  const back = new URL(res.headers.get("location") ?? "");
  expect((await call(`${back.pathname}${back.search}`)).status).toBe(200);
  return t;
}

async function cloverRefreshes(): Promise<number> {
  return (await posDouble.received("clover")).filter((r) => r.path === "/oauth/v2/refresh").length;
}

async function degradedAlerts(tenantId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM alerts WHERE tenant_id = ? AND kind = 'integration_degraded'",
  )
    .bind(tenantId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}
