DROP INDEX `recovery_points_vault_idx`;--> statement-breakpoint
CREATE INDEX `recovery_points_vault_seen_idx` ON `recovery_points` (`vault_name`,`last_seen_at`);