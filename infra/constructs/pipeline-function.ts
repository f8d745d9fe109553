import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { metricsNamespace } from '../../functions/observability.js';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The Lambda runtime every Sluice function runs on. `engines` and `@types/node` in package.json
 * name the same Node major, and the bundles target it (test/infra/functions.test.ts holds the four
 * together). nodejs24.x: cdk-nag refuses anything but the latest runtime (AwsSolutions-L1), and
 * Lambda deprecated nodejs20.x on 2026-04-30.
 */
export const RUNTIME = Runtime.NODEJS_24_X;

function nodeMajorOf(runtime: Runtime): number {
  const major = /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1];
  if (major === undefined) throw new Error(`RUNTIME must be a nodejs<major>.x runtime, got ${runtime.name}`);
  return Number(major);
}

/** esbuild's target for the bundles: the runtime's own Node major. */
export const BUNDLE_TARGET = `node${nodeMajorOf(RUNTIME)}`;

export interface PipelineFunctionProps {
  /** The deployment's name: the function's metrics are published under it (functions/observability.ts). */
  readonly appName: string;
  /** Entry file relative to the project root, e.g. `functions/transform/handler.ts`. */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** @default Architecture.ARM_64 */
  readonly architecture?: Architecture;
  readonly environment?: { [key: string]: string };
  /** Packages kept out of the bundle (shipped beside it by `afterBundling`). @default - none */
  readonly externalModules?: string[];
  /** Shell commands run after esbuild, e.g. to copy node modules beside the bundle. @default - none */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * A Sluice Lambda function with the operational defaults baked in: ESM bundle with source maps,
 * Graviton unless told otherwise, X-Ray tracing, a log group with retention, Powertools settings.
 */
export class PipelineFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Kept when the function goes (the logs explain what it did), not after a failed first deploy.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    const afterBundling = props.afterBundling;
    const bundling: BundlingOptions = {
      format: OutputFormat.ESM,
      target: BUNDLE_TARGET,
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      // Bundle the AWS SDK too: the version tested is the version deployed.
      externalModules: props.externalModules ?? [],
      // Some CommonJS dependencies call require(); give the ESM bundle one.
      banner:
        "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
      ...(afterBundling === undefined
        ? {}
        : {
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling,
            },
          }),
    };
    // Its own role, allowed to write only to its own log group: the managed
    // AWSLambdaBasicExecutionRole would let it create and write any log group in the account.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: "Runs one Sluice function; writes only to that function's own log group",
    });
    this.logGroup.grantWrite(role);
    this.function = new NodejsFunction(this, 'Function', {
      role,
      entry: join(PROJECT_ROOT, props.entry),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      handler: 'handler',
      runtime: RUNTIME,
      architecture: props.architecture ?? Architecture.ARM_64,
      description: props.description,
      timeout: props.timeout,
      memorySize: props.memorySize,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      bundling,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'sluice',
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace(props.appName),
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
    });
    // Names the source entry in the template, for the local environment and for humans.
    (this.function.node.defaultChild as CfnFunction).addMetadata('sluice:entry', props.entry);
  }
}
