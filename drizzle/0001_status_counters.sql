-- Counters for `rpctl status`, kept by triggers in the same transactions that change the rows, so that status
-- answers in constant time at any scale (an aggregate over a million rows would stall the control API).
-- Not declared in daemon/store/schema.ts: drizzle-kit has no notion of triggers; daemon/status.ts reads it.
CREATE TABLE `status_counters` (
	`name` text PRIMARY KEY NOT NULL,
	`n` integer NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `status_counters` (`name`, `n`) SELECT 'points', count(*) FROM `recovery_points` WHERE `gone_at` IS NULL;
--> statement-breakpoint
INSERT INTO `status_counters` (`name`, `n`) SELECT 'item:' || `state`, count(*) FROM `copy_items` GROUP BY `state`;
--> statement-breakpoint
CREATE TRIGGER `recovery_points_count_insert` AFTER INSERT ON `recovery_points` WHEN NEW.`gone_at` IS NULL BEGIN
	INSERT INTO `status_counters` (`name`, `n`) VALUES ('points', 1) ON CONFLICT (`name`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `recovery_points_count_gone` AFTER UPDATE OF `gone_at` ON `recovery_points`
	WHEN (OLD.`gone_at` IS NULL) <> (NEW.`gone_at` IS NULL) BEGIN
	INSERT INTO `status_counters` (`name`, `n`) VALUES ('points', CASE WHEN NEW.`gone_at` IS NULL THEN 1 ELSE -1 END)
		ON CONFLICT (`name`) DO UPDATE SET `n` = `n` + excluded.`n`;
END;
--> statement-breakpoint
CREATE TRIGGER `recovery_points_count_delete` AFTER DELETE ON `recovery_points` WHEN OLD.`gone_at` IS NULL BEGIN
	UPDATE `status_counters` SET `n` = `n` - 1 WHERE `name` = 'points';
END;
--> statement-breakpoint
CREATE TRIGGER `copy_items_count_insert` AFTER INSERT ON `copy_items` BEGIN
	INSERT INTO `status_counters` (`name`, `n`) VALUES ('item:' || NEW.`state`, 1)
		ON CONFLICT (`name`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `copy_items_count_update` AFTER UPDATE OF `state` ON `copy_items` WHEN OLD.`state` <> NEW.`state` BEGIN
	UPDATE `status_counters` SET `n` = `n` - 1 WHERE `name` = 'item:' || OLD.`state`;
	INSERT INTO `status_counters` (`name`, `n`) VALUES ('item:' || NEW.`state`, 1)
		ON CONFLICT (`name`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `copy_items_count_delete` AFTER DELETE ON `copy_items` BEGIN
	UPDATE `status_counters` SET `n` = `n` - 1 WHERE `name` = 'item:' || OLD.`state`;
END;
