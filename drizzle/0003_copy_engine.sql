CREATE TABLE `copy_checkpoints` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `copy_combos` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`source_vault_name` text NOT NULL,
	`resource_type` text NOT NULL,
	`encryption_key_arn` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`canary_point_id` integer,
	`detail` text,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `copy_combos_key_idx` ON `copy_combos` (`source_vault_name`,`resource_type`,`encryption_key_arn`);--> statement-breakpoint
ALTER TABLE `copy_items` ADD `attempt_base` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `copy_items` ADD `failure_reason` text;--> statement-breakpoint
ALTER TABLE `copy_items` ADD `combo_id` integer;--> statement-breakpoint
ALTER TABLE `copy_items` ADD `chain_weight` integer;--> statement-breakpoint
CREATE INDEX `copy_items_claim_idx` ON `copy_items` (`state`,`chain_weight`);--> statement-breakpoint
CREATE INDEX `copy_items_combo_idx` ON `copy_items` (`combo_id`,`state`);--> statement-breakpoint
CREATE INDEX `copy_items_failure_idx` ON `copy_items` (`failure_reason`,`state`);