CREATE TABLE `menu_categories` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`sort_order` integer DEFAULT 0 NOT NULL,
	`pos_category_id` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `menu_categories_tenant_idx` ON `menu_categories` (`tenant_id`,`sort_order`);--> statement-breakpoint
CREATE TABLE `menu_modifier_groups` (
	`id` text PRIMARY KEY NOT NULL,
	`menu_item_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`min_selections` integer DEFAULT 0 NOT NULL,
	`max_selections` integer,
	`pos_group_id` text,
	`position` integer NOT NULL,
	FOREIGN KEY (`menu_item_id`) REFERENCES `menu_items`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "menu_modifier_groups_bounds_check" CHECK("menu_modifier_groups"."min_selections" >= 0 AND ("menu_modifier_groups"."max_selections" IS NULL OR "menu_modifier_groups"."max_selections" >= "menu_modifier_groups"."min_selections"))
);
--> statement-breakpoint
CREATE INDEX `menu_modifier_groups_item_idx` ON `menu_modifier_groups` (`menu_item_id`,`position`);--> statement-breakpoint
CREATE TABLE `menu_syncs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`provider` text NOT NULL,
	`trigger` text NOT NULL,
	`dry_run` integer NOT NULL,
	`status` text NOT NULL,
	`items_read` integer DEFAULT 0 NOT NULL,
	`added` integer DEFAULT 0 NOT NULL,
	`changed` integer DEFAULT 0 NOT NULL,
	`removed` integer DEFAULT 0 NOT NULL,
	`changes` text,
	`error` text,
	`started_at` text NOT NULL,
	`finished_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `menu_syncs_tenant_idx` ON `menu_syncs` (`tenant_id`,`started_at`);--> statement-breakpoint
ALTER TABLE `menu_items` ADD `category_id` text;--> statement-breakpoint
ALTER TABLE `menu_items` ADD `photo_url` text;--> statement-breakpoint
ALTER TABLE `menu_items` ADD `sort_order` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `menu_items` ADD `available_again_at` text;--> statement-breakpoint
ALTER TABLE `menu_items` ADD `pos_available` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `menu_items` ADD `pos_stock_id` text;--> statement-breakpoint
ALTER TABLE `menu_items` ADD `synced_at` text;--> statement-breakpoint
CREATE INDEX `menu_items_pos_stock_idx` ON `menu_items` (`tenant_id`,`pos_stock_id`);--> statement-breakpoint
ALTER TABLE `menu_modifiers` ADD `group_id` text REFERENCES menu_modifier_groups(id) ON DELETE cascade;--> statement-breakpoint
ALTER TABLE `menu_modifiers` ADD `max_quantity` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `menu_modifiers` ADD `available` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `menu_modifiers` ADD `available_again_at` text;--> statement-breakpoint
ALTER TABLE `menu_modifiers` ADD `pos_available` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `menu_modifiers` ADD `pos_stock_id` text;--> statement-breakpoint
CREATE INDEX `menu_modifiers_pos_stock_idx` ON `menu_modifiers` (`tenant_id`,`pos_stock_id`);--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `menu_synced_at` text;--> statement-breakpoint
ALTER TABLE `pos_integrations` ADD `menu_sync_requested_at` text;