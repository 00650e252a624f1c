ALTER TABLE `pos_integrations` ADD `unanswered_since` text;--> statement-breakpoint
CREATE INDEX `orders_pos_poll_idx` ON `orders` (`pos_status`,`created_at`);