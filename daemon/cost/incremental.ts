// Which resource types' copies after the first are incremental. AWS Backup: "The first backup of an AWS resource
// backs up a full copy of your data. For each successive incremental backup, only the changes ... Not all resource
// types support incremental backups ... each backup is a full copy" (about-backup-plans.html, pointing at the
// "Incremental backup" row of backup-feature-availability.html#features-by-resource); cross-account copies follow
// the same rule: the first copy of a resource into a vault is full, later ones incremental where the type
// supports it (recov-point-create-a-copy.html). docs/cost.md gives the sources type by type.

export const COST_SOURCES = {
  incremental:
    'https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html#features-by-resource',
  lifecycle: 'https://docs.aws.amazon.com/aws-backup/latest/devguide/recov-point-create-a-copy.html',
} as const;

/** Types whose later copies store only the change (the low estimate counts the first copy of each resource). */
export const INCREMENTAL_TYPES: readonly string[] = ['EBS', 'EC2', 'RDS', 'EFS', 'S3', 'FSx'];

/** Types whose every copy is full: Aurora cluster snapshots; DynamoDB backups (UNCONFIRMED with advanced features). */
export const FULL_TYPES: readonly string[] = ['Aurora', 'DynamoDB'];
