CREATE TABLE `pos_oauth_states` (
	`state_hash` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`provider` text NOT NULL,
	`location_id` text,
	`redirect_uri` text NOT NULL,
	`settings` text NOT NULL,
	`webhook_secret_ciphertext` text,
	`expires_at` text NOT NULL,
	`used_at` text,
	`created_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `pos_oauth_states_expires_idx` ON `pos_oauth_states` (`expires_at`);--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `session_refresh_at` text;