import type { ApiKey } from "../db/api-keys";
import type { Db } from "../db/client";
import type { Tenant } from "../db/tenants";

/** What middleware puts on the context for handlers. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    db: Db;
    tenant: Tenant;
    /** The route's tenant id, where the route reads the tenant row itself (resolveTenantId). */
    tenantId: string;
    apiKey: ApiKey;
    /** Set first, for every request (`assignRequestId`). */
    requestId: string;
  };
}
