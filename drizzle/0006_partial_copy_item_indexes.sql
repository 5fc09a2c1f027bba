DROP INDEX `copy_items_claim_idx`;--> statement-breakpoint
DROP INDEX `copy_items_failure_idx`;--> statement-breakpoint
DROP INDEX `copy_items_job_idx`;--> statement-breakpoint
DROP INDEX `copy_items_skip_idx`;--> statement-breakpoint
CREATE INDEX `copy_items_claim_idx` ON `copy_items` (`state`,`chain_weight`) WHERE "copy_items"."state" = 'queued';--> statement-breakpoint
CREATE INDEX `copy_items_failure_idx` ON `copy_items` (`failure_reason`,`state`) WHERE "copy_items"."failure_reason" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `copy_items_job_idx` ON `copy_items` (`copy_job_id`) WHERE "copy_items"."copy_job_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `copy_items_skip_idx` ON `copy_items` (`skip_reason`) WHERE "copy_items"."skip_reason" IS NOT NULL;