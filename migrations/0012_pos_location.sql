ALTER TABLE `pos_integrations` ADD `location_name` text;--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `location_currency` text;--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `location_timezone` text;--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `vendor_settings` text DEFAULT '{}' NOT NULL;