DROP INDEX `copy_items_claim_idx`;--> statement-breakpoint
CREATE INDEX `copy_items_claim_idx` ON `copy_items` (`state`,"chain_weight" DESC) WHERE "copy_items"."state" = 'queued';