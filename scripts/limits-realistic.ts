/**
 * Resolves a synthesized template's tokens to values as long as a real deployment's, so sizes that
 * AWS limits (a function's environment, a policy) are measured on what AWS would see: generated
 * physical names as CloudFormation makes them, ARNs in the longest region and partition names in
 * use, exports from the stacks deployed before. It uses the local environment's own resolver, so
 * the two read templates the same way.
 */
import {
  type CfnResource,
  type CfnTemplate,
  exportsOf,
  IntrinsicResolver,
  type Pseudo,
  type ResolvedResource,
} from '../local/cloud-template.js';

/**
 * The longest values these take where Sluice can be deployed: `ap-southeast-2` (14 characters,
 * like every other long region name), the GovCloud partition, a 12-digit account.
 */
export const REALISTIC_PSEUDO = {
  region: 'ap-southeast-2',
  accountId: '123456789012',
  partition: 'aws-us-gov',
} as const;

/** The part CloudFormation appends to a generated name: 12 or 13 upper-case letters and digits. */
const GENERATED_SUFFIX = 'ABCDEFGHIJKLM';

/** The most characters of each kind of generated physical name. */
const NAME_LIMITS: { readonly [type: string]: number } = {
  'AWS::S3::Bucket': 63,
  'AWS::SQS::Queue': 80,
  'AWS::SNS::Topic': 256,
  'AWS::Lambda::Function': 64,
  'AWS::IAM::Role': 64,
  'AWS::IAM::ManagedPolicy': 128,
  'AWS::DynamoDB::Table': 255,
  'AWS::DynamoDB::GlobalTable': 255,
  'AWS::SecretsManager::Secret': 512,
  'AWS::Logs::LogGroup': 512,
  'AWS::CloudWatch::Alarm': 255,
};

/** The property that holds a resource's own name, when it sets one. */
const NAME_PROPERTIES: { readonly [type: string]: string } = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::CompositeAlarm': 'AlarmName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
};

/** A name as CloudFormation generates it: `<stack>-<logical ID>-<suffix>`, cut to the type's limit. */
export function generatedName(stackName: string, logicalId: string, type: string): string {
  const limit = NAME_LIMITS[type] ?? 128;
  const name = `${stackName}-${logicalId}`.slice(0, limit - GENERATED_SUFFIX.length - 1);
  const full = `${name}-${GENERATED_SUFFIX}`;
  return type === 'AWS::S3::Bucket' ? full.toLowerCase() : full;
}

function realisticResource(name: string, type: string): ResolvedResource {
  const { region, accountId, partition } = REALISTIC_PSEUDO;
  const arn = (service: string, resource: string, inRegion = true) =>
    `arn:${partition}:${service}:${inRegion ? region : ''}:${accountId}:${resource}`;
  switch (type) {
    case 'AWS::S3::Bucket':
      return {
        ref: name,
        attributes: {
          Arn: `arn:${partition}:s3:::${name}`,
          DomainName: `${name}.s3.amazonaws.com`,
          RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
        },
      };
    case 'AWS::SQS::Queue': {
      const url = `https://sqs.${region}.amazonaws.com/${accountId}/${name}`;
      return { ref: url, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: url } };
    }
    case 'AWS::SNS::Topic': {
      const topicArn = arn('sns', name);
      return { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
    }
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable': {
      const tableArn = arn('dynamodb', `table/${name}`);
      return {
        ref: name,
        attributes: {
          Arn: tableArn,
          StreamArn: `${tableArn}/stream/2026-11-27T08:00:00.000`,
          TableId: GENERATED_SUFFIX,
        },
      };
    }
    case 'AWS::SecretsManager::Secret': {
      const secretArn = arn('secretsmanager', `secret:${name}-AbCdEf`);
      return { ref: secretArn, attributes: { Id: secretArn } };
    }
    case 'AWS::Lambda::Function':
      return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
    case 'AWS::IAM::Role':
      return {
        ref: name,
        attributes: { Arn: arn('iam', `role/${name}`, false), RoleId: `AROA${GENERATED_SUFFIX}ABCDEFG` },
      };
    case 'AWS::IAM::ManagedPolicy':
      return {
        ref: arn('iam', `policy/${name}`, false),
        attributes: { PolicyArn: arn('iam', `policy/${name}`, false) },
      };
    case 'AWS::Logs::LogGroup':
      return { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
    case 'AWS::CloudWatch::Alarm':
    case 'AWS::CloudWatch::CompositeAlarm':
      return { ref: name, attributes: { Arn: arn('cloudwatch', `alarm:${name}`) } };
    default:
      return { ref: name, attributes: { Arn: arn(type.split('::')[1]?.toLowerCase() ?? 'unknown', name) } };
  }
}

export interface RealisticStack {
  readonly resolver: IntrinsicResolver;
  /** What this stack exports, for the stacks after it. */
  readonly exports: ReadonlyMap<string, string>;
}

/**
 * A resolver for one stack's template. `imports` are the exports of the stacks before it, in
 * deployment order.
 */
export function realisticResolver(
  stackName: string,
  template: CfnTemplate,
  imports: ReadonlyMap<string, string>,
): RealisticStack {
  const pseudo: Pseudo = { ...REALISTIC_PSEUDO, stackName };
  const resources = new Map<string, ResolvedResource>();
  // Names a resource gives itself use pseudo parameters at most (a dashboard's region).
  const namesOnly = new IntrinsicResolver(new Map(), pseudo, imports);
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    resources.set(
      logicalId,
      realisticResource(nameOf(stackName, logicalId, resource, namesOnly), resource.Type),
    );
  }
  const resolver = new IntrinsicResolver(resources, pseudo, imports);
  return { resolver, exports: exportsOf(template, resolver) };
}

function nameOf(
  stackName: string,
  logicalId: string,
  resource: CfnResource,
  resolver: IntrinsicResolver,
): string {
  const property = NAME_PROPERTIES[resource.Type];
  const given = property === undefined ? undefined : resource.Properties?.[property];
  return given === undefined
    ? generatedName(stackName, logicalId, resource.Type)
    : resolver.resolveString(given);
}
