ALTER TABLE `orders` ADD `payment_intent_id` text;--> statement-breakpoint
CREATE INDEX `orders_payment_intent_idx` ON `orders` (`payment_intent_id`);