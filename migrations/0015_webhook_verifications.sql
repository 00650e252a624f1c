CREATE TABLE `webhook_verifications` (
	`provider` text NOT NULL,
	`tenant_id` text NOT NULL,
	`code` text NOT NULL,
	`received_at` text NOT NULL,
	PRIMARY KEY(`provider`, `tenant_id`)
);
