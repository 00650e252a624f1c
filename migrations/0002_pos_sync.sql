CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`kind` text NOT NULL,
	`level` text NOT NULL,
	`order_id` text,
	`message` text NOT NULL,
	`created_at` text NOT NULL,
	`last_raised_at` text NOT NULL,
	`raise_count` integer DEFAULT 1 NOT NULL,
	`acknowledged_at` text,
	`acknowledged_by` text
);
--> statement-breakpoint
CREATE INDEX `alerts_tenant_open_idx` ON `alerts` (`tenant_id`,`acknowledged_at`,`created_at`);--> statement-breakpoint
CREATE INDEX `alerts_open_raised_idx` ON `alerts` (`last_raised_at`) WHERE "alerts"."acknowledged_at" IS NULL;--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`audience` text NOT NULL,
	`kind` text NOT NULL,
	`order_id` text,
	`message` text NOT NULL,
	`created_at` text NOT NULL,
	`sent_at` text
);
--> statement-breakpoint
CREATE INDEX `notifications_tenant_idx` ON `notifications` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `pos_integrations` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`location_id` text NOT NULL,
	`credentials_ciphertext` text NOT NULL,
	`webhook_secret_ciphertext` text,
	`session_ciphertext` text,
	`status` text NOT NULL,
	`auto_sync` integer NOT NULL,
	`sync_customer_info` integer NOT NULL,
	`failure_policy` text NOT NULL,
	`capture_mode` text NOT NULL,
	`max_attempts` integer NOT NULL,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`degraded_at` text,
	`connected_at` text NOT NULL,
	`disconnected_at` text,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `pos_sync_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`order_id` text NOT NULL,
	`provider` text NOT NULL,
	`attempt` integer NOT NULL,
	`status` text NOT NULL,
	`error_code` text,
	`error_message` text,
	`duration_ms` integer NOT NULL,
	`pos_order_id` text,
	`started_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `pos_sync_attempts_tenant_idx` ON `pos_sync_attempts` (`tenant_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `pos_sync_attempts_tenant_status_idx` ON `pos_sync_attempts` (`tenant_id`,`status`,`started_at`);--> statement-breakpoint
CREATE INDEX `pos_sync_attempts_order_idx` ON `pos_sync_attempts` (`order_id`,`started_at`);--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`provider` text NOT NULL,
	`event_id` text NOT NULL,
	`tenant_id` text,
	`received_at` text NOT NULL,
	PRIMARY KEY(`provider`, `event_id`)
);
--> statement-breakpoint
ALTER TABLE `orders` ADD `pos_claim` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `pos_claimed_until` text;--> statement-breakpoint
CREATE INDEX `orders_tenant_external_idx` ON `orders` (`tenant_id`,`external_id`);