/**
 * Where `sluice` works: the deployed stack (found through CloudFormation and the resources'
 * `sluice:*` tags, with the default AWS credentials) or the local environment (described in
 * `.sluice/local-env.json` by `npm start -- --keep`). Both give the same list of stack resources,
 * so every command runs the same code against either.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  CloudFormationClient,
  GetTemplateCommand,
  paginateListStackResources,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STACK_NAME } from '../infra/stack-name.js';
import { CfnTemplate } from '../local/cloud-template.js';
import { LocalEnvFile, type StackResource } from '../local/local-env-file.js';
import { tagsOf } from '../local/provision.js';

/** An error the CLI reports as one clear line, with the exit code it should end with. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface QueuePair {
  /** The source's name, or `transform` for the shared transform queue. */
  readonly name: string;
  readonly jobsUrl: string;
  readonly deadLetterUrl: string;
}

export interface SluiceResources {
  readonly ledgerTable: string;
  readonly tasksTable: string;
  readonly recordsTable: string;
  readonly rawBucket: string;
  readonly sourceQueues: ReadonlyMap<string, QueuePair>;
  readonly transformQueues: QueuePair;
  /** Sluice's functions: their role (`http-collector`, `transform`, ...) and deployed name. */
  readonly functions: readonly { readonly role: string; readonly name: string }[];
}

export interface SluiceClients {
  readonly sqs: SQSClient;
  readonly documents: DynamoDBDocumentClient;
  readonly cloudwatch: CloudWatchClient;
  readonly s3: S3Client;
}

export interface SluiceTarget {
  /** For the first line of output: which environment the command ran against. */
  readonly description: string;
  readonly clients: SluiceClients;
  readonly resources: SluiceResources;
}

function only(resources: readonly StackResource[], what: string, match: (r: StackResource) => boolean) {
  const found = resources.filter(match);
  if (found.length !== 1) {
    throw new CliError(`the stack should have exactly one ${what}, found ${found.length}`);
  }
  return found[0] as StackResource;
}

/** Finds Sluice's resources among a stack's by type and `sluice:*` tags. */
export function resourcesFrom(resources: readonly StackResource[]): SluiceResources {
  const table = (role: string) =>
    only(
      resources,
      `table tagged sluice:role=${role}`,
      (r) => r.type.startsWith('AWS::DynamoDB::') && r.tags['sluice:role'] === role,
    ).physicalId;
  const queues = resources.filter((r) => r.type === 'AWS::SQS::Queue');
  const pair = (name: string, tags: { [key: string]: string }): QueuePair => {
    const tagged = (role: string) =>
      only(queues, `${role} queue for ${name}`, (q) =>
        Object.entries({ ...tags, 'sluice:role': role }).every(([k, v]) => q.tags[k] === v),
      ).physicalId;
    return { name, jobsUrl: tagged('work'), deadLetterUrl: tagged('dead-letter') };
  };
  const sourceNames = [
    ...new Set(
      queues
        .filter((q) => q.tags['sluice:stage'] === 'collect' && q.tags['sluice:source'] !== undefined)
        .map((q) => q.tags['sluice:source'] as string),
    ),
  ].sort();
  return {
    ledgerTable: table('ledger'),
    tasksTable: table('tasks'),
    recordsTable: table('records'),
    rawBucket: only(
      resources,
      'bucket tagged sluice:role=raw',
      (r) => r.type === 'AWS::S3::Bucket' && r.tags['sluice:role'] === 'raw',
    ).physicalId,
    sourceQueues: new Map(
      sourceNames.map((name) => [name, pair(name, { 'sluice:stage': 'collect', 'sluice:source': name })]),
    ),
    transformQueues: pair('transform', { 'sluice:stage': 'transform' }),
    functions: resources
      // Sluice's own functions are tagged with their role; CDK's helper functions are not.
      .filter((r) => r.type === 'AWS::Lambda::Function' && r.tags['sluice:role'] !== undefined)
      .map((r) => ({ role: r.tags['sluice:role'] as string, name: r.physicalId })),
  };
}

interface ClientConfig {
  readonly region?: string;
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

function clientsFor(config: ClientConfig, local = false): SluiceClients {
  const dynamodb = new DynamoDBClient(config);
  return {
    // The emulator serves buckets by path, not by virtual host.
    s3: new S3Client({ ...config, forcePathStyle: local }),
    sqs: new SQSClient(config),
    documents: DynamoDBDocumentClient.from(dynamodb, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
    cloudwatch: new CloudWatchClient(config),
  };
}

/** The local environment `npm start -- --keep` described in `file`. */
export async function localTarget(file: string): Promise<SluiceTarget> {
  if (!existsSync(file)) {
    throw new CliError(
      `no local environment is running (${file} does not exist): start one with \`npm start -- --keep\``,
    );
  }
  const parsed = LocalEnvFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new CliError(`${file} is not a local environment description: ${parsed.error.message}`);
  const env = parsed.data;
  try {
    await fetch(`${env.endpoint}/moto-api/`, { signal: AbortSignal.timeout(3000) });
  } catch {
    throw new CliError(
      `the local environment at ${env.endpoint} (run ${env.runId}) is not answering; start one with \`npm start -- --keep\``,
    );
  }
  return {
    description: `local environment ${env.runId} at ${env.endpoint}`,
    clients: clientsFor(
      {
        region: env.region,
        endpoint: env.endpoint,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      },
      true,
    ),
    resources: resourcesFrom(env.resources),
  };
}

/** Turns the SDK's errors about credentials, regions and missing stacks into one clear line. */
export function explainAwsError(error: unknown, stackName: string, region: string | undefined): Error {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return new CliError(
      `no AWS credentials found (${message}). Configure the default credentials (aws configure, AWS_PROFILE, ` +
        'or an SSO login), or run against the local environment with --local',
    );
  }
  if (/region is missing/i.test(message)) {
    return new CliError('no AWS region configured: pass --region or set AWS_REGION');
  }
  if (name === 'ValidationError' && /does not exist/.test(message)) {
    return new CliError(`stack ${stackName} does not exist in ${region ?? 'the default region'}: ${message}`);
  }
  return error instanceof Error ? error : new Error(message);
}

/** The deployed stack, through CloudFormation, with the default credentials. */
export async function awsTarget(
  options: { stackName?: string; region?: string } = {},
): Promise<SluiceTarget> {
  const stackName = options.stackName ?? STACK_NAME;
  const config = options.region === undefined ? {} : { region: options.region };
  const cloudformation = new CloudFormationClient(config);
  try {
    const summaries: StackResourceSummary[] = [];
    for await (const page of paginateListStackResources(
      { client: cloudformation },
      { StackName: stackName },
    )) {
      summaries.push(...(page.StackResourceSummaries ?? []));
    }
    const { TemplateBody } = await cloudformation.send(
      new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Processed' }),
    );
    const template = CfnTemplate.parse(JSON.parse(TemplateBody ?? '{}'));
    const resources = summaries.flatMap((s): StackResource[] => {
      const declared =
        s.LogicalResourceId === undefined ? undefined : template.Resources[s.LogicalResourceId];
      if (declared === undefined || s.PhysicalResourceId === undefined) return [];
      return [
        {
          logicalId: s.LogicalResourceId as string,
          type: declared.Type,
          physicalId: s.PhysicalResourceId,
          tags: tagsOf(declared),
        },
      ];
    });
    const region = await cloudformation.config.region();
    return {
      description: `stack ${stackName} in ${region}`,
      clients: clientsFor(config),
      resources: resourcesFrom(resources),
    };
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw explainAwsError(error, stackName, options.region);
  }
}
