import { clipInput } from "./domain/input-text";
import { cors } from "./http/cors";
import { errorResponse, handleError } from "./http/errors";
import { assignRequestId, limitBody, logRequest, requireJsonBody } from "./http/middleware";
import { documentCredentialLimit } from "./http/rate-limit";
import { API_OVERVIEW, createRouter, documentConventions, registerComponents } from "./http/router";
import { handleQueueBatch } from "./queues";
import { alertRoutes } from "./routes/admin/alerts";
import { discountRoutes } from "./routes/admin/discounts";
import { keyRoutes } from "./routes/admin/keys";
import { menuRoutes } from "./routes/admin/menu";
import { orderRoutes } from "./routes/admin/orders";
import { posIntegrationRoutes } from "./routes/admin/pos";
import { settingsRoutes } from "./routes/admin/settings";
import { oauthRoutes } from "./routes/oauth";
import { platformRoutes } from "./routes/platform";
import { posRoutes } from "./routes/pos";
import { SHARED_COMPONENTS } from "./routes/schemas";
import { storefrontOrderRoutes } from "./routes/storefront/orders";
import { storeRoutes } from "./routes/storefront/store";
import { terminalRoutes } from "./routes/terminals";
import { webhookRoutes } from "./routes/webhooks";
import { runScheduled } from "./scheduled";

export { RateCounter } from "./durable/rate-counter";
export { TenantHub } from "./durable/tenant-hub";

const app = createRouter();
// Before the route modules' own components, which refer to these.
registerComponents(app.openAPIRegistry, SHARED_COMPONENTS);
app.use("*", assignRequestId);
app.use("*", logRequest);
app.use("*", cors);
app.use("*", limitBody);
app.use("/v1/*", requireJsonBody);

app.route("/", platformRoutes);
app.route("/", storeRoutes);
app.route("/", storefrontOrderRoutes);
// The staff and owner API, by resource.
app.route("/", menuRoutes);
app.route("/", discountRoutes);
app.route("/", orderRoutes);
app.route("/", settingsRoutes);
app.route("/", keyRoutes);
app.route("/", posIntegrationRoutes);
app.route("/", alertRoutes);
app.route("/", posRoutes);
app.route("/", terminalRoutes);
app.route("/", webhookRoutes);
app.route("/", oauthRoutes);

documentCredentialLimit(app.openAPIRegistry);
documentConventions(app.openAPIRegistry);
app.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "Orderlane API",
    version: "1.0.0",
    description: API_OVERVIEW,
  },
});

app.notFound((c) =>
  errorResponse(c, "not_found", `no route for ${c.req.method} ${clipInput(c.req.path)}`),
);
app.onError(handleError);

export default {
  fetch: app.fetch,
  async queue(batch, env, _ctx) {
    await handleQueueBatch(batch, env);
  },
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, new Date(controller.scheduledTime)));
  },
} satisfies ExportedHandler<Env>;
