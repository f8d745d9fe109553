/**
 * The whole pipeline on one machine: moto, the resources of the synthesized template, the demo
 * site, the functions' bundles in local Lambda containers, and pollers in place of event source
 * mappings. `npm start` and the integration tests both run on this.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SourceCredentialsSecret } from '../functions/adapters/source-credentials.js';
import type { OriginOverrides } from '../functions/core/egress.js';
import { fixtureSources, sources } from '../sources/registry.js';
import { AlarmMonitor } from './alarms/alarm-monitor.js';
import {
  type AwsFaultProxy,
  type AwsFaultProxyOptions,
  startAwsFaultProxy,
} from './chaos/aws-fault-proxy.js';
import { readAssembly } from './cloud-assembly.js';
import { LocalCloudWatch } from './cloudwatch-bridge.js';
import type { PortalCredentials } from './demo-site/portal.js';
import { DEMO_DOMAIN, type DemoSite, demoOriginOverrides, startDemoSite } from './demo-site/server.js';
import type { SiteFaultOptions } from './demo-site/site-faults.js';
import { type Emulator, startEmulator } from './emulator.js';
import { LocalFunction } from './lambda-runtime.js';
import type { LocalEnvFile, StackResource } from './local-env-file.js';
import { CDK_OUT_DIR, PROJECT_ROOT, SCRATCH_DIR } from './paths.js';
import { type EmulatorClients, type LocalQueue, type Provisioned, provisionApp } from './provision.js';
import { QueueMetricsPublisher } from './queue-metrics.js';
import { LocalScheduler, ScheduledRuleRunner } from './scheduled-rules.js';
import {
  type BatchReport,
  type DuplicateDeliveries,
  SqsEventSourcePoller,
  type SqsPollerOptions,
} from './sqs-poller.js';
import { DynamoStreamPoller } from './stream-poller.js';
import { type LocalTarget, mergeOriginOverrides } from './targets.js';

// The AWS SDK warns once per process that Node 20 support ends in 2027; locally that is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const LOCAL_REGION = 'us-east-1';
/** moto's default account. */
export const LOCAL_ACCOUNT = '123456789012';
/** Local time runs this much faster than the template says (visibility timeouts, retry delays). */
export const DEFAULT_TIME_SCALE = 1 / 60;

export interface LocalEnvironmentOptions {
  /** Run `cdk synth` first. @default true */
  readonly synth?: boolean;
  /** @default DEFAULT_TIME_SCALE */
  readonly timeScale?: number;
  /** Where logs go. @default .sluice/logs/<run id> */
  readonly logDir?: string;
  /** Extra environment for every function (e.g. a Chromium override). @default - none */
  readonly functionEnvironment?: { readonly [name: string]: string };
  readonly onBatch?: (report: BatchReport) => void;
  readonly onLogLine?: (functionLogicalId: string, line: string) => void;
  /** Sees every batch a poller receives, before the function does. @default - none */
  readonly onReceive?: SqsPollerOptions['onReceive'];
  /**
   * Faults injected from the outside, for the chaos run (local/chaos/). None of them changes the
   * template, the bundles or the functions' configuration: the demo site fails at set rates, the
   * functions reach the emulator through a proxy that answers some calls with AWS errors, and the
   * pollers deliver some messages twice. @default - none
   */
  readonly chaos?: LocalChaosOptions;
  /**
   * Fire the sources' EventBridge Scheduler schedules on the local clock (npm start and the chaos
   * run do). Off by default, so a test's traffic is only what it sends. @default false
   */
  readonly schedules?: boolean;
  /**
   * Sources collected from a site of your own instead of their origin (local/targets.ts): merged
   * with the demo site's overrides and any SLUICE_ORIGIN_OVERRIDES in the shell. @default - none
   */
  readonly targets?: readonly LocalTarget[];
  /**
   * Evaluate every alarm of the templates as CloudWatch would (local/alarms/), with the AWS/SQS
   * metrics the pollers measure. The chaos run turns it off: its figures are the pipeline's alone.
   * @default true
   */
  readonly alarms?: boolean;
}

export interface LocalChaosOptions {
  readonly demoSite?: SiteFaultOptions;
  /** The functions' S3 and DynamoDB calls go through local/chaos/aws-fault-proxy.ts. */
  readonly aws?: Omit<AwsFaultProxyOptions, 'upstream'>;
  readonly duplicateDeliveries?: DuplicateDeliveries;
}

export interface SourceQueues {
  readonly jobs: LocalQueue;
  readonly deadLetter: LocalQueue;
}

export interface LocalEnvironment {
  readonly runId: string;
  /** How much faster than the template's time local time runs (see DEFAULT_TIME_SCALE). */
  readonly timeScale: number;
  readonly endpoint: string;
  readonly emulatorVersion: string;
  readonly logDir: string;
  readonly clients: EmulatorClients & {
    readonly documents: DynamoDBDocumentClient;
    readonly cloudwatch: CloudWatchClient;
    readonly events: EventBridgeClient;
    readonly logs: CloudWatchLogsClient;
    readonly streams: DynamoDBStreamsClient;
  };
  readonly provisioned: Provisioned;
  readonly demoSite: DemoSite;
  /** The proxy the functions reach the emulator through, when chaos.aws is set. */
  readonly awsFaultProxy: AwsFaultProxy | undefined;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly pollers: readonly SqsEventSourcePoller[];
  /** EventBridge schedules (the freshness checker), run on timers scaled by the time scale. */
  readonly schedules: ScheduledRuleRunner;
  /** The sources' EventBridge Scheduler schedules; fired only when started with `schedules: true`. */
  readonly scheduler: LocalScheduler;
  /** Lambda's DynamoDB stream mappings (the change feed). */
  readonly streamPollers: readonly DynamoStreamPoller[];
  /** The change feed's bus and the log group every RecordChanged event is copied into. */
  readonly changeBus: string;
  readonly changeLogGroup: string;
  /** Function logs' EMF metrics and Lambda's own metrics, put into the emulator's CloudWatch. */
  readonly metrics: LocalCloudWatch;
  /** Where each production origin is collected from locally (SLUICE_ORIGIN_OVERRIDES of the functions). */
  readonly originOverrides: OriginOverrides;
  /** Every alarm of the templates, evaluated as CloudWatch would; undefined when turned off. */
  readonly alarms: AlarmMonitor | undefined;
  readonly rawBucket: string;
  readonly recordsTable: string;
  readonly ledgerTable: string;
  readonly tasksTable: string;
  readonly transformQueues: SourceQueues;
  sourceQueues(source: string): SourceQueues;
  /** Every resource as CloudFormation would list it, for `.sluice/local-env.json` and the CLI. */
  describe(): LocalEnvFile;
  stop(): Promise<void>;
}

/**
 * Synthesizes the CDK app exactly as `cdk deploy` would, bundles included — plus the test-fixture
 * sources (the demo site's fault routes), which only the local environment has.
 */
export function synthesize(): void {
  const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--context', 'sluice:fixtureSources=true'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, CDK_DEFAULT_REGION: LOCAL_REGION },
  });
  if (result.status !== 0) {
    throw new Error(`cdk synth failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** The one resource of `type` whose tags include all of `tags`. */
function findTagged(
  provisioned: Provisioned,
  ids: Iterable<string>,
  tags: { [key: string]: string },
): string {
  const matches = [...ids].filter((id) => {
    const own = provisioned.tags.get(id) ?? {};
    return Object.entries(tags).every(([k, v]) => own[k] === v);
  });
  if (matches.length !== 1) {
    throw new Error(`expected one resource tagged ${JSON.stringify(tags)}, found ${matches.length}`);
  }
  return matches[0] as string;
}

/**
 * The credentials the demo portal accepts: whatever the stack's secret for the demo source that
 * signs in holds in the emulator (generated at provisioning), so the collector signs in with
 * exactly what it reads from Secrets Manager, as in AWS.
 */
async function demoPortalCredentials(
  provisioned: Provisioned,
  secrets: SecretsManagerClient,
): Promise<PortalCredentials | undefined> {
  const portal = sources.find(
    (s) =>
      s.kind === 'browser' && s.login !== undefined && new URL(s.origin).hostname.endsWith(`.${DEMO_DOMAIN}`),
  );
  if (portal === undefined) return undefined;
  const secretId = [...provisioned.secrets.keys()].find((id) => {
    const tags = provisioned.tags.get(id) ?? {};
    return tags['sluice:role'] === 'credentials' && tags['sluice:source'] === portal.name;
  });
  const arn = secretId === undefined ? undefined : provisioned.secrets.get(secretId);
  if (arn === undefined) throw new Error(`the template has no credentials secret for ${portal.name}`);
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  return SourceCredentialsSecret.parse(JSON.parse(SecretString ?? ''));
}

/** The app's name: its core stack's, the one stack the others depend on and are named after. */
function appNameOfStacks(stackNames: readonly string[]): string {
  const core = stackNames[0];
  if (core === undefined) throw new Error(`${CDK_OUT_DIR} holds no stack: did cdk synth run?`);
  return core;
}

export async function startLocalEnvironment(
  options: LocalEnvironmentOptions = {},
): Promise<LocalEnvironment> {
  const runId = `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  const logDir = options.logDir ?? join(SCRATCH_DIR, 'logs', runId);
  const containersDir = join(SCRATCH_DIR, 'containers', runId);
  mkdirSync(logDir, { recursive: true });
  mkdirSync(containersDir, { recursive: true });
  const timeScale = options.timeScale ?? DEFAULT_TIME_SCALE;

  if (options.synth !== false) synthesize();
  // Every stack of the app, the core stack first: the source stacks import its exports.
  const stacks = readAssembly(CDK_OUT_DIR);
  const appName = appNameOfStacks(stacks.map((s) => s.stackName));

  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => console.error(`cleanup failed: ${(error as Error).message}`));
    }
    rmSync(containersDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };

  try {
    const emulator: Emulator = await startEmulator({ logFile: join(logDir, 'moto.log') });
    cleanups.push(() => emulator.stop());

    const sdkConfig = {
      region: LOCAL_REGION,
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    const dynamodb = new DynamoDBClient(sdkConfig);
    const clients = {
      // moto cannot read the gzip bodies the SDK sends for PutMetricData above 10 KB.
      cloudwatch: new CloudWatchClient({ ...sdkConfig, disableRequestCompression: true }),
      sqs: new SQSClient(sdkConfig),
      s3: new S3Client({ ...sdkConfig, forcePathStyle: true }),
      dynamodb,
      documents: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
      sns: new SNSClient(sdkConfig),
      secrets: new SecretsManagerClient(sdkConfig),
      events: new EventBridgeClient(sdkConfig),
      logs: new CloudWatchLogsClient(sdkConfig),
      streams: new DynamoDBStreamsClient(sdkConfig),
    };

    const provisioned = await provisionApp(stacks, clients, {
      pseudo: { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT },
      nameSuffix: runId.slice(-6),
      timeScale,
    });

    const metrics = new LocalCloudWatch(clients.cloudwatch);
    // Stopped after the functions (cleanups run in reverse), so their last lines are published too.
    cleanups.push(() => metrics.stop());
    const physicalName = (logicalId: string) => provisioned.resolved.get(logicalId)?.ref ?? logicalId;

    const portalCredentials = await demoPortalCredentials(provisioned, clients.secrets);
    const demoSite = await startDemoSite({
      ...(portalCredentials === undefined ? {} : { portalCredentials }),
      ...(options.chaos?.demoSite === undefined ? {} : { faults: options.chaos.demoSite }),
    });
    cleanups.push(() => demoSite.close());

    // Only the functions go through the fault proxy; this process's own clients reach moto directly.
    const awsFaultProxy =
      options.chaos?.aws === undefined
        ? undefined
        : await startAwsFaultProxy({ ...options.chaos.aws, upstream: emulator.endpoint });
    if (awsFaultProxy !== undefined) cleanups.push(() => awsFaultProxy.stop());

    // The local profile: demo origins point at the bundled demo site, targets at your own site,
    // and an override set in the shell is kept (local/targets.ts). Only this process sets these;
    // the deployed stack never contains them (an infra test asserts it).
    const originOverrides = mergeOriginOverrides(
      demoOriginOverrides([...sources, ...fixtureSources], demoSite.origin),
      process.env.SLUICE_ORIGIN_OVERRIDES,
      options.targets ?? [],
    );
    const extraEnvironment = {
      AWS_ENDPOINT_URL: awsFaultProxy?.endpoint ?? emulator.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      SLUICE_ORIGIN_OVERRIDES: JSON.stringify(originOverrides),
      SLUICE_TIME_SCALE: String(timeScale),
      ...options.functionEnvironment,
    };
    const functions = new Map<string, LocalFunction>();
    for (const spec of provisioned.functions.values()) {
      const fn = new LocalFunction(spec, {
        cdkOutDir: CDK_OUT_DIR,
        scratchDir: containersDir,
        extraEnvironment,
        logFile: join(logDir, `${spec.logicalId}.log`),
        region: LOCAL_REGION,
        accountId: LOCAL_ACCOUNT,
        onLogLine: (functionLogicalId, line) => {
          metrics.acceptLogLine(line);
          options.onLogLine?.(functionLogicalId, line);
        },
        onInvocation: (functionLogicalId, result) =>
          metrics.recordInvocation(physicalName(functionLogicalId), result),
      });
      functions.set(spec.logicalId, fn);
      cleanups.push(() => fn.stop());
    }

    const pollers = provisioned.eventSourceMappings.map((mapping) => {
      const queue = provisioned.queues.get(mapping.queueLogicalId);
      const target = functions.get(mapping.functionLogicalId);
      if (queue === undefined || target === undefined) {
        throw new Error(`mapping ${mapping.logicalId} has no local queue or function`);
      }
      const poller = new SqsEventSourcePoller(mapping, queue, target, clients.sqs, {
        region: LOCAL_REGION,
        ...(options.onBatch === undefined ? {} : { onBatch: options.onBatch }),
        ...(options.onReceive === undefined ? {} : { onReceive: options.onReceive }),
        ...(options.chaos?.duplicateDeliveries === undefined
          ? {}
          : { duplicateDeliveries: options.chaos.duplicateDeliveries }),
      });
      poller.start();
      cleanups.push(() => poller.stop());
      return poller;
    });

    const streamPollers = provisioned.streamMappings.map((mapping) => {
      const target = functions.get(mapping.functionLogicalId);
      if (target === undefined) throw new Error(`stream mapping ${mapping.logicalId} has no local function`);
      const poller = new DynamoStreamPoller(mapping, target, clients.streams, clients.sqs, {
        region: LOCAL_REGION,
        accountId: LOCAL_ACCOUNT,
      });
      poller.start();
      cleanups.push(() => poller.stop());
      return poller;
    });
    // Alarms are evaluated against what the functions and the pollers publish, SQS's own metrics
    // measured every local minute like CloudWatch's evaluations.
    const alarms =
      options.alarms === false
        ? undefined
        : new AlarmMonitor(
            [...provisioned.alarms.values()],
            (metric, from, to) => metrics.samples(metric, from, to),
            {
              timeScale,
              cloudwatch: clients.cloudwatch,
            },
          );
    if (alarms !== undefined) {
      const queueMetrics = new QueueMetricsPublisher(
        [...provisioned.queues.values()],
        pollers,
        clients.sqs,
        (data) => metrics.accept(data),
        { timeScale, intervalMs: alarms.intervalMs },
      );
      queueMetrics.start();
      alarms.start();
      cleanups.push(() => queueMetrics.stop());
      cleanups.push(() => alarms.stop());
    }

    const schedules = new ScheduledRuleRunner(provisioned.scheduledRules, functions, {
      timeScale,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
    });
    schedules.start();
    cleanups.push(() => schedules.stop());
    const scheduler = new LocalScheduler(provisioned.schedules, clients.sqs, {
      timeScale,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
    });
    if (options.schedules === true) scheduler.start();
    cleanups.push(() => scheduler.stop());

    const queueIds = [...provisioned.queues.keys()];
    const queuePair = (tags: { [key: string]: string }): SourceQueues => {
      const jobs = provisioned.queues.get(
        findTagged(provisioned, queueIds, { ...tags, 'sluice:role': 'work' }),
      );
      const deadLetter = provisioned.queues.get(
        findTagged(provisioned, queueIds, { ...tags, 'sluice:role': 'dead-letter' }),
      );
      if (jobs === undefined || deadLetter === undefined)
        throw new Error(`no queues tagged ${JSON.stringify(tags)}`);
      return { jobs, deadLetter };
    };
    const tableIds = [...provisioned.tables.keys()];
    const bucketIds = [...provisioned.buckets.keys()];
    const tableTagged = (role: string) =>
      provisioned.tables.get(findTagged(provisioned, tableIds, { 'sluice:role': role })) ?? '';
    const startedAt = new Date().toISOString();
    const describe = (): LocalEnvFile => ({
      runId,
      endpoint: emulator.endpoint,
      region: LOCAL_REGION,
      appName,
      stacks: stacks.map((s) => s.stackName),
      pid: process.pid,
      startedAt,
      resources: provisioned.resources.map(
        (r): StackResource => ({
          stack: r.stackName,
          logicalId: r.logicalId,
          type: r.type,
          physicalId: r.physicalId,
          tags: r.tags,
        }),
      ),
    });

    return {
      runId,
      timeScale,
      endpoint: emulator.endpoint,
      emulatorVersion: emulator.version,
      logDir,
      clients,
      provisioned,
      demoSite,
      awsFaultProxy,
      functions,
      pollers,
      schedules,
      scheduler,
      streamPollers,
      changeBus: [...provisioned.eventBuses.values()][0] ?? '',
      changeLogGroup:
        provisioned.resources.find(
          (r) => r.type === 'AWS::Logs::LogGroup' && r.tags['sluice:role'] === 'change-log',
        )?.physicalId ?? '',
      metrics,
      originOverrides,
      alarms,
      rawBucket: provisioned.buckets.get(findTagged(provisioned, bucketIds, { 'sluice:role': 'raw' })) ?? '',
      recordsTable: tableTagged('records'),
      ledgerTable: tableTagged('ledger'),
      tasksTable: tableTagged('tasks'),
      transformQueues: queuePair({ 'sluice:stage': 'transform' }),
      sourceQueues: (source) => queuePair({ 'sluice:stage': 'collect', 'sluice:source': source }),
      describe,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
