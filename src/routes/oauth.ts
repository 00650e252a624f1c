import { createRoute, z } from "@hono/zod-openapi";
import { html } from "hono/html";
import { getDb } from "../db/client";
import { createRouter, errorResponses, publicSecurity } from "../http/router";
import { completePosOAuth, OAUTH_PROVIDERS } from "../services/pos-oauth";

// Where Square and Clover send the owner's browser back after they granted (or declined) access:
// no bearer, the single-use state names the tenant.

const oauth = createRouter();

const query = z.string().max(2000).optional();

const callbackRoute = createRoute({
  method: "get",
  path: "/oauth/{provider}/callback",
  tags: ["admin: pos"],
  summary: "The vendor's redirect after the owner granted access (Square, Clover)",
  description:
    "Register `PUBLIC_BASE_URL` + this path as the app's redirect URL at the vendor. The state from `POST …/pos/oauth/{provider}/start` is used up, the code exchanged for tokens, the location checked as `POST …/pos/connect` does, and the POS connected. Answers a page for the owner's browser; errors in the usual envelope.",
  security: publicSecurity,
  request: {
    params: z.object({
      provider: z.enum(OAUTH_PROVIDERS).openapi({
        param: { name: "provider", in: "path" },
        description: "`square` or `clover`.",
      }),
    }),
    query: z
      .object({
        state: query.describe("The state the start answer's URL carried."),
        code: query.describe("The authorization code."),
        merchant_id: query.describe("Clover: the merchant that granted access."),
        error: query.describe("Square: `access_denied` when the seller declined."),
        error_description: query.describe("Square: why, e.g. `user_denied`."),
      })
      .loose(),
  },
  responses: {
    200: {
      description: "Connected: a page saying so.",
      content: { "text/html": { schema: z.string() } },
    },
    ...errorResponses(
      {
        code: "validation_failed",
        when: "the state is missing, unknown, used or older than 10 minutes (start again)",
      },
      {
        code: "validation_failed",
        status: 422,
        when: "the vendor refused the code, the owner declined, or the location failed the connection check (`details.reason` as for `POST …/pos/connect`, or `pos_authorization_refused`); nothing is stored",
      },
    ),
  },
});

oauth.openapi(callbackRoute, async (c) => {
  const { provider } = c.req.valid("param");
  const { integration } = await completePosOAuth(
    c.env,
    getDb(c.env),
    provider,
    new URL(c.req.url).searchParams,
    new Date(),
  );
  const where = integration.locationName ?? integration.locationId;
  return c.html(
    html`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Orderlane: ${provider} connected</title></head>
  <body>
    <h1>${provider === "square" ? "Square" : "Clover"} is connected</h1>
    <p>Paid orders now go to ${where}. You can close this window.</p>
  </body>
</html>`,
    200,
  );
});

export const oauthRoutes = oauth;
