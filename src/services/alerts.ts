import { type AlertRow, acknowledgeAlert, findAlert } from "../db/alerts";
import type { Db } from "../db/client";
import type { OutboxRecord } from "../db/outbox";
import { ApiError } from "../http/errors";

/**
 * Acknowledges an alert for staff (route or terminal): unknown is 404, one
 * already acknowledged is 409. Returns the alert and the event to deliver.
 */
export async function acknowledgeStaffAlert(
  db: Db,
  tenantId: string,
  alertId: string,
  by: string,
  now: Date,
): Promise<{ alert: AlertRow; events: OutboxRecord[] }> {
  const acknowledged = await acknowledgeAlert(db, tenantId, alertId, by, now);
  if (acknowledged) return { alert: acknowledged.alert, events: [acknowledged.event] };
  const existing = await findAlert(db, tenantId, alertId);
  if (!existing) throw new ApiError("not_found", "unknown alert");
  throw new ApiError("conflict", "this alert was already acknowledged", {
    acknowledgedAt: existing.acknowledgedAt,
  });
}
