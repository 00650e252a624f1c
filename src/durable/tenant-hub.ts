import { DurableObject } from "cloudflare:workers";

/**
 * One per tenant (`idFromName(tenantId)`): the tenant's terminal sockets and
 * its event log. The socket protocol, event log and outbox delivery arrive
 * with the terminals work; until then the class exists so that the binding
 * and its SQLite migration are in place.
 */
export class TenantHub extends DurableObject<Env> {}
