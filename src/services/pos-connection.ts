import { getPosAdapter } from "../adapters/pos";
import {
  PosError,
  type PosLocationInfo,
  type PosProvider,
  type PosSession,
} from "../adapters/pos/types";
import { posBaseUrlOf, readConfig } from "../config";
import type { Db } from "../db/client";
import {
  connectPosIntegration,
  type PosIntegrationRow,
  type PosSettings,
} from "../db/pos-integrations";
import type { Tenant } from "../db/tenants";
import { ApiError } from "../http/errors";

// Connecting a tenant's POS: the vendor is asked once, with the credentials as given, before
// anything is stored, so wrong credentials, a location that is not theirs or one that sells in
// another currency are refused at connect time (422, naming the field), not at the first order.

export interface ConnectRequest {
  provider: PosProvider;
  locationId: string;
  credentials: Record<string, string>;
  webhookSecret: string | null;
  settings: PosSettings;
  /** The session an OAuth grant gave (services/pos-oauth.ts); absent for credentials typed in. */
  session?: PosSession | null;
}

/** Checks the connection with the vendor, then stores it (replacing any earlier one). */
export async function connectPos(
  env: Env,
  db: Db,
  tenant: Pick<Tenant, "id" | "currency">,
  request: ConnectRequest,
  now: Date,
): Promise<PosIntegrationRow> {
  const config = readConfig(env);
  const location = await checkWithVendor(
    request,
    posBaseUrlOf(config, request.provider),
    config.posTimeoutMs,
  );
  if (location.currency && location.currency !== tenant.currency) {
    throw ApiError.unprocessable(
      `locationId: the location sells in ${location.currency}; this tenant sells in ${tenant.currency}`,
      {
        reason: "pos_currency_mismatch",
        issues: [
          {
            path: "locationId",
            message: `sells in ${location.currency}, not the tenant's ${tenant.currency}`,
          },
        ],
      },
    );
  }
  return connectPosIntegration(
    db,
    config.credentialsKey,
    { tenantId: tenant.id, ...request, locationId: location.id ?? request.locationId, location },
    now,
  );
}

async function checkWithVendor(
  request: ConnectRequest,
  baseUrl: string,
  timeoutMs: number,
): Promise<PosLocationInfo> {
  const adapter = getPosAdapter(request.provider);
  try {
    return await adapter.checkConnection(
      {
        provider: request.provider,
        locationId: request.locationId,
        credentials: request.credentials,
        session: request.session ?? null,
        baseUrl,
        syncCustomerInfo: request.settings.syncCustomerInfo,
      },
      { timeoutMs },
    );
  } catch (err) {
    if (!(err instanceof PosError)) throw err;
    throw refusal(request.provider, err);
  }
}

/** The 422 for a vendor's refusal; the vendor's own words stay in `details`, never a secret. */
function refusal(provider: PosProvider, err: PosError): ApiError {
  const vendor = { provider, vendorCode: err.code, vendorStatus: err.details.status ?? null };
  if (err.kind === "auth") {
    return ApiError.unprocessable(`credentials: ${provider} refused these credentials`, {
      reason: "pos_credentials_refused",
      ...vendor,
      issues: [{ path: "credentials", message: `refused by ${provider}` }],
    });
  }
  if (err.kind === "permanent") {
    return ApiError.unprocessable(`locationId: ${err.message}`, {
      reason: "pos_location_refused",
      ...vendor,
      issues: [{ path: "locationId", message: err.message }],
    });
  }
  // Retryable: the vendor did not answer (a timeout, a 5xx, a 429). Nothing was stored.
  return ApiError.unprocessable(
    `${provider} did not answer the connection check (${err.message}); nothing was changed, try again`,
    { reason: "pos_unreachable", ...vendor, retryAfterSeconds: err.details.retryAfterSeconds },
  );
}
