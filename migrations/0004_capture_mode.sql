ALTER TABLE `orders` ADD `payment_capture_method` text DEFAULT 'automatic' NOT NULL;--> statement-breakpoint
ALTER TABLE `orders` ADD `payment_captured_at` text;