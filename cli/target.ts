/**
 * Where `sluice` works: the deployed app (its core and source stacks, found through CloudFormation
 * by their `sluice:app` tag and their resources by `sluice:*` tags, with the default AWS
 * credentials) or the local environment (described in `.sluice/local-env.json` by
 * `npm start -- --keep`). Both give the same list of stack resources, so every command runs the
 * same code against either.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  CloudFormationClient,
  GetTemplateCommand,
  paginateDescribeStacks,
  paginateListStackResources,
  type Stack,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_APP_NAME } from '../functions/core/resource-names.js';
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
  /** The app's name: its metrics namespace, the start of its resources' names. */
  readonly appName: string;
  readonly ledgerTable: string;
  /** Days ledger items live (the table's `sluice:retention-days` tag). @default - unknown */
  readonly ledgerRetentionDays: number | undefined;
  readonly tasksTable: string;
  readonly recordsTable: string;
  readonly rawBucket: string;
  readonly sourceQueues: ReadonlyMap<string, QueuePair>;
  readonly transformQueues: QueuePair;
  /** Each signing-in source's secret (`<app>/<source>/login`), by source: its physical ID. */
  readonly loginSecrets: ReadonlyMap<string, string>;
  /** Sluice's functions: their role (`http-collector`, `transform`, ...), stack and deployed name. */
  readonly functions: readonly { readonly role: string; readonly stack: string; readonly name: string }[];
  /** The names of the app's alarms, metric and composite, every stack's. */
  readonly alarms: readonly string[];
}

export interface SluiceClients {
  readonly sqs: SQSClient;
  readonly documents: DynamoDBDocumentClient;
  readonly cloudwatch: CloudWatchClient;
  readonly s3: S3Client;
  /** For the change log (`sluice changes`). */
  readonly logs: CloudWatchLogsClient;
  readonly secrets: SecretsManagerClient;
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
    throw new CliError(`the app should have exactly one ${what}, found ${found.length}`);
  }
  return found[0] as StackResource;
}

/** Finds Sluice's resources among its stacks' by type and `sluice:*` tags. */
export function resourcesFrom(appName: string, resources: readonly StackResource[]): SluiceResources {
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
  const ledger = only(
    resources,
    'table tagged sluice:role=ledger',
    (r) => r.type.startsWith('AWS::DynamoDB::') && r.tags['sluice:role'] === 'ledger',
  );
  const retention = Number(ledger.tags['sluice:retention-days']);
  return {
    appName,
    ledgerTable: ledger.physicalId,
    ledgerRetentionDays: Number.isInteger(retention) && retention > 0 ? retention : undefined,
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
    loginSecrets: new Map(
      resources
        .filter(
          (r) =>
            r.type === 'AWS::SecretsManager::Secret' &&
            r.tags['sluice:role'] === 'credentials' &&
            r.tags['sluice:source'] !== undefined,
        )
        .map((r) => [r.tags['sluice:source'] as string, r.physicalId]),
    ),
    functions: resources
      // Sluice's own functions are tagged with their role; CDK's helper functions are not.
      .filter((r) => r.type === 'AWS::Lambda::Function' && r.tags['sluice:role'] !== undefined)
      .map((r) => ({ role: r.tags['sluice:role'] as string, stack: r.stack, name: r.physicalId })),
    // An alarm's physical ID is its name.
    alarms: resources
      .filter((r) => r.type === 'AWS::CloudWatch::Alarm' || r.type === 'AWS::CloudWatch::CompositeAlarm')
      .map((r) => r.physicalId)
      .sort(),
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
    logs: new CloudWatchLogsClient(config),
    secrets: new SecretsManagerClient(config),
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
    resources: resourcesFrom(env.appName, env.resources),
  };
}

/** Turns the SDK's errors about credentials, regions and missing stacks into one clear line. */
export function explainAwsError(error: unknown, appName: string, region: string | undefined): Error {
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
    return new CliError(
      `a stack of app ${appName} does not exist in ${region ?? 'the default region'}: ${message}`,
    );
  }
  return error instanceof Error ? error : new Error(message);
}

/** The stacks of the app `appName`: every stack tagged `sluice:app=<appName>`, core stack first. */
async function stacksOfApp(cloudformation: CloudFormationClient, appName: string): Promise<Stack[]> {
  const stacks: Stack[] = [];
  for await (const page of paginateDescribeStacks({ client: cloudformation }, {})) {
    stacks.push(
      ...(page.Stacks ?? []).filter(
        (stack) =>
          stack.StackStatus !== 'DELETE_COMPLETE' &&
          (stack.Tags ?? []).some((tag) => tag.Key === 'sluice:app' && tag.Value === appName),
      ),
    );
  }
  return stacks.sort((a, b) =>
    a.StackName === appName
      ? -1
      : b.StackName === appName
        ? 1
        : (a.StackName ?? '').localeCompare(b.StackName ?? ''),
  );
}

/** Every resource of one deployed stack, with the type and tags its template gives it. */
async function resourcesOfStack(
  cloudformation: CloudFormationClient,
  stackName: string,
): Promise<StackResource[]> {
  const summaries: StackResourceSummary[] = [];
  for await (const page of paginateListStackResources({ client: cloudformation }, { StackName: stackName })) {
    summaries.push(...(page.StackResourceSummaries ?? []));
  }
  const { TemplateBody } = await cloudformation.send(
    new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Processed' }),
  );
  const template = CfnTemplate.parse(JSON.parse(TemplateBody ?? '{}'));
  return summaries.flatMap((s): StackResource[] => {
    const declared = s.LogicalResourceId === undefined ? undefined : template.Resources[s.LogicalResourceId];
    if (declared === undefined || s.PhysicalResourceId === undefined) return [];
    return [
      {
        stack: stackName,
        logicalId: s.LogicalResourceId as string,
        type: declared.Type,
        physicalId: s.PhysicalResourceId,
        tags: tagsOf(declared),
      },
    ];
  });
}

/**
 * The deployed app, through CloudFormation, with the default credentials: its core stack and
 * every source stack, found by their `sluice:app` tag.
 */
export async function awsTarget(options: { appName?: string; region?: string } = {}): Promise<SluiceTarget> {
  const appName = options.appName ?? DEFAULT_APP_NAME;
  const config = options.region === undefined ? {} : { region: options.region };
  const cloudformation = new CloudFormationClient(config);
  try {
    const region = await cloudformation.config.region();
    const stacks = await stacksOfApp(cloudformation, appName);
    if (stacks.length === 0) {
      throw new CliError(
        `no stack of app ${appName} (tagged sluice:app=${appName}) in ${region}: deploy it with \`npx cdk deploy --all\`, or pass --app or --region`,
      );
    }
    const names = stacks.map((s) => s.StackName ?? '');
    const resources: StackResource[] = [];
    // A few stacks at a time: CloudFormation throttles bursts of ListStackResources.
    for (let start = 0; start < names.length; start += 4) {
      const batch = await Promise.all(
        names.slice(start, start + 4).map((name) => resourcesOfStack(cloudformation, name)),
      );
      resources.push(...batch.flat());
    }
    return {
      description: `app ${appName} in ${region} (${names.length} stacks)`,
      clients: clientsFor(config),
      resources: resourcesFrom(appName, resources),
    };
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw explainAwsError(error, appName, options.region);
  }
}
