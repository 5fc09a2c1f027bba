CREATE TABLE `copy_attempts` (
	`point_id` integer NOT NULL,
	`attempt` integer NOT NULL,
	`run_id` integer,
	`idempotency_token` text NOT NULL,
	`destination_vault_arn` text NOT NULL,
	`intent_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`copy_job_id` text,
	`outcome` text DEFAULT 'pending' NOT NULL,
	`error_code` text,
	`error_message` text,
	PRIMARY KEY(`point_id`, `attempt`),
	FOREIGN KEY (`point_id`) REFERENCES `recovery_points`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `copy_items` (
	`point_id` integer PRIMARY KEY NOT NULL,
	`state` text DEFAULT 'discovered' NOT NULL,
	`skip_reason` text,
	`apmid` text,
	`destination_vault_name` text,
	`lifecycle_delete_after_days` integer,
	`lifecycle_cold_after_days` integer,
	`resource_arn` text NOT NULL,
	`creation_date` integer NOT NULL,
	`attempt` integer DEFAULT 0 NOT NULL,
	`idempotency_token` text,
	`copy_job_id` text,
	`job_state` text,
	`destination_point_arn` text,
	`lease_owner` text,
	`lease_expires_at` integer,
	`next_attempt_at` integer,
	`failure_kind` text,
	`error_code` text,
	`error_message` text,
	`planned_at` integer,
	`submitted_at` integer,
	`completed_at` integer,
	`verified_at` integer,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`point_id`) REFERENCES `recovery_points`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `copy_items_state_idx` ON `copy_items` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `copy_items_chain_idx` ON `copy_items` (`resource_arn`,`creation_date`);--> statement-breakpoint
CREATE INDEX `copy_items_job_idx` ON `copy_items` (`copy_job_id`);--> statement-breakpoint
CREATE INDEX `copy_items_skip_idx` ON `copy_items` (`skip_reason`);--> statement-breakpoint
CREATE TABLE `destination_vaults` (
	`source_vault_name` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`arn` text,
	`vault_type` text DEFAULT 'BACKUP_VAULT' NOT NULL,
	`state` text NOT NULL,
	`created_by_rpcopy` integer DEFAULT false NOT NULL,
	`min_retention_days` integer,
	`max_retention_days` integer,
	`lock_date` integer,
	`last_checked_at` integer,
	`detail` text
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`run_id` integer,
	`level` text NOT NULL,
	`kind` text NOT NULL,
	`message` text NOT NULL,
	`data` text,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `events_kind_at_idx` ON `events` (`kind`,`at`);--> statement-breakpoint
CREATE TABLE `kms_keys` (
	`arn` text PRIMARY KEY NOT NULL,
	`manager` text NOT NULL,
	`alias` text,
	`checked_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `metadata_problems` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`source_id` integer NOT NULL,
	`kind` text NOT NULL,
	`line` integer,
	`resource_arn` text,
	`detail` text NOT NULL,
	FOREIGN KEY (`source_id`) REFERENCES `metadata_sources`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `metadata_problems_source_kind_idx` ON `metadata_problems` (`source_id`,`kind`);--> statement-breakpoint
CREATE TABLE `metadata_rows` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`source_id` integer NOT NULL,
	`line` integer NOT NULL,
	`resource_arn` text NOT NULL,
	`apmid` text NOT NULL,
	`extra` text,
	FOREIGN KEY (`source_id`) REFERENCES `metadata_sources`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `metadata_rows_source_resource_idx` ON `metadata_rows` (`source_id`,`resource_arn`);--> statement-breakpoint
CREATE TABLE `metadata_sources` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`path` text NOT NULL,
	`state` text NOT NULL,
	`sha256` text,
	`size` integer,
	`mtime_ms` integer,
	`key_column` text NOT NULL,
	`apmid_column` text NOT NULL,
	`rows` integer DEFAULT 0 NOT NULL,
	`loaded_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	CONSTRAINT "metadata_sources_state_check" CHECK("metadata_sources"."state" = 'loading' OR ("metadata_sources"."state" = 'complete' AND "metadata_sources"."sha256" IS NOT NULL AND "metadata_sources"."size" IS NOT NULL AND "metadata_sources"."mtime_ms" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE `recovery_points` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`arn` text NOT NULL,
	`vault_name` text NOT NULL,
	`resource_arn` text NOT NULL,
	`resource_type` text NOT NULL,
	`resource_name` text,
	`status` text NOT NULL,
	`status_message` text,
	`creation_date` integer NOT NULL,
	`completion_date` integer,
	`size_bytes` integer,
	`encryption_key_arn` text,
	`encryption_key_type` text,
	`is_encrypted` integer,
	`parent_arn` text,
	`is_parent` integer DEFAULT false NOT NULL,
	`composite_member_identifier` text,
	`lifecycle_cold_after_days` integer,
	`lifecycle_delete_after_days` integer,
	`move_to_cold_at` integer,
	`delete_at` integer,
	`vault_type` text,
	`storage_class` text,
	`is_continuous` integer DEFAULT false NOT NULL,
	`first_seen_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`last_seen_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`gone_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `recovery_points_arn_idx` ON `recovery_points` (`arn`);--> statement-breakpoint
CREATE INDEX `recovery_points_vault_idx` ON `recovery_points` (`vault_name`);--> statement-breakpoint
CREATE INDEX `recovery_points_resource_idx` ON `recovery_points` (`resource_arn`,`creation_date`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`started_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`ended_at` integer,
	`pid` integer NOT NULL,
	`version` text NOT NULL,
	`mode` text NOT NULL,
	`end_reason` text
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `source_vaults` (
	`name` text PRIMARY KEY NOT NULL,
	`arn` text NOT NULL,
	`vault_type` text DEFAULT 'BACKUP_VAULT' NOT NULL,
	`selected` integer NOT NULL,
	`encryption_key_arn` text,
	`locked` integer DEFAULT false NOT NULL,
	`min_retention_days` integer,
	`max_retention_days` integer,
	`lock_date` integer,
	`tags` text,
	`access_policy` text,
	`notifications` text,
	`point_count_reported` integer,
	`described_at` integer,
	`inventory_state` text DEFAULT 'pending' NOT NULL,
	`inventory_next_token` text,
	`inventory_pages` integer DEFAULT 0 NOT NULL,
	`inventory_count` integer DEFAULT 0 NOT NULL,
	`inventory_started_at` integer,
	`inventory_completed_at` integer,
	`inventory_created_after` integer,
	`inventory_horizon` integer
);
--> statement-breakpoint
CREATE TABLE `store_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
