// The plan's skip reasons, in the order they are tested: a point gets the
// first that applies. Scope comes first (is the point wanted at all?), then
// what AWS would refuse, so that "to copy" plus the technical reasons describe
// exactly the allowed applications' points.

export const SKIP_REASONS = {
  point_gone: 'it no longer exists in the source vault',
  vault_not_selected: 'its vault is not selected by source.vaults',
  vault_needs_mapping: 'its vault name cannot be recreated in the destination; map it in destination.vault_names',
  apmid_missing: 'its resource has no row in the metadata CSV',
  apmid_empty: 'its resource’s CSV row has an empty APMID',
  apmid_conflict: 'its resource has CSV rows with conflicting APMIDs',
  apmid_not_allowed: 'its APMID is not in the allowed set',
  status_not_completed: 'its status is neither COMPLETED nor AVAILABLE (e.g. CREATING, PARTIAL, DELETING, EXPIRED)',
  continuous_backup: 'continuous (point-in-time) backups cannot be copied with StartCopyJob',
  resource_type_not_supported: 'its resource type cannot be copied to another account',
  composite_member: 'it is a member of a composite point that is copied as a whole',
  cold_storage: 'it is in cold or archive storage, which cannot be copied across accounts',
  aws_managed_key: 'it is encrypted with an AWS-managed KMS key, which cannot be shared with another account',
  lifecycle_outside_lock: 'its retention falls outside the destination vault lock’s minimum/maximum',
  expiring_before_copy: 'it expires before its copy could complete (a copy keeps the source’s retention)',
  vault_needs_consent:
    'its destination vault needs the operator’s consent: an air-gapped vault is compliance-locked from its ' +
    'creation; set vaults.confirm_compliance_lock = true and restart to copy it',
  already_copied: 'a copy already exists in the destination vault',
} as const;

export type SkipReason = keyof typeof SKIP_REASONS;

/**
 * Resource types AWS Backup can copy to another account (aws-backup.md §3.4).
 * DynamoDB only with advanced backup features: its points then have
 * arn:aws:backup ARNs; plain DynamoDB backups (arn:aws:dynamodb) cannot be copied.
 */
export const CROSS_ACCOUNT_TYPES = [
  'EBS',
  'EC2',
  'RDS',
  'Aurora',
  'S3',
  'EFS',
  'DynamoDB',
  'FSx',
  'DocumentDB',
  'Neptune',
  'Storage Gateway',
  'Timestream',
  'CloudFormation',
  'VirtualMachine',
  'SAP HANA on Amazon EC2',
] as const;

/** Types whose backups keep the source resource's key: an AWS-managed key there blocks a cross-account copy. */
export const SOURCE_KEY_TYPES = [
  'EBS',
  'EC2',
  'RDS',
  'Aurora',
  'FSx',
  'DocumentDB',
  'Neptune',
  'Storage Gateway',
  'Redshift',
] as const;
