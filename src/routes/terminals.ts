import { Hono } from "hono";
import { type ApiKey, findActiveApiKey, findLiveApiKey } from "../db/api-keys";
import { getDb } from "../db/client";
import { findTenantBySlug } from "../db/tenants";
import { consumeTerminalTicket, findUsableTerminalTicket } from "../db/terminal-tickets";
import { tenantHub } from "../delivery";
import { HUB_HEADERS } from "../durable/tenant-hub";
import { bearerToken } from "../http/auth";
import { ApiError } from "../http/errors";
import {
  countRefusedCredential,
  limitTerminalConnection,
  refuseLockedOutClient,
} from "../http/rate-limit";
import type { AppEnv } from "../http/router";

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
  let key: ApiKey | undefined;
  if (ticket || token) refuseLockedOutClient(c);
  if (tenant && ticket) {
    // Only this tenant's tickets are looked at, so a wrong path cannot use up another's.
    const usable = await findUsableTerminalTicket(db, tenant.id, ticket, now);
    if (usable) key = await findLiveApiKey(db, tenant.id, usable.apiKeyId);
  } else if (tenant && token) {
    const found = await findActiveApiKey(db, token);
    if (found?.tenantId === tenant.id) key = found;
  }
  // Limited before the ticket is used up, so a refused connection costs the client nothing.
  if (tenant && key) await limitTerminalConnection(c, tenant.id, key.id);
  if (tenant && ticket && key && !(await consumeTerminalTicket(db, tenant.id, ticket, now))) {
    key = undefined;
  }
  if (!tenant || !key) {
    if (ticket || token) await countRefusedCredential(c);
    // One answer for every refusal, so a caller learns nothing about which part failed.
    throw new ApiError(
      "unauthorized",
      "a terminal key or a valid, unused ticket of this tenant is required",
    );
  }
  const name = c.req.query("name");
  const terminalId = name && /^[\w.-]{1,40}$/.test(name) ? `${key.id}:${name}` : key.id;
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  headers.set(HUB_HEADERS.tenantId, tenant.id);
  headers.set(HUB_HEADERS.tenantSlug, tenant.slug);
  headers.set(HUB_HEADERS.terminalId, terminalId);
  headers.set(HUB_HEADERS.keyId, key.id);
  headers.set(HUB_HEADERS.keyRole, key.role);
  return tenantHub(c.env, tenant.id).fetch(new Request(c.req.raw.url, { headers }));
});
