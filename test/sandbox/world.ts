/**
 * The two emulated accounts and everything static about them: vaults, KMS
 * keys, IAM roles, the organization. Source vault metadata is built from the
 * generator's specs; the points inside generated vaults are derived on demand
 * by the Dataset (see store.ts), never stored here.
 */
import { Dataset, type KeyRef, spec, VAULT_SPECS } from './generator.js';
import type { IamRole, KmsKey, Vault } from './model.js';
import { hash32, hashString, hexChars, uuidWithHead } from './rng.js';

export interface WorldOptions {
  seed: number;
  points: number;
  region: string;
  sourceAccount: string;
  destAccount: string;
  /** Reference "now" for generated dates (epoch ms). */
  anchor: number;
}

export interface Account {
  id: string;
  role: 'source' | 'destination';
  vaults: Map<string, Vault>;
  keys: KmsKey[];
  roles: IamRole[];
  /** The role the operator's credentials are a session of (GetCallerIdentity reports it without its path). */
  operatorRole: IamRole;
  sessionName: string;
}

const DAY = 86_400_000;

export class World {
  readonly region: string;
  readonly seed: number;
  readonly dataset: Dataset;
  readonly accounts: Map<string, Account> = new Map();
  readonly source: Account;
  readonly dest: Account;
  readonly organization: { id: string; arn: string; managementAccount: string };
  /** The destination CMK that the written rpcopy config uses for new vaults. */
  readonly destVaultKeyArn: string;

  constructor(readonly opts: WorldOptions) {
    this.region = opts.region;
    this.seed = opts.seed >>> 0;
    const orgId = `o-${hexChars(10, this.seed, 0x0a9)}`;
    const management = '999999999999';
    this.organization = {
      id: orgId,
      arn: `arn:aws:organizations::${management}:organization/${orgId}`,
      managementAccount: management,
    };
    this.source = this.makeAccount(opts.sourceAccount, 'source');
    this.dest = this.makeAccount(opts.destAccount, 'destination');
    this.accounts.set(this.source.id, this.source);
    this.accounts.set(this.dest.id, this.dest);
    this.addKeys(this.source, [
      ['aws/backup', 'AWS'],
      ['aws/ebs', 'AWS'],
      ['aws/rds', 'AWS'],
      ['aws/fsx', 'AWS'],
      ['backup-vault-cmk', 'CUSTOMER', [this.dest.id]],
      ['ebs-cmk', 'CUSTOMER', [this.dest.id]],
      ['rds-cmk', 'CUSTOMER', [this.dest.id]],
      ['fsx-cmk', 'CUSTOMER', [this.dest.id]],
      ['finance-cmk', 'CUSTOMER', [this.dest.id]],
      // Its key policy never granted the destination: copies of EBS/EC2 points under it fail.
      ['legacy-unshared-cmk', 'CUSTOMER', []],
    ]);
    this.addKeys(this.dest, [
      ['aws/backup', 'AWS'],
      ['aws/ebs', 'AWS'],
      ['aws/rds', 'AWS'],
      ['rpcopy-dest-cmk', 'CUSTOMER', [this.source.id]],
      ['dest-secondary-cmk', 'CUSTOMER', []],
    ]);
    this.destVaultKeyArn = this.keyByAlias(this.dest, 'rpcopy-dest-cmk')?.arn ?? '';

    this.dataset = new Dataset(
      {
        seed: this.seed,
        points: opts.points,
        region: this.region,
        accountId: this.source.id,
        anchor: opts.anchor,
      },
      (ref) => this.sourceKeyArn(ref),
    );
    VAULT_SPECS.forEach((_, v) => {
      const vault = this.sourceVault(v);
      this.source.vaults.set(vault.name, vault);
    });
    // A destination account that used AWS Backup before has its Default vault (aws/backup key).
    const destDefault = this.newVault(
      this.dest,
      'Default',
      'BACKUP_VAULT',
      this.keyByAlias(this.dest, 'aws/backup')?.arn ?? '',
      opts.anchor - 400 * DAY,
    );
    this.dest.vaults.set('Default', destDefault);
  }

  account(id: string): Account | undefined {
    return this.accounts.get(id);
  }

  other(account: Account): Account {
    return account === this.source ? this.dest : this.source;
  }

  vaultArn(account: string, name: string): string {
    return `arn:aws:backup:${this.region}:${account}:backup-vault:${name}`;
  }

  newVault(account: Account, name: string, type: Vault['type'], keyArn: string, creationDate: number): Vault {
    return {
      account: account.id,
      name,
      arn: this.vaultArn(account.id, name),
      type,
      creationDate,
      availableAt: creationDate,
      encryptionKeyArn: keyArn,
      tags: {},
      points: [],
    };
  }

  keyByAlias(account: Account, alias: string): KmsKey | undefined {
    const full = alias.startsWith('alias/') ? alias : `alias/${alias}`;
    return account.keys.find((k) => k.aliases.includes(full));
  }

  /** Resolve a key id, key ARN, alias name or alias ARN as KMS does, across both accounts for ARNs. */
  findKey(caller: Account, keyId: string): KmsKey | undefined {
    if (keyId.startsWith('arn:aws:kms:')) {
      const m = /^arn:aws:kms:[^:]+:(\d{12}):(key|alias)\/(.+)$/.exec(keyId);
      if (!m) return undefined;
      const owner = this.accounts.get(m[1] as string);
      if (!owner) return undefined;
      return m[2] === 'key' ? owner.keys.find((k) => k.keyId === m[3]) : this.keyByAlias(owner, m[3] as string);
    }
    if (keyId.startsWith('alias/')) return this.keyByAlias(caller, keyId);
    return caller.keys.find((k) => k.keyId === keyId);
  }

  private sourceKeyArn(ref: KeyRef): string | undefined {
    if (ref === 'aws-owned') return undefined;
    return this.keyByAlias(this.source, ref)?.arn;
  }

  private makeAccount(id: string, role: Account['role']): Account {
    const created = this.opts.anchor - 1000 * DAY;
    const salt = hashString(id);
    const roleId = (n: number) => `AROA${hexChars(17, this.seed, salt, n).toUpperCase()}`;
    const trustBackup = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'backup.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    const trustSso = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: {
            Federated: `arn:aws:iam::${id}:saml-provider/AWSSSO_${hexChars(16, this.seed, salt, 9)}_DO_NOT_DELETE`,
          },
          Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'],
          Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } },
        },
      ],
    });
    const ssoPath = `/aws-reserved/sso.amazonaws.com/${this.opts.region}/`;
    const ssoName = `AWSReservedSSO_BackupAdmin_${hexChars(16, this.seed, salt, 3)}`;
    const operatorRole: IamRole = {
      account: id,
      name: ssoName,
      path: ssoPath,
      arn: `arn:aws:iam::${id}:role${ssoPath}${ssoName}`,
      roleId: roleId(1),
      createDate: created,
      assumeRolePolicy: trustSso,
    };
    const roles: IamRole[] = [
      operatorRole,
      {
        account: id,
        name: 'AWSBackupDefaultServiceRole',
        path: '/service-role/',
        arn: `arn:aws:iam::${id}:role/service-role/AWSBackupDefaultServiceRole`,
        roleId: roleId(2),
        createDate: created,
        assumeRolePolicy: trustBackup,
      },
    ];
    return { id, role, vaults: new Map(), keys: [], roles, operatorRole, sessionName: 'rpcopy-operator' };
  }

  private addKeys(account: Account, keys: [string, 'AWS' | 'CUSTOMER', string[]?][]): void {
    const salt = hashString(account.id);
    keys.forEach(([alias, manager, shared], n) => {
      const keyId = uuidWithHead(hexChars(8, this.seed, salt, n, 0x4b), this.seed, salt, n);
      account.keys.push({
        account: account.id,
        keyId,
        arn: `arn:aws:kms:${this.region}:${account.id}:key/${keyId}`,
        aliases: [`alias/${alias}`],
        manager,
        description:
          manager === 'AWS'
            ? `Default key that protects my ${alias.slice(4).toUpperCase()} data when no other key is defined`
            : `rpcopy sandbox customer managed key ${alias}`,
        creationDate: this.opts.anchor - (900 - n) * DAY,
        sharedWith: shared ?? [],
      });
    });
  }

  private sourceVault(v: number): Vault {
    const s = spec(v);
    const acct = this.source.id;
    const created = this.opts.anchor - (800 - v * 37) * DAY;
    const keyArn = s.key === 'aws-owned' ? '' : (this.keyByAlias(this.source, s.key)?.arn ?? '');
    const vault = this.newVault(this.source, s.name, s.type, keyArn, created);
    vault.generatedIndex = v;
    vault.tags = { ...s.tags };
    vault.creatorRequestId =
      s.name === 'Default' ? undefined : uuidWithHead(hexChars(8, this.seed, v, 0xc1), this.seed, v, 0xc1);
    if (s.type === 'LOGICALLY_AIR_GAPPED_BACKUP_VAULT') vault.encryptionKeyType = 'AWS_OWNED_KMS_KEY';
    else if (!s.key.startsWith('aws/')) vault.encryptionKeyType = 'CUSTOMER_MANAGED_KMS_KEY';
    if (s.lock) {
      vault.lock = {
        minRetentionDays: s.lock.min,
        maxRetentionDays: s.lock.max,
        lockDate: s.lock.lockDays === undefined ? undefined : this.opts.anchor + s.lock.lockDays * DAY,
      };
    }
    if (s.notifications) {
      vault.notifications = {
        topicArn: `arn:aws:sns:${this.region}:${acct}:backup-notifications-${s.name.replace(/[^a-zA-Z0-9-]/g, '-')}`,
        events: [...s.notifications],
      };
    }
    if (s.policy) vault.policy = JSON.stringify(this.policyFor(s.policy, vault));
    return vault;
  }

  private policyFor(kind: NonNullable<(typeof VAULT_SPECS)[number]['policy']>, vault: Vault): unknown {
    const denyDelete = {
      Sid: 'DenyRecoveryPointDeletion',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: [
        'backup:DeleteRecoveryPoint',
        'backup:UpdateRecoveryPointLifecycle',
        'backup:PutBackupVaultAccessPolicy',
      ],
      Resource: '*',
      Condition: { StringNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${vault.account}:role/BackupBreakGlass` } },
    };
    const allowOrgCopy = {
      Sid: 'AllowOrganizationCopyIn',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: 'backup:CopyIntoBackupVault',
      Resource: '*',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': this.organization.id } },
    };
    const statements =
      kind === 'deny-delete' ? [denyDelete] : kind === 'allow-org-copy' ? [allowOrgCopy] : [denyDelete, allowOrgCopy];
    return { Version: '2012-10-17', Statement: statements };
  }

  /** Stable, seed-derived hex for ids that need to look random (not secrets). */
  hex(n: number, ...salt: number[]): string {
    return hexChars(n, this.seed, hash32(salt[0] ?? 0, salt[1] ?? 0, salt[2] ?? 0));
  }
}
