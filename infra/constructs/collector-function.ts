import { Aws, Duration } from 'aws-cdk-lib';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { CollectorKind, SourceDefinition } from '../../sources/define.js';
import { type CollectorGroup, collectorGroupOf, kindOfGroup } from '../alarm-catalogue.js';
import { grantHandoff, grantItems, pipelineEnvironment, type SharedResources } from '../shared-resources.js';
import type { VpcPlacement } from '../vpc.js';
import { PipelineFunction } from './pipeline-function.js';
import type { WorkQueue } from './work-queue.js';

/** Function sizing per stage; the queues' visibility timeouts are derived from these timeouts. */
export const FUNCTION_SETTINGS = {
  http: { timeout: Duration.seconds(60), memorySize: 512 },
  browser: { timeout: Duration.seconds(120), memorySize: 2048 },
  transform: { timeout: Duration.seconds(60), memorySize: 1024 },
} as const;

/**
 * A browser job's own watchdog: the function timeout minus what the handler needs afterwards
 * (snapshots, raw writes, the ledger), so a hung browser is caught and the job retried cleanly
 * instead of the whole invocation being killed.
 */
export const BROWSER_JOB_TIMEOUT = Duration.seconds(FUNCTION_SETTINGS.browser.timeout.toSeconds() - 20);

export interface CollectorFunctionProps {
  /** Its kind, and whether it is the one that runs in the VPC (`http-vpc`, `browser-vpc`). */
  readonly group: CollectorGroup;
  /** The sources it collects: its raw-storage grants name exactly their prefixes. */
  readonly sources: readonly SourceDefinition[];
  readonly shared: SharedResources;
  /** Where a `-vpc` collector runs (context `sluice:vpc`). @default - not in a VPC */
  readonly vpc?: VpcPlacement;
}

/**
 * What Lambda needs to attach a function to a VPC (its network interfaces). The describe actions
 * have no resource-level permissions; the others are held to the deployment's account and region.
 */
const VPC_DESCRIBE_ACTIONS = ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'];
const VPC_INTERFACE_ACTIONS = [
  'ec2:AssignPrivateIpAddresses',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:UnassignPrivateIpAddresses',
];

/**
 * A collector: the HTTP or the browser one, for the sources of one source stack. Its environment
 * is the same whatever those sources are (a message's source and DLQ follow from its queue), and
 * its role may touch only what its own sources need: their raw prefixes, their queues, their
 * logins. Each source's pipeline (SourcePipeline) connects its queue with `consume`.
 */
export class CollectorFunction extends Construct {
  readonly kind: CollectorKind;
  readonly group: CollectorGroup;
  readonly sources: readonly SourceDefinition[];
  readonly pipelineFunction: PipelineFunction;
  /** The VPC it runs in, for a `-vpc` collector. */
  readonly vpc: VpcPlacement | undefined;

  constructor(scope: Construct, id: string, props: CollectorFunctionProps) {
    super(scope, id);
    const { group, sources, shared } = props;
    const kind = kindOfGroup(group);
    if (sources.length === 0) throw new Error(`a ${group} collector needs at least one source`);
    const wrongGroup = sources.filter((s) => collectorGroupOf(s) !== group).map((s) => s.name);
    if (wrongGroup.length > 0)
      throw new Error(`the ${group} collector cannot collect ${wrongGroup.join(', ')}`);
    const inVpc = group.endsWith('-vpc');
    if (inVpc && props.vpc === undefined)
      throw new Error(`the ${group} collector needs a VPC (context sluice:vpc)`);
    this.kind = kind;
    this.group = group;
    this.sources = sources;
    this.vpc = inVpc ? props.vpc : undefined;

    const common = { appName: shared.appName, environment: pipelineEnvironment(shared) };
    this.pipelineFunction =
      kind === 'http'
        ? new PipelineFunction(this, 'Function', {
            ...common,
            entry: 'functions/collector/http-handler.ts',
            description: inVpc ? 'Sluice collector: plain HTTP, in the VPC' : 'Sluice collector: plain HTTP',
            ...FUNCTION_SETTINGS.http,
            environment: {
              ...common.environment,
              HTTP_TIMEOUT_MS: '20000',
              MAX_BODY_BYTES: String(20 * 1024 * 1024),
            },
          })
        : new PipelineFunction(this, 'Function', {
            ...common,
            entry: 'functions/collector/browser-handler.ts',
            description: inVpc
              ? 'Sluice collector: headless Chromium, in the VPC'
              : 'Sluice collector: headless Chromium',
            ...FUNCTION_SETTINGS.browser,
            // @sparticuz/chromium ships an x86_64 Chromium only.
            architecture: Architecture.X86_64,
            environment: {
              ...common.environment,
              NAVIGATION_TIMEOUT_MS: '30000',
              READY_TIMEOUT_MS: '15000',
              JOB_TIMEOUT_MS: String(BROWSER_JOB_TIMEOUT.toMilliseconds()),
            },
            // playwright-core loads files beside its own code, so it ships as a node module; the
            // Chromium archives ship beside the bundle and are unpacked into /tmp at first launch.
            externalModules: ['playwright-core'],
            afterBundling: (inputDir, outputDir) => [
              `mkdir -p "${outputDir}/node_modules"`,
              `cp -R "${inputDir}/node_modules/playwright-core" "${outputDir}/node_modules/playwright-core"`,
              `cp -R "${inputDir}/node_modules/@sparticuz/chromium/bin" "${outputDir}/chromium-bin"`,
            ],
          });

    const fn = this.pipelineFunction.function;
    if (this.vpc !== undefined) {
      // Set on the template directly: the team names its subnets and security groups by ID, and
      // the function's own role gets exactly what Lambda needs for its network interfaces (the
      // AWS managed policy CDK would attach also writes any log group).
      (fn.node.defaultChild as CfnFunction).vpcConfig = {
        subnetIds: [...this.vpc.subnetIds],
        securityGroupIds: [...this.vpc.securityGroupIds],
      };
      Grant.addToPrincipal({ grantee: fn, actions: VPC_DESCRIBE_ACTIONS, resourceArns: ['*'] });
      Grant.addToPrincipal({
        grantee: fn,
        actions: VPC_INTERFACE_ACTIONS,
        resourceArns: [`arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:*/*`],
      });
    }
    const names = sources.map((s) => s.name);
    shared.rawBucket.grantAppendRaw(fn, names);
    // Reading back its own retried writes, and finding a collection a crashed delivery stored
    // (functions/adapters/raw-store.ts, functions/core/collect-job.ts): its own sources only.
    shared.rawBucket.grantReadRaw(fn, names);
    shared.rawBucket.grantListRaw(fn, names);
    grantItems(shared.ledgerTable, fn, 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    grantHandoff(shared, fn);
  }

  /** Its Lambda function. */
  get function() {
    return this.pipelineFunction.function;
  }

  /**
   * Consumes a source's jobs queue: the event source mapping with the source's batch size and
   * concurrency, and the right to dead-letter into the queue's DLQ.
   */
  consume(source: SourceDefinition, jobs: WorkQueue): void {
    if (!this.sources.includes(source)) {
      throw new Error(`the ${this.group} collector of ${this.node.path} does not collect ${source.name}`);
    }
    jobs.grantDeadLetter(this.function);
    this.function.addEventSource(
      new SqsEventSource(jobs.queue, {
        batchSize: source.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: source.maxConcurrency,
      }),
    );
  }

  /** Lets it read a source's login: the value only (Secret.grantRead would add DescribeSecret). */
  readLogin(secret: ISecret): void {
    Grant.addToPrincipal({
      grantee: this.function,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [secret.secretArn],
    });
  }
}
