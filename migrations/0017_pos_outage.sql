ALTER TABLE `orders` ADD `pos_entered_at` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `pos_entered_by` text;--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `unanswered_streak` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `down_since` text;--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `probe_at` text;--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `probe_failures` integer DEFAULT 0 NOT NULL;