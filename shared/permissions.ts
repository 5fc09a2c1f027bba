// Every IAM action each side's identity needs (aws-backup.md §6.1, §6.2), in
// one place: the daemon's preflight simulates these for the identity in use,
// and rpctl's test-environment template grants exactly these, so the list
// lives in shared/. Add an action here when code starts calling a new operation.

type Account = 'source' | 'destination';

export interface RequiredAction {
  action: string;
  /** Why rpcopy needs it, shown when it is missing. */
  why: string;
  /** Simulated on this resource instead of "*": the copy role (iam:PassRole). */
  resource?: 'copyRole';
  /** Needed only for a check that is skipped ("unknown") without it. */
  optional?: boolean;
}

export const REQUIRED_ACTIONS: Readonly<Record<Account, readonly RequiredAction[]>> = {
  source: [
    { action: 'backup:ListBackupVaults', why: 'inventory: list the source vaults' },
    { action: 'backup:DescribeBackupVault', why: 'inventory and vaults: read each vault and its lock' },
    { action: 'backup:ListRecoveryPointsByBackupVault', why: 'inventory: list the recovery points' },
    { action: 'backup:DescribeRecoveryPoint', why: 'copy: check a point before copying it' },
    { action: 'backup:ListTags', why: 'vaults: read the source vault tags' },
    { action: 'backup:GetBackupVaultAccessPolicy', why: 'vaults: read the source vault access policy' },
    { action: 'backup:GetBackupVaultNotifications', why: 'vaults: read the source vault notifications' },
    { action: 'backup:StartCopyJob', why: 'copy: start the copy jobs' },
    { action: 'backup:CopyFromBackupVault', why: 'copy: evaluated for every cross-account copy' },
    { action: 'backup:DescribeCopyJob', why: 'copy: track the copy jobs' },
    { action: 'backup:ListCopyJobs', why: 'copy: reconcile copy jobs after a restart' },
    { action: 'kms:DescribeKey', why: 'inventory: tell AWS-managed keys from customer-managed ones' },
    { action: 'kms:ListAliases', why: 'inventory: name AWS-managed keys in reports', optional: true },
    { action: 'iam:PassRole', why: 'copy: pass the copy role to AWS Backup', resource: 'copyRole' },
    { action: 'iam:GetRole', why: 'preflight: find the role behind the session and check the copy role' },
    { action: 'iam:SimulatePrincipalPolicy', why: 'preflight: check these permissions' },
    { action: 'backup:DescribeGlobalSettings', why: 'preflight: read the cross-account setting', optional: true },
    { action: 'organizations:DescribeOrganization', why: 'preflight: check the organization', optional: true },
  ],
  destination: [
    { action: 'backup:DescribeBackupVault', why: 'vaults: read each destination vault and its lock' },
    { action: 'backup:CreateBackupVault', why: 'vaults: create the destination vaults' },
    {
      action: 'backup:CreateLogicallyAirGappedBackupVault',
      why: 'vaults: create logically air-gapped destination vaults',
    },
    { action: 'backup:PutBackupVaultLockConfiguration', why: 'vaults: apply the vault locks' },
    { action: 'backup:GetBackupVaultAccessPolicy', why: 'vaults: read the access policies' },
    { action: 'backup:PutBackupVaultAccessPolicy', why: 'vaults: admit the source account to copy in' },
    { action: 'backup:GetBackupVaultNotifications', why: 'vaults: read the notifications' },
    { action: 'backup:PutBackupVaultNotifications', why: 'vaults: replicate the notifications' },
    { action: 'backup:ListTags', why: 'vaults: read the destination vault tags' },
    { action: 'backup:TagResource', why: 'vaults: replicate the tags' },
    { action: 'backup:ListRecoveryPointsByBackupVault', why: 'copy: verify the copies' },
    { action: 'backup:DescribeRecoveryPoint', why: 'copy: verify a copy' },
    { action: 'kms:DescribeKey', why: 'preflight: check the destination key' },
    { action: 'kms:CreateGrant', why: 'vaults: AWS Backup uses the destination key for new vaults' },
    { action: 'kms:GenerateDataKey', why: 'vaults: AWS Backup uses the destination key for new vaults' },
    { action: 'kms:Decrypt', why: 'vaults: AWS Backup uses the destination key for new vaults' },
    { action: 'iam:GetRole', why: 'preflight: find the role behind the session' },
    { action: 'iam:SimulatePrincipalPolicy', why: 'preflight: check these permissions' },
    { action: 'backup:DescribeGlobalSettings', why: 'preflight: read the cross-account setting', optional: true },
    { action: 'organizations:DescribeOrganization', why: 'preflight: check the organization', optional: true },
  ],
};

/** The action names of one side, for templates and policies. */
export function requiredActionNames(account: Account, options: { includeOptional?: boolean } = {}): string[] {
  return REQUIRED_ACTIONS[account].filter((a) => options.includeOptional !== false || !a.optional).map((a) => a.action);
}
