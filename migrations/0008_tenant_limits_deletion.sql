ALTER TABLE `tenants` ADD `max_amount` integer DEFAULT 100000000 NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `deleted_at` text;