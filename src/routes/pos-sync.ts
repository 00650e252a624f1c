import { createRoute, z } from "@hono/zod-openapi";
import { readConfig } from "../config";
import { type AlertRow, listAlerts } from "../db/alerts";
import { findOrder } from "../db/orders";
import {
  connectPosIntegration,
  DEFAULT_POS_SETTINGS,
  disconnectPosIntegration,
  findPosIntegration,
  type PosIntegrationRow,
} from "../db/pos-integrations";
import { listSyncAttempts, type SyncAttemptRow, syncStats } from "../db/sync-attempts";
import { requireRole } from "../http/auth";
import { ApiError } from "../http/errors";
import {
  bearerSecurity,
  createRouter,
  errorResponses,
  jsonBody,
  jsonContent,
  PageQuery,
  pageSchema,
  TenantParam,
} from "../http/router";
import { acknowledgeStaffAlert } from "../services/alerts";
import { deliverEvents } from "../services/outbox";
import { retryPosSubmission } from "../services/pos-sync";
import { OrderSchema, orderDto } from "./schemas";

const secret = z.string().min(1).max(2000);
const optionalSecret = secret.optional();

/** What each provider needs; validated here so a typo fails at connect time, not at the first order. */
const CredentialsByProvider = {
  // Toast needs the restaurant's dining option GUIDs on every order (see toast.ts).
  toast: z
    .object({
      clientId: secret,
      clientSecret: secret,
      diningOptionPickup: optionalSecret,
      diningOptionDelivery: optionalSecret,
      diningOptionDineIn: optionalSecret,
      otherPaymentGuid: optionalSecret,
    })
    .strict(),
  clover: z
    .object({
      accessToken: secret,
      refreshToken: optionalSecret,
      clientId: optionalSecret,
      clientSecret: optionalSecret,
      orderTypePickup: optionalSecret,
      orderTypeDelivery: optionalSecret,
      orderTypeDineIn: optionalSecret,
    })
    .strict(),
  square: z
    .object({
      accessToken: secret,
      refreshToken: optionalSecret,
      clientId: optionalSecret,
      clientSecret: optionalSecret,
    })
    .strict(),
  webhook: z
    .object({
      url: z.url({ protocol: /^https?$/ }).max(2000),
      secret: z.string().min(16, "must be at least 16 characters").max(500),
    })
    .strict(),
  sandbox: z
    .object({
      latencyMs: z
        .string()
        .regex(/^\d{1,5}$/)
        .optional(),
      failureRate: z
        .string()
        .regex(/^(0(\.\d+)?|1(\.0+)?)$/)
        .optional(),
    })
    .strict(),
} as const;

const SettingsSchema = z
  .object({
    autoSync: z.boolean(),
    syncCustomerInfo: z.boolean(),
    failurePolicy: z.enum(["hold", "auto_refund"]),
    captureMode: z.enum(["immediate", "on_pos_accept"]),
    maxAttempts: z.number().int().min(1).max(20),
  })
  .strict()
  .openapi("PosSettings");

const ConnectSchema = z
  .object({
    provider: z.enum(["toast", "clover", "square", "webhook", "sandbox"]),
    locationId: z.string().trim().min(1).max(200),
    credentials: z.record(z.string(), z.string().max(2000)),
    webhookSecret: z.string().min(8).max(500).optional(),
    settings: SettingsSchema.partial().optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    const parsed = CredentialsByProvider[body.provider].safeParse(body.credentials);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({
          code: "custom",
          path: ["credentials", ...issue.path.map(String)],
          message: issue.message,
        });
      }
    }
  })
  .openapi("PosConnect");

const IntegrationSchema = z
  .object({
    provider: z.string(),
    locationId: z.string(),
    status: z.enum(["connected", "disconnected"]),
    settings: SettingsSchema,
    hasWebhookSecret: z.boolean(),
    health: z.object({
      state: z.enum(["healthy", "degraded", "disconnected"]),
      consecutiveFailures: z.number().int(),
      degradedAt: z.string().nullable(),
    }),
    connectedAt: z.string(),
    disconnectedAt: z.string().nullable(),
  })
  .openapi("PosIntegration");

const getIntegrationRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/integration",
  tags: ["admin: pos"],
  summary: "The POS connection and its settings, without secrets",
  security: bearerSecurity,
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({ integration: IntegrationSchema.nullable() }),
      "the integration, or null",
    ),
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

const connectRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/pos/connect",
  tags: ["admin: pos"],
  summary: "Connect the POS (owner); credentials are encrypted at rest and never returned",
  security: bearerSecurity,
  middleware: requireRole("owner"),
  request: { params: TenantParam, body: jsonBody(ConnectSchema) },
  responses: {
    200: jsonContent(z.object({ integration: IntegrationSchema }), "connected"),
    ...errorResponses(
      "validation_failed",
      "malformed_json",
      "unauthorized",
      "forbidden",
      "not_found",
    ),
  },
});

const disconnectRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/pos/disconnect",
  tags: ["admin: pos"],
  summary: "Stop syncing to the POS (owner); the sync history is kept",
  security: bearerSecurity,
  middleware: requireRole("owner"),
  request: { params: TenantParam },
  responses: {
    200: jsonContent(z.object({ integration: IntegrationSchema }), "disconnected"),
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

const SyncAttemptSchema = z
  .object({
    id: z.string(),
    orderId: z.string(),
    provider: z.string(),
    attempt: z.number().int(),
    status: z.enum(["success", "retryable_error", "permanent_error"]),
    errorCode: z.string().nullable(),
    errorMessage: z.string().nullable(),
    durationMs: z.number().int(),
    posOrderId: z.string().nullable(),
    startedAt: z.string(),
  })
  .openapi("SyncAttempt");

const AlertSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    level: z.enum(["info", "warning", "critical"]),
    orderId: z.string().nullable(),
    message: z.string(),
    createdAt: z.string(),
    lastRaisedAt: z.string(),
    raiseCount: z.number().int(),
    acknowledgedAt: z.string().nullable(),
  })
  .openapi("Alert");

const IdParams = TenantParam.extend({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

const syncHistoryRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/sync-history",
  tags: ["admin: pos"],
  summary: "POS submission attempts, newest first",
  security: bearerSecurity,
  request: {
    params: TenantParam,
    query: PageQuery.extend({
      status: z.enum(["success", "retryable_error", "permanent_error"]).optional(),
      cursor: z
        .string()
        .regex(/^att_[0-9A-Z]{26}$/, "is not a cursor from this list")
        .optional(),
    }),
  },
  responses: {
    200: jsonContent(pageSchema(SyncAttemptSchema), "a page of attempts"),
    ...errorResponses("validation_failed", "unauthorized", "forbidden", "not_found"),
  },
});

const statsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/pos/stats",
  tags: ["admin: pos"],
  summary: "Submission totals, success rate and attempt-duration percentiles",
  security: bearerSecurity,
  request: { params: TenantParam },
  responses: {
    200: jsonContent(
      z.object({
        totalSyncs: z.number().int(),
        successfulSyncs: z.number().int(),
        failedSyncs: z.number().int(),
        pendingRetries: z.number().int(),
        successRate: z.number().min(0).max(100).openapi({
          description:
            "successfulSyncs / totalSyncs × 100, rounded to one decimal; 0 with no attempts.",
        }),
        p50SyncMs: z.number().int().nullable(),
        p95SyncMs: z.number().int().nullable(),
        ordersSynced: z
          .number()
          .int()
          .openapi({ description: "Orders the POS has (posStatus synced)." }),
        ordersFailed: z
          .number()
          .int()
          .openapi({ description: "Orders the POS refused for good (posStatus failed)." }),
        ordersRetrying: z
          .number()
          .int()
          .openapi({ description: "Orders still on their way to the POS (queued or retrying)." }),
      }),
      "the stats",
    ),
    ...errorResponses("unauthorized", "forbidden", "not_found"),
  },
});

const posRetryRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/orders/{id}/pos-retry",
  tags: ["admin: pos"],
  summary: "Send a failed order to the POS again, with a fresh attempt budget (409 unless failed)",
  security: bearerSecurity,
  middleware: requireRole("staff"),
  request: { params: IdParams },
  responses: {
    202: jsonContent(z.object({ order: OrderSchema }), "queued again"),
    ...errorResponses("unauthorized", "forbidden", "not_found", "conflict"),
  },
});

const listAlertsRoute = createRoute({
  method: "get",
  path: "/v1/admin/{tenant}/alerts",
  tags: ["admin: alerts"],
  summary: "Staff alerts, newest first",
  security: bearerSecurity,
  middleware: requireRole("staff"),
  request: {
    params: TenantParam,
    query: z.object({
      open: z.enum(["true", "false"]).optional(),
      limit: PageQuery.shape.limit,
    }),
  },
  responses: {
    200: jsonContent(z.object({ items: z.array(AlertSchema) }), "alerts"),
    ...errorResponses("validation_failed", "unauthorized", "forbidden", "not_found"),
  },
});

const ackAlertRoute = createRoute({
  method: "post",
  path: "/v1/admin/{tenant}/alerts/{id}/ack",
  tags: ["admin: alerts"],
  summary: "Acknowledge an alert: it stops being raised again",
  security: bearerSecurity,
  middleware: requireRole("staff"),
  request: { params: IdParams },
  responses: {
    200: jsonContent(z.object({ alert: AlertSchema }), "acknowledged"),
    ...errorResponses("unauthorized", "forbidden", "not_found", "conflict"),
  },
});

const posSync = createRouter();
posSync.use("/v1/admin/:tenant/pos/*", requireRole("staff"));

export const posSyncRoutes = posSync
  .openapi(getIntegrationRoute, async (c) => {
    const row = await findPosIntegration(c.get("db"), c.get("tenant").id);
    return c.json({ integration: row ? integrationDto(row) : null }, 200);
  })
  .openapi(connectRoute, async (c) => {
    const body = c.req.valid("json");
    const existing = await findPosIntegration(c.get("db"), c.get("tenant").id);
    const base = existing ? settingsOf(existing) : DEFAULT_POS_SETTINGS;
    const row = await connectPosIntegration(
      c.get("db"),
      readConfig(c.env).credentialsKey,
      {
        tenantId: c.get("tenant").id,
        provider: body.provider,
        locationId: body.locationId,
        credentials: body.credentials,
        webhookSecret: body.webhookSecret ?? null,
        settings: { ...base, ...body.settings },
      },
      new Date(),
    );
    return c.json({ integration: integrationDto(row) }, 200);
  })
  .openapi(syncHistoryRoute, async (c) => {
    const query = c.req.valid("query");
    const rows = await listSyncAttempts(c.get("db"), c.get("tenant").id, {
      status: query.status,
      beforeId: query.cursor,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return c.json(
      {
        items: page.map(syncAttemptDto),
        nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
      },
      200,
    );
  })
  .openapi(statsRoute, async (c) => c.json(await syncStats(c.get("db"), c.get("tenant").id), 200))
  .openapi(posRetryRoute, async (c) => {
    const tenant = c.get("tenant");
    const db = c.get("db");
    const order = await findOrder(db, tenant.id, c.req.valid("param").id);
    if (!order) throw new ApiError("not_found", "unknown order");
    if (order.posStatus !== "failed") {
      throw new ApiError(
        "conflict",
        `only a failed submission can be retried; this one is ${order.posStatus}`,
        {
          posStatus: order.posStatus,
        },
      );
    }
    if (order.status === "cancelled" || order.paymentStatus !== "paid") {
      throw new ApiError(
        "conflict",
        `only a paid, open order can be sent to the POS; this one is ${order.status} and ${order.paymentStatus}`,
        { status: order.status, paymentStatus: order.paymentStatus },
      );
    }
    const requeued = await retryPosSubmission(c.env, db, tenant, order, new Date());
    if (!requeued)
      throw new ApiError("conflict", "the order changed concurrently; read it again and retry");
    return c.json({ order: orderDto(requeued, tenant.slug) }, 202);
  })
  .openapi(listAlertsRoute, async (c) => {
    const query = c.req.valid("query");
    const rows = await listAlerts(c.get("db"), c.get("tenant").id, {
      openOnly: query.open === "true",
      limit: query.limit,
    });
    return c.json({ items: rows.map(alertDto) }, 200);
  })
  .openapi(ackAlertRoute, async (c) => {
    const tenant = c.get("tenant");
    const { alert, events } = await acknowledgeStaffAlert(
      c.get("db"),
      tenant.id,
      c.req.valid("param").id,
      `key:${c.get("apiKey").id}`,
      new Date(),
    );
    c.executionCtx.waitUntil(deliverEvents(c.env, tenant, events));
    return c.json({ alert: alertDto(alert) }, 200);
  })
  .openapi(disconnectRoute, async (c) => {
    const db = c.get("db");
    const tenantId = c.get("tenant").id;
    if (!(await disconnectPosIntegration(db, tenantId, new Date()))) {
      throw new ApiError("not_found", "no POS is connected");
    }
    const row = await findPosIntegration(db, tenantId);
    if (!row) throw new ApiError("not_found", "no POS is connected");
    return c.json({ integration: integrationDto(row) }, 200);
  });

function settingsOf(row: PosIntegrationRow) {
  return {
    autoSync: row.autoSync,
    syncCustomerInfo: row.syncCustomerInfo,
    failurePolicy: row.failurePolicy,
    captureMode: row.captureMode,
    maxAttempts: row.maxAttempts,
  };
}

function integrationDto(row: PosIntegrationRow): z.infer<typeof IntegrationSchema> {
  return {
    provider: row.provider,
    locationId: row.locationId,
    status: row.status,
    settings: settingsOf(row),
    hasWebhookSecret: row.webhookSecretCiphertext !== null,
    health: {
      state:
        row.status === "disconnected" ? "disconnected" : row.degradedAt ? "degraded" : "healthy",
      consecutiveFailures: row.consecutiveFailures,
      degradedAt: row.degradedAt,
    },
    connectedAt: row.connectedAt,
    disconnectedAt: row.disconnectedAt,
  };
}

function syncAttemptDto(row: SyncAttemptRow): z.infer<typeof SyncAttemptSchema> {
  return {
    id: row.id,
    orderId: row.orderId,
    provider: row.provider,
    attempt: row.attempt,
    status: row.status,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    durationMs: row.durationMs,
    posOrderId: row.posOrderId,
    startedAt: row.startedAt,
  };
}

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

export { SyncAttemptSchema, syncAttemptDto };
