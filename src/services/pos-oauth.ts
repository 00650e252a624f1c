import { getPosAdapter } from "../adapters/pos";
import { PosError, type PosOAuthApp, type PosProvider } from "../adapters/pos/types";
import { type Config, posBaseUrlOf, readConfig } from "../config";
import { raiseAlert } from "../db/alerts";
import type { Db } from "../db/client";
import {
  claimSessionRefresh,
  deferSessionRefresh,
  listSessionsDue,
  newerSession,
  openCredentials,
  openSession,
  type PosIntegrationRow,
  type PosSettings,
  saveSession,
  sessionRefreshRefused,
} from "../db/pos-integrations";
import { consumeOAuthState, createOAuthState } from "../db/pos-oauth-states";
import { findTenantById, type Tenant } from "../db/tenants";
import { ApiError } from "../http/errors";
import { logLine } from "../log";
import { type Effects, effectsOf } from "./effects";
import { connectPos } from "./pos-connection";

// Connecting Square or Clover by the owner granting access (OAuth authorization code), and
// keeping the sessions such grants give renewed before they expire (the cron pass).

export type OAuthProvider = "square" | "clover";
export const OAUTH_PROVIDERS: readonly OAuthProvider[] = ["square", "clover"];

/** Sessions renewed in one cron pass; the rest wait for the next minute. */
const REFRESHES_PER_PASS = 25;
/** A renewal that got no answer is tried again this much later. */
const REFRESH_RETRY_MS = 5 * 60_000;

/** Our app at `provider` and its callback here; 422 when this deployment has none. */
function oauthAppOf(config: Config, provider: OAuthProvider, origin: string): PosOAuthApp {
  const app = config.posOAuthApps[provider];
  if (!app || !getPosAdapter(provider).oauth) {
    throw ApiError.unprocessable(
      `provider: ${provider} sign-in is not set up on this platform; connect with credentials (POST …/pos/connect)`,
      {
        reason: "oauth_not_configured",
        issues: [{ path: "provider", message: `no ${provider} OAuth app is configured` }],
      },
    );
  }
  return {
    ...app,
    authorizeBaseUrl: config.posAuthorizeUrls[provider],
    apiBaseUrl: posBaseUrlOf(config, provider),
    redirectUri: `${config.publicBaseUrl ?? origin}/oauth/${provider}/callback`,
  };
}

function oauthOf(provider: OAuthProvider) {
  const oauth = getPosAdapter(provider).oauth;
  if (!oauth) throw new Error(`the ${provider} adapter has no OAuth flow`);
  return oauth;
}

/**
 * Starts an OAuth connect: a state bound to the tenant (single use, 10 minutes) and the vendor's
 * authorize URL for the owner's browser. `origin` is the request's, used when PUBLIC_BASE_URL is
 * not set.
 */
export async function startPosOAuth(
  env: Env,
  db: Db,
  tenant: Pick<Tenant, "id">,
  request: {
    provider: OAuthProvider;
    locationId: string | null;
    webhookSecret: string | null;
    settings: PosSettings;
  },
  origin: string,
  now: Date,
): Promise<{ authorizeUrl: string; expiresAt: string }> {
  const config = readConfig(env);
  const app = oauthAppOf(config, request.provider, origin);
  const { state, expiresAt } = await createOAuthState(
    db,
    config.credentialsKey,
    { tenantId: tenant.id, ...request, redirectUri: app.redirectUri },
    now,
  );
  return { authorizeUrl: oauthOf(request.provider).authorizeUrl(app, state), expiresAt };
}

/**
 * The vendor sent the owner back: the state is used up, the code exchanged, and the POS
 * connected as `POST …/pos/connect` would (checked with the vendor first), the tokens sealed.
 */
export async function completePosOAuth(
  env: Env,
  db: Db,
  provider: OAuthProvider,
  query: URLSearchParams,
  now: Date,
): Promise<{ tenant: Tenant; integration: PosIntegrationRow }> {
  const config = readConfig(env);
  const state = query.get("state");
  const start = state
    ? await consumeOAuthState(db, config.credentialsKey, provider, state, now)
    : null;
  const tenant = start ? await findTenantById(db, start.tenantId) : undefined;
  if (!start || !tenant) {
    throw new ApiError(
      "validation_failed",
      "state: unknown, used or expired; start the connection again from Orderlane",
      { issues: [{ path: "state", message: "unknown, used or expired" }] },
    );
  }
  const app = {
    ...oauthAppOf(config, provider, ""),
    // Exactly the redirect URL the authorize request named.
    redirectUri: start.redirectUri,
  };
  let grant: Awaited<ReturnType<ReturnType<typeof oauthOf>["exchangeCode"]>>;
  try {
    grant = await oauthOf(provider).exchangeCode(app, query, { timeoutMs: config.posTimeoutMs });
  } catch (err) {
    if (!(err instanceof PosError)) throw err;
    throw ApiError.unprocessable(`code: ${err.message}`, {
      reason: err.kind === "retryable" ? "pos_unreachable" : "pos_authorization_refused",
      provider,
      vendorCode: err.code,
      issues: [{ path: "code", message: err.message }],
    });
  }
  const locationId = start.locationId ?? defaultLocation(provider, grant.merchantId);
  const integration = await connectPos(
    env,
    db,
    tenant,
    {
      provider,
      locationId,
      credentials: grant.credentials,
      webhookSecret: start.webhookSecret,
      settings: start.settings,
      session: grant.session,
    },
    now,
  );
  return { tenant, integration };
}

// Square: RetrieveLocation takes `main` for the seller's main location
// (https://developer.squareup.com/reference/square/locations-api/retrieve-location); Clover names
// the merchant in the callback (`merchant_id`): https://docs.clover.com/docs/high-trust-app-auth-flow
function defaultLocation(provider: OAuthProvider, merchantId: string | null): string {
  if (provider === "square") return "main";
  if (!merchantId) {
    throw ApiError.unprocessable("merchant_id: Clover did not say which merchant granted access", {
      reason: "pos_authorization_refused",
      provider,
      issues: [{ path: "merchant_id", message: "missing from the callback" }],
    });
  }
  return merchantId;
}

/**
 * The cron pass: sessions due for renewal are renewed and sealed again. A vendor that does not
 * answer is asked again in five minutes; one that refuses ends the renewals (the owner must
 * reconnect) and raises `integration_degraded` once. Returns what to deliver.
 */
export async function refreshDueSessions(env: Env, db: Db, now: Date): Promise<Effects[]> {
  const config = readConfig(env);
  const due = await listSessionsDue(db, now, REFRESHES_PER_PASS);
  const decided: Effects[] = [];
  for (const row of due) {
    // Taken for this pass first: an overlapping pass leaves it alone.
    const dueAt = row.sessionRefreshAt;
    const taken =
      dueAt !== null &&
      (await claimSessionRefresh(
        db,
        row.tenantId,
        dueAt,
        new Date(now.getTime() + REFRESH_RETRY_MS),
      ));
    if (!taken) continue;
    try {
      const raised = await refreshOne(config, db, row, now);
      if (raised) decided.push(raised);
    } catch (err) {
      // One tenant's failure (a row that does not decrypt, D1) does not stop the others'.
      console.error(
        logLine({
          level: "error",
          msg: "session renewal failed",
          tenantId: row.tenantId,
          error: String(err),
        }),
      );
    }
  }
  return decided;
}

async function refreshOne(
  config: Config,
  db: Db,
  row: PosIntegrationRow,
  now: Date,
): Promise<Effects | null> {
  const provider = row.provider as PosProvider;
  try {
    const session = await getPosAdapter(provider).refreshSession(
      {
        provider,
        locationId: row.locationId,
        credentials: await openCredentials(config.credentialsKey, row),
        session: await openSession(config.credentialsKey, row),
        baseUrl: posBaseUrlOf(config, provider),
        syncCustomerInfo: row.syncCustomerInfo,
        settings: row.vendorSettings,
      },
      { timeoutMs: config.posTimeoutMs },
    );
    await saveSession(db, config.credentialsKey, row.tenantId, session, now);
    return null;
  } catch (err) {
    if (!(err instanceof PosError) || err.kind === "retryable") {
      await deferSessionRefresh(db, row.tenantId, new Date(now.getTime() + REFRESH_RETRY_MS), now);
      return null;
    }
    // Renewed meanwhile by a submission (refresh tokens are single use): not a refusal.
    const used = await openSession(config.credentialsKey, row);
    if (await newerSession(db, config.credentialsKey, row.tenantId, used)) return null;
    return refreshRefused(db, row, err, now);
  }
}

async function refreshRefused(
  db: Db,
  row: PosIntegrationRow,
  err: PosError,
  now: Date,
): Promise<Effects | null> {
  const tenant = await findTenantById(db, row.tenantId);
  if (!tenant) return null;
  // Once per session: the renewals end in the alert's batch, so it is not raised again next minute.
  const events = await raiseAlert(
    db,
    {
      tenantId: tenant.id,
      kind: "integration_degraded",
      level: "warning",
      orderId: null,
      message: `${row.provider} refused to renew Orderlane's access (${err.code}): reconnect the POS, or orders will stop reaching it.`,
    },
    now,
    [sessionRefreshRefused(db, row.tenantId, now)],
  );
  return effectsOf(tenant, { events });
}
