import { createRoute, z } from "@hono/zod-openapi";
import { type AlertRow, listAlerts } from "../../db/alerts";
import { deliverAfterResponse } from "../../delivery";
import { keyRouter } from "../../http/auth";
import {
  errorResponses,
  IdParam,
  jsonContent,
  NO_TENANT,
  PageQuery,
  registerComponents,
  TenantParam,
} from "../../http/router";
import { acknowledgeStaffAlert } from "../../services/alerts";
import { serverTime } from "../schemas";

// Staff alerts: the list, and acknowledging one.

const AlertIdParams = IdParam("The alert's `id` (`alr_…`).");

const AlertSchema = z
  .object({
    id: z.string().describe("The alert's id: `alr_` and 26 characters."),
    kind: z
      .string()
      .describe(
        "What happened: `pos_sync_failed`, `refund_failed`, `integration_degraded`, `pos_void_needed`, `payment_mismatch`, `payment_duplicate`, `payment_capture_failed`, `pos_synced_after_refund`, …",
      ),
    level: z
      .enum(["info", "warning", "critical"])
      .describe(
        "How urgent; `critical` alerts are raised again every 5 minutes until acknowledged.",
      ),
    orderId: z.string().nullable().describe("The order it is about (`ord_…`), or null."),
    message: z.string().describe("A sentence for staff."),
    createdAt: serverTime("When it was first raised"),
    lastRaisedAt: serverTime("When it was last raised"),
    raiseCount: z.number().int().describe("How many times it has been raised."),
    acknowledgedAt: z
      .string()
      .nullable()
      .describe("When staff acknowledged it, ISO 8601 UTC; null while open."),
  })
  .openapi("Alert", { description: "Something staff must know or act on." });

const staff = keyRouter("staff");
registerComponents(staff.openAPIRegistry, { Alert: AlertSchema });

const listAlertsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/alerts",
  tags: ["admin: alerts"],
  summary: "Staff alerts, newest first",
  description:
    "The tenant's alerts, newest first: POS submissions that failed, refunds that failed, a degraded POS, orders to void in the POS, payments that do not match.",
  request: {
    params: TenantParam,
    query: z.object({
      open: z
        .enum(["true", "false"])
        .optional()
        .describe("`true` for unacknowledged alerts only; all of them otherwise."),
      limit: PageQuery.shape.limit,
    }),
  },
  responses: {
    200: jsonContent(
      z.object({
        items: z.array(AlertSchema).describe("The alerts, newest first, at most `limit`."),
      }),
      "Alerts.",
    ),
    ...errorResponses(
      {
        code: "validation_failed",
        when: "`open` is not `true` or `false`, or `limit` is not 1–200",
      },
      NO_TENANT,
    ),
  },
});

staff.openapi(listAlertsRoute, async (c) => {
  const query = c.req.valid("query");
  const rows = await listAlerts(c.get("db"), c.get("tenant").id, {
    openOnly: query.open === "true",
    limit: query.limit,
  });
  return c.json({ items: rows.map(alertDto) }, 200);
});

const ackAlertRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/alerts/{id}/ack",
  tags: ["admin: alerts"],
  summary: "Acknowledge an alert: it stops being raised again",
  description:
    "Marks the alert acknowledged by this key: it is not raised again. Terminals do the same with `ack_alert` on the socket.",
  request: { params: AlertIdParams },
  responses: {
    200: jsonContent(
      z.object({ alert: AlertSchema.openapi({ description: "The alert, acknowledged." }) }),
      "Acknowledged.",
    ),
    ...errorResponses(
      { code: "not_found", when: "no tenant has this slug, or it has no such alert" },
      { code: "conflict", when: "the alert is acknowledged already" },
    ),
  },
});

staff.openapi(ackAlertRoute, async (c) => {
  const tenant = c.get("tenant");
  const { alert, effects } = await acknowledgeStaffAlert(
    c.get("db"),
    tenant,
    c.req.valid("param").id,
    `key:${c.get("apiKey").id}`,
    new Date(),
  );
  deliverAfterResponse(c, effects);
  return c.json({ alert: alertDto(alert) }, 200);
});

export const alertRoutes = staff;

function alertDto(row: AlertRow): z.infer<typeof AlertSchema> {
  return {
    id: row.id,
    kind: row.kind,
    level: row.level,
    orderId: row.orderId,
    message: row.message,
    createdAt: row.createdAt,
    lastRaisedAt: row.lastRaisedAt,
    raiseCount: row.raiseCount,
    acknowledgedAt: row.acknowledgedAt,
  };
}
