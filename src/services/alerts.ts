import { type AlertRow, acknowledgeAlert, findAlert } from "../db/alerts";
import type { Db } from "../db/client";
import type { Tenant } from "../db/tenants";
import { ApiError } from "../http/errors";
import { type Effects, effectsOf } from "./effects";

/**
 * Acknowledges an alert for staff (route or terminal): unknown is 404, one
 * already acknowledged is 409. Returns the alert and its effects to deliver.
 */
export async function acknowledgeStaffAlert(
  db: Db,
  tenant: Tenant,
  alertId: string,
  by: string,
  now: Date,
): Promise<{ alert: AlertRow; effects: Effects }> {
  const acknowledged = await acknowledgeAlert(db, tenant.id, alertId, by, now);
  if (acknowledged) {
    return {
      alert: acknowledged.alert,
      effects: effectsOf(tenant, { events: [acknowledged.event] }),
    };
  }
  const existing = await findAlert(db, tenant.id, alertId);
  if (!existing) throw new ApiError("not_found", "unknown alert");
  throw new ApiError("conflict", "this alert was already acknowledged", {
    acknowledgedAt: existing.acknowledgedAt,
  });
}
