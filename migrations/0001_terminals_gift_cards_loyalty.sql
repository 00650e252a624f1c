CREATE TABLE `gift_cards` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`code_hash` text NOT NULL,
	`code_last4` text NOT NULL,
	`initial_amount` integer NOT NULL,
	`balance` integer NOT NULL,
	`currency` text NOT NULL,
	`purchaser_name` text NOT NULL,
	`recipient_name` text,
	`recipient_email` text,
	`expires_at` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "gift_cards_balance_check" CHECK("gift_cards"."balance" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `gift_cards_code_hash_unique` ON `gift_cards` (`code_hash`);--> statement-breakpoint
CREATE INDEX `gift_cards_tenant_idx` ON `gift_cards` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `loyalty_accounts` (
	`tenant_id` text NOT NULL,
	`phone` text NOT NULL,
	`balance` integer NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `phone`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "loyalty_accounts_balance_check" CHECK("loyalty_accounts"."balance" >= 0)
);
--> statement-breakpoint
CREATE TABLE `loyalty_transactions` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`phone` text NOT NULL,
	`kind` text NOT NULL,
	`points` integer NOT NULL,
	`reason` text NOT NULL,
	`balance_after` integer NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `loyalty_transactions_account_idx` ON `loyalty_transactions` (`tenant_id`,`phone`,`created_at`);--> statement-breakpoint
CREATE TABLE `terminal_tickets` (
	`ticket_hash` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`api_key_id` text NOT NULL,
	`expires_at` text NOT NULL,
	`used_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `terminal_tickets_expires_idx` ON `terminal_tickets` (`expires_at`);