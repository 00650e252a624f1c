ALTER TABLE `tenants` ADD `allowed_origins` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `console_origins` text DEFAULT '[]' NOT NULL;