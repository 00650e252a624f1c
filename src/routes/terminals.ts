import { Hono } from "hono";
import { findActiveApiKey, findApiKey } from "../db/api-keys";
import { getDb } from "../db/client";
import { findTenantBySlug } from "../db/tenants";
import { consumeTerminalTicket, findUsableTerminalTicket } from "../db/terminal-tickets";
import { HUB_HEADERS } from "../durable/tenant-hub";
import { bearerToken } from "../http/auth";
import { ApiError } from "../http/errors";
import {
  countRefusedCredential,
  limitTerminalConnection,
  refuseLockedOutClient,
} from "../http/rate-limit";
import type { AppEnv } from "../http/router";
import { tenantHub } from "../services/outbox";

/**
 * `GET /ws/pos/:tenant`: the terminal socket. Authentication happens here,
 * before the upgrade reaches the tenant's hub: a live key of this tenant in
 * `Authorization: Bearer`, or a single-use ticket in `?ticket=`. Anything
 * else is 401 and no socket is opened.
 */
export const terminalRoutes = new Hono<AppEnv>().get("/ws/pos/:tenant", async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "this path only accepts a WebSocket upgrade");
  }
  const db = getDb(c.env);
  const now = new Date();
  const tenant = await findTenantBySlug(db, c.req.param("tenant"));
  const ticket = c.req.query("ticket");
  const token = bearerToken(c.req.header("authorization"));
  let keyId: string | null = null;
  if (ticket || token) refuseLockedOutClient(c);
  if (ticket) {
    const used = await findUsableTerminalTicket(db, ticket, now);
    if (used && tenant && used.tenantId === tenant.id) {
      const key = await findApiKey(db, tenant.id, used.apiKeyId);
      if (key && !key.revokedAt) keyId = key.id;
    }
  } else if (token) {
    const key = await findActiveApiKey(db, token);
    if (key && tenant && key.tenantId === tenant.id) keyId = key.id;
  }
  // Limited before the ticket is used up, so a refused connection costs the client nothing.
  if (tenant && keyId) await limitTerminalConnection(c, tenant.id, keyId);
  if (ticket && keyId && !(await consumeTerminalTicket(db, ticket, now))) keyId = null;
  if (!tenant || !keyId) {
    if (ticket || token) await countRefusedCredential(c);
    // One answer for every refusal, so a caller learns nothing about which part failed.
    throw new ApiError(
      "unauthorized",
      "a terminal key or a valid, unused ticket of this tenant is required",
    );
  }
  const name = c.req.query("name");
  const terminalId = name && /^[\w.-]{1,40}$/.test(name) ? `${keyId}:${name}` : keyId;
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  headers.set(HUB_HEADERS.tenantId, tenant.id);
  headers.set(HUB_HEADERS.tenantSlug, tenant.slug);
  headers.set(HUB_HEADERS.terminalId, terminalId);
  headers.set(HUB_HEADERS.keyId, keyId);
  return tenantHub(c.env, tenant.id).fetch(new Request(c.req.raw.url, { headers }));
});
