/**
 * KMS DescribeKey / ListAliases and Organizations DescribeOrganization (JSON
 * 1.1). rpcopy uses them to tell AWS-managed keys (KeyManager "AWS", aliases
 * aws/ebs, aws/rds, …) from customer-managed ones, and to confirm both accounts
 * are in one organization.
 */
import { AwsError } from './errors.js';
import type { Knobs } from './knobs.js';
import type { KmsKey } from './model.js';
import type { Account, World } from './world.js';

function keyMetadata(k: KmsKey): Record<string, unknown> {
  return {
    AWSAccountId: k.account,
    KeyId: k.keyId,
    Arn: k.arn,
    CreationDate: k.creationDate / 1000,
    Enabled: true,
    Description: k.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: k.manager,
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  };
}

export function kmsOperation(world: World, caller: Account, operation: string, body: Record<string, unknown>): unknown {
  switch (operation) {
    case 'DescribeKey': {
      const keyId = body.KeyId;
      if (typeof keyId !== 'string' || keyId === '') {
        throw new AwsError(
          'ValidationException',
          "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
          400,
        );
      }
      const key = world.findKey(caller, keyId);
      if (!key) throw new AwsError('NotFoundException', `Key '${keyId}' does not exist`, 400);
      if (key.account !== caller.id && !key.sharedWith.includes(caller.id)) {
        throw new AwsError(
          'AccessDeniedException',
          `User: arn:aws:sts::${caller.id}:assumed-role/${caller.operatorRole.name}/${caller.sessionName} is not authorized to perform: kms:DescribeKey on resource: ${key.arn} because no resource-based policy allows the kms:DescribeKey action`,
          400,
        );
      }
      return { KeyMetadata: keyMetadata(key) };
    }
    case 'ListAliases': {
      const limit = body.Limit === undefined ? 50 : body.Limit;
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw new AwsError('ValidationException', 'Limit must be between 1 and 100', 400);
      }
      const filterKey = typeof body.KeyId === 'string' ? world.findKey(caller, body.KeyId) : undefined;
      if (typeof body.KeyId === 'string' && !filterKey)
        throw new AwsError('NotFoundException', `Key '${body.KeyId}' does not exist`, 400);
      const all = caller.keys
        .filter((k) => !filterKey || k === filterKey)
        .flatMap((k) =>
          k.aliases.map((a) => ({
            AliasName: a,
            AliasArn: `arn:aws:kms:${world.region}:${caller.id}:${a}`,
            TargetKeyId: k.keyId,
            CreationDate: k.creationDate / 1000,
            LastUpdatedDate: k.creationDate / 1000,
          })),
        );
      const start = typeof body.Marker === 'string' ? Number(body.Marker) : 0;
      if (!Number.isInteger(start) || start < 0 || start > all.length)
        throw new AwsError('InvalidMarkerException', 'Invalid marker', 400);
      const page = all.slice(start, start + limit);
      const truncated = start + limit < all.length;
      return { Aliases: page, Truncated: truncated, NextMarker: truncated ? String(start + limit) : undefined };
    }
    default:
      throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`, 400);
  }
}

export function organizationsOperation(world: World, knobs: Knobs, caller: Account, operation: string): unknown {
  if (operation !== 'DescribeOrganization')
    throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`, 400);
  if (!knobs.sameOrganization && caller.role === 'destination') {
    throw new AwsError('AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.', 400);
  }
  const org = world.organization;
  return {
    Organization: {
      Id: org.id,
      Arn: org.arn,
      FeatureSet: 'ALL',
      MasterAccountArn: `arn:aws:organizations::${org.managementAccount}:account/${org.id}/${org.managementAccount}`,
      MasterAccountId: org.managementAccount,
      MasterAccountEmail: 'aws-management@example.com',
      AvailablePolicyTypes: [{ Type: 'SERVICE_CONTROL_POLICY', Status: 'ENABLED' }],
    },
  };
}
