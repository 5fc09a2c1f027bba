CREATE TABLE `event_rollups` (
	`day` text NOT NULL,
	`kind` text NOT NULL,
	`level` text NOT NULL,
	`count` integer NOT NULL,
	`first_at` integer NOT NULL,
	`last_at` integer NOT NULL,
	PRIMARY KEY(`day`, `kind`, `level`)
);
