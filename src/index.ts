import { swaggerUI } from "@hono/swagger-ui";
import { bodyLimit } from "hono/body-limit";
import { ApiError, errorBody, handleError } from "./http/errors";
import { createRouter } from "./http/router";
import { handleQueueBatch } from "./queues";
import { adminRoutes } from "./routes/admin";
import { platformRoutes } from "./routes/platform";
import { posRoutes } from "./routes/pos";
import { storefrontRoutes } from "./routes/storefront";
import { terminalRoutes } from "./routes/terminals";
import { runScheduled } from "./scheduled";

export { TenantHub } from "./durable/tenant-hub";

const MAX_BODY_BYTES = 64 * 1024;
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json(?:\s*;.*)?$/i;

const app = createRouter();

app.use(
  "*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) =>
      c.json(
        errorBody("payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`),
        413,
      ),
  }),
);

// Bodies are JSON only; anything else is refused before a validator sees it.
app.use("/v1/*", async (c, next) => {
  const type = c.req.header("content-type");
  const hasBody =
    c.req.header("content-length") !== "0" && (type || c.req.header("transfer-encoding"));
  if (hasBody && ["POST", "PUT", "PATCH"].includes(c.req.method) && !JSON_TYPE.test(type ?? "")) {
    throw new ApiError("validation_failed", "Content-Type must be application/json");
  }
  await next();
});

app.route("/", platformRoutes);
app.route("/", storefrontRoutes);
app.route("/", adminRoutes);
app.route("/", posRoutes);
app.route("/", terminalRoutes);

app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
  type: "http",
  scheme: "bearer",
  description: "The platform admin token, or a tenant API key (owner, staff or terminal).",
});
app.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "Orderlane API",
    version: "1.0.0",
    description: "Multi-tenant restaurant ordering: storefronts, staff, terminals and vendors.",
  },
});
app.get("/docs", swaggerUI({ url: "/openapi.json", title: "Orderlane API" }));

app.notFound((c) =>
  c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404),
);
app.onError(handleError);

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    await handleQueueBatch(batch, env);
  },
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, new Date(controller.scheduledTime)));
  },
} satisfies ExportedHandler<Env>;
