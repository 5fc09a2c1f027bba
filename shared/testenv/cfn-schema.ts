// The CloudFormation resource types the rehearsal templates use, with the
// properties each accepts (names as in the CloudFormation template reference),
// which of them are required, the shape of nested properties rpcopy's
// templates set, and the attributes Fn::GetAtt may read. The validator in
// cfn-validate.ts checks rendered templates against this list; a property
// not listed here is an error, so a typo fails a unit test instead of a
// deployment. Extend the list (from the template reference) before using a
// new type or property.

export type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  /** Any JSON (policy documents and the like); references inside are still checked. */
  | 'json'
  | { object: Record<string, Prop> }
  | { list: Shape }
  | { map: Shape };

export type Prop = Shape | { required: Shape };

export interface ResourceSchema {
  properties: Record<string, Prop>;
  /** Attributes Fn::GetAtt may read. */
  attributes: readonly string[];
  /** DeletionPolicy: Snapshot is only valid for some types. */
  snapshot?: boolean;
}

const req = (shape: Shape): Prop => ({ required: shape });
const list = (shape: Shape): Shape => ({ list: shape });
const object = (props: Record<string, Prop>): Shape => ({ object: props });

const TAGS = list(object({ Key: req('string'), Value: req('string') }));
const STRING_MAP: Shape = { map: 'string' };

const LIFECYCLE = object({
  DeleteAfterDays: 'number',
  MoveToColdStorageAfterDays: 'number',
  OptInToArchiveForSupportedResources: 'boolean',
});

const VAULT_NOTIFICATIONS = object({ BackupVaultEvents: req(list('string')), SNSTopicArn: req('string') });

export const CFN_RESOURCE_SCHEMAS: Readonly<Record<string, ResourceSchema>> = {
  'AWS::Backup::BackupVault': {
    properties: {
      BackupVaultName: req('string'),
      AccessPolicy: 'json',
      BackupVaultTags: STRING_MAP,
      EncryptionKeyArn: 'string',
      LockConfiguration: object({
        MinRetentionDays: req('number'),
        MaxRetentionDays: 'number',
        ChangeableForDays: 'number',
      }),
      Notifications: VAULT_NOTIFICATIONS,
    },
    attributes: ['BackupVaultArn', 'BackupVaultName'],
  },
  'AWS::Backup::LogicallyAirGappedBackupVault': {
    properties: {
      BackupVaultName: req('string'),
      MinRetentionDays: req('number'),
      MaxRetentionDays: req('number'),
      AccessPolicy: 'json',
      BackupVaultTags: STRING_MAP,
      Notifications: VAULT_NOTIFICATIONS,
    },
    attributes: ['BackupVaultArn', 'VaultState', 'VaultType'],
  },
  'AWS::Backup::BackupPlan': {
    properties: {
      BackupPlan: req(
        object({
          BackupPlanName: req('string'),
          BackupPlanRule: req(
            list(
              object({
                RuleName: req('string'),
                TargetBackupVault: req('string'),
                ScheduleExpression: 'string',
                ScheduleExpressionTimezone: 'string',
                StartWindowMinutes: 'number',
                CompletionWindowMinutes: 'number',
                Lifecycle: LIFECYCLE,
                EnableContinuousBackup: 'boolean',
                CopyActions: list(object({ DestinationBackupVaultArn: req('string'), Lifecycle: LIFECYCLE })),
                RecoveryPointTags: STRING_MAP,
              }),
            ),
          ),
          AdvancedBackupSettings: list('json'),
        }),
      ),
      BackupPlanTags: STRING_MAP,
    },
    attributes: ['BackupPlanArn', 'BackupPlanId', 'VersionId'],
  },
  'AWS::Backup::BackupSelection': {
    properties: {
      BackupPlanId: req('string'),
      BackupSelection: req(
        object({
          SelectionName: req('string'),
          IamRoleArn: req('string'),
          Resources: list('string'),
          NotResources: list('string'),
          ListOfTags: list('json'),
          Conditions: 'json',
        }),
      ),
    },
    attributes: ['BackupPlanId', 'Id', 'SelectionId'],
  },
  'AWS::KMS::Key': {
    properties: {
      Description: 'string',
      Enabled: 'boolean',
      EnableKeyRotation: 'boolean',
      KeyPolicy: 'json',
      KeySpec: 'string',
      KeyUsage: 'string',
      MultiRegion: 'boolean',
      Origin: 'string',
      PendingWindowInDays: 'number',
      RotationPeriodInDays: 'number',
      BypassPolicyLockoutSafetyCheck: 'boolean',
      Tags: TAGS,
    },
    attributes: ['Arn', 'KeyId'],
  },
  'AWS::KMS::Alias': {
    properties: { AliasName: req('string'), TargetKeyId: req('string') },
    attributes: [],
  },
  'AWS::IAM::Role': {
    properties: {
      AssumeRolePolicyDocument: req('json'),
      Description: 'string',
      ManagedPolicyArns: list('string'),
      MaxSessionDuration: 'number',
      Path: 'string',
      PermissionsBoundary: 'string',
      Policies: list(object({ PolicyName: req('string'), PolicyDocument: req('json') })),
      RoleName: 'string',
      Tags: TAGS,
    },
    attributes: ['Arn', 'RoleId'],
  },
  'AWS::SNS::Topic': {
    properties: {
      TopicName: 'string',
      DisplayName: 'string',
      KmsMasterKeyId: 'string',
      Subscription: list('json'),
      Tags: TAGS,
    },
    attributes: ['TopicArn', 'TopicName'],
  },
  'AWS::SNS::TopicPolicy': {
    properties: { PolicyDocument: req('json'), Topics: req(list('string')) },
    attributes: ['Id'],
  },
  'AWS::EC2::VPC': {
    properties: {
      CidrBlock: 'string',
      EnableDnsHostnames: 'boolean',
      EnableDnsSupport: 'boolean',
      InstanceTenancy: 'string',
      Tags: TAGS,
    },
    attributes: ['CidrBlock', 'DefaultSecurityGroup', 'VpcId'],
  },
  'AWS::EC2::Subnet': {
    properties: {
      VpcId: req('string'),
      CidrBlock: 'string',
      AvailabilityZone: 'string',
      MapPublicIpOnLaunch: 'boolean',
      Tags: TAGS,
    },
    attributes: ['AvailabilityZone', 'SubnetId', 'VpcId'],
  },
  'AWS::EC2::SecurityGroup': {
    properties: {
      GroupDescription: req('string'),
      GroupName: 'string',
      VpcId: 'string',
      SecurityGroupIngress: list('json'),
      SecurityGroupEgress: list('json'),
      Tags: TAGS,
    },
    attributes: ['GroupId', 'VpcId'],
  },
  'AWS::EC2::Volume': {
    properties: {
      AvailabilityZone: req('string'),
      Size: 'number',
      VolumeType: 'string',
      Encrypted: 'boolean',
      KmsKeyId: 'string',
      Iops: 'number',
      Throughput: 'number',
      SnapshotId: 'string',
      MultiAttachEnabled: 'boolean',
      AutoEnableIO: 'boolean',
      Tags: TAGS,
    },
    attributes: ['VolumeId'],
    snapshot: true,
  },
  'AWS::EC2::Instance': {
    properties: {
      ImageId: 'string',
      InstanceType: 'string',
      SubnetId: 'string',
      SecurityGroupIds: list('string'),
      BlockDeviceMappings: list(
        object({
          DeviceName: req('string'),
          Ebs: object({
            DeleteOnTermination: 'boolean',
            Encrypted: 'boolean',
            Iops: 'number',
            KmsKeyId: 'string',
            SnapshotId: 'string',
            VolumeSize: 'number',
            VolumeType: 'string',
          }),
          NoDevice: 'json',
          VirtualName: 'string',
        }),
      ),
      DisableApiTermination: 'boolean',
      IamInstanceProfile: 'string',
      KeyName: 'string',
      Monitoring: 'boolean',
      UserData: 'string',
      Tags: TAGS,
    },
    attributes: ['AvailabilityZone', 'InstanceId', 'PrivateDnsName', 'PrivateIp', 'PublicDnsName', 'PublicIp', 'VpcId'],
  },
  'AWS::RDS::DBSubnetGroup': {
    properties: {
      DBSubnetGroupDescription: req('string'),
      SubnetIds: req(list('string')),
      DBSubnetGroupName: 'string',
      Tags: TAGS,
    },
    attributes: [],
  },
  'AWS::RDS::DBInstance': {
    properties: {
      AllocatedStorage: 'string',
      AutoMinorVersionUpgrade: 'boolean',
      BackupRetentionPeriod: 'number',
      CopyTagsToSnapshot: 'boolean',
      DBClusterIdentifier: 'string',
      DBInstanceClass: 'string',
      DBInstanceIdentifier: 'string',
      DBSubnetGroupName: 'string',
      DeleteAutomatedBackups: 'boolean',
      DeletionProtection: 'boolean',
      Engine: 'string',
      EngineVersion: 'string',
      KmsKeyId: 'string',
      ManageMasterUserPassword: 'boolean',
      MasterUsername: 'string',
      MasterUserPassword: 'string',
      MultiAZ: 'boolean',
      Port: 'string',
      PubliclyAccessible: 'boolean',
      StorageEncrypted: 'boolean',
      StorageType: 'string',
      VPCSecurityGroups: list('string'),
      Tags: TAGS,
    },
    attributes: [
      'DBInstanceArn',
      'DbiResourceId',
      'Endpoint.Address',
      'Endpoint.HostedZoneId',
      'Endpoint.Port',
      'MasterUserSecret.SecretArn',
    ],
    snapshot: true,
  },
  'AWS::RDS::DBCluster': {
    properties: {
      BackupRetentionPeriod: 'number',
      CopyTagsToSnapshot: 'boolean',
      DBClusterIdentifier: 'string',
      DBSubnetGroupName: 'string',
      DeletionProtection: 'boolean',
      Engine: 'string',
      EngineVersion: 'string',
      KmsKeyId: 'string',
      ManageMasterUserPassword: 'boolean',
      MasterUsername: 'string',
      MasterUserPassword: 'string',
      Port: 'number',
      ServerlessV2ScalingConfiguration: object({
        MinCapacity: 'number',
        MaxCapacity: 'number',
        SecondsUntilAutoPause: 'number',
      }),
      StorageEncrypted: 'boolean',
      VpcSecurityGroupIds: list('string'),
      Tags: TAGS,
    },
    attributes: [
      'DBClusterArn',
      'DBClusterResourceId',
      'Endpoint.Address',
      'Endpoint.Port',
      'MasterUserSecret.SecretArn',
      'ReadEndpoint.Address',
    ],
    snapshot: true,
  },
  'AWS::S3::Bucket': {
    properties: {
      BucketName: 'string',
      BucketEncryption: 'json',
      LifecycleConfiguration: 'json',
      OwnershipControls: 'json',
      PublicAccessBlockConfiguration: object({
        BlockPublicAcls: 'boolean',
        BlockPublicPolicy: 'boolean',
        IgnorePublicAcls: 'boolean',
        RestrictPublicBuckets: 'boolean',
      }),
      VersioningConfiguration: object({ Status: req('string') }),
      Tags: TAGS,
    },
    attributes: ['Arn', 'DomainName', 'RegionalDomainName', 'WebsiteURL'],
  },
  'AWS::EFS::FileSystem': {
    properties: {
      AvailabilityZoneName: 'string',
      BackupPolicy: object({ Status: req('string') }),
      BypassPolicyLockoutSafetyCheck: 'boolean',
      Encrypted: 'boolean',
      FileSystemPolicy: 'json',
      FileSystemProtection: 'json',
      FileSystemTags: list(object({ Key: req('string'), Value: req('string') })),
      KmsKeyId: 'string',
      LifecyclePolicies: list('json'),
      PerformanceMode: 'string',
      ProvisionedThroughputInMibps: 'number',
      ReplicationConfiguration: 'json',
      ThroughputMode: 'string',
    },
    attributes: ['Arn', 'FileSystemId'],
  },
  'AWS::DynamoDB::Table': {
    properties: {
      TableName: 'string',
      AttributeDefinitions: list(object({ AttributeName: req('string'), AttributeType: req('string') })),
      KeySchema: req(list(object({ AttributeName: req('string'), KeyType: req('string') }))),
      BillingMode: 'string',
      DeletionProtectionEnabled: 'boolean',
      GlobalSecondaryIndexes: list('json'),
      PointInTimeRecoverySpecification: 'json',
      ProvisionedThroughput: 'json',
      SSESpecification: 'json',
      StreamSpecification: 'json',
      TableClass: 'string',
      Tags: TAGS,
    },
    attributes: ['Arn', 'StreamArn'],
  },
  'AWS::FSx::FileSystem': {
    properties: {
      FileSystemType: req('string'),
      SubnetIds: req(list('string')),
      BackupId: 'string',
      FileSystemTypeVersion: 'string',
      KmsKeyId: 'string',
      SecurityGroupIds: list('string'),
      StorageCapacity: 'number',
      StorageType: 'string',
      LustreConfiguration: 'json',
      OntapConfiguration: 'json',
      WindowsConfiguration: 'json',
      OpenZFSConfiguration: object({
        AutomaticBackupRetentionDays: 'number',
        CopyTagsToBackups: 'boolean',
        CopyTagsToVolumes: 'boolean',
        DailyAutomaticBackupStartTime: 'string',
        DeploymentType: req('string'),
        DiskIopsConfiguration: 'json',
        EndpointIpAddressRange: 'string',
        Options: list('string'),
        PreferredSubnetId: 'string',
        RootVolumeConfiguration: 'json',
        RouteTableIds: list('string'),
        ThroughputCapacity: 'number',
        WeeklyMaintenanceStartTime: 'string',
      }),
      Tags: TAGS,
    },
    attributes: ['DNSName', 'LustreMountName', 'ResourceARN', 'RootVolumeId'],
  },
};

/** Keys a resource entry may have besides Type and Properties. */
export const RESOURCE_ENTRY_KEYS = [
  'Type',
  'Properties',
  'DependsOn',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'Condition',
  'Metadata',
  'CreationPolicy',
  'UpdatePolicy',
] as const;

export const TEMPLATE_KEYS = [
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Mappings',
  'Conditions',
  'Rules',
  'Transform',
  'Resources',
  'Outputs',
] as const;

export const PARAMETER_KEYS = [
  'Type',
  'Default',
  'Description',
  'AllowedValues',
  'AllowedPattern',
  'ConstraintDescription',
  'MinLength',
  'MaxLength',
  'MinValue',
  'MaxValue',
  'NoEcho',
] as const;

export const PSEUDO_PARAMETERS = [
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
] as const;

/** `aws cloudformation deploy --template-file` sends the body inline up to this size; beyond it needs an S3 bucket. */
export const TEMPLATE_BODY_LIMIT = 51_200;
