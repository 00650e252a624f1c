/**
 * Staff and customer notifications. The default notifier writes a structured
 * log line (ids and the message, no contact details); an HTTP email provider
 * can implement the same interface where one is configured.
 */

import { logLine } from "../../log";

export interface Notification {
  audience: "staff" | "customer";
  kind: string;
  tenantId: string;
  orderId: string | null;
  message: string;
}

export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

export const logNotifier: Notifier = {
  async notify(notification) {
    console.log(logLine({ level: "info", msg: "notification", ...notification }));
  },
};

/** The notifier for this deployment. */
export function getNotifier(_env: Env): Notifier {
  return logNotifier;
}
