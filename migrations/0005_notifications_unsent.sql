CREATE INDEX `notifications_unsent_idx` ON `notifications` (`created_at`) WHERE "notifications"."sent_at" IS NULL;--> statement-breakpoint
-- Rows written before sent_at was kept were handed to the notifier when written: not again.
UPDATE `notifications` SET `sent_at` = `created_at` WHERE `sent_at` IS NULL;
