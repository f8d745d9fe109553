/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy --all` run this file (see cdk.json). It is one
 * core stack (shared storage, the transform, operations) and as many source stacks as the
 * registry needs (infra/source-stacks.ts), each far inside every CloudFormation limit.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Aws, Tags } from 'aws-cdk-lib';
import { z } from 'zod';
import { assertAppName, DEFAULT_APP_NAME } from '../functions/core/resource-names.js';
import type { SourceDefinition } from '../sources/define.js';
import { findParser } from '../sources/parsers.js';
import { fixtureSources, sources as registered } from '../sources/registry.js';
import { PROJECT_ROOT } from './constructs/pipeline-function.js';
import { CoreStack, DEFAULT_LEDGER_RETENTION_DAYS, type RawStorageSettings } from './core-stack.js';
import { acknowledgeCoreFindings, acknowledgeSourceStackFindings, addNagChecks } from './nag.js';
import { SourceStack } from './source-stack.js';
import {
  assertSourcesPerStack,
  assignSourceStacks,
  DEFAULT_SOURCES_PER_STACK,
  planSourceStacks,
  type SourceStackPlan,
  type StackAssignment,
} from './source-stacks.js';
import { vpcPlacementOf } from './vpc.js';

/** Where `npm run docs` pins which stack each registered source is deployed in. */
export const STACK_ASSIGNMENT_FILE = join(PROJECT_ROOT, 'infra', 'source-stacks.json');

export function runbookBaseUrlOf(app: App): string {
  const value: unknown = app.node.tryGetContext('sluice:runbookBaseUrl');
  if (typeof value !== 'string' || !/^https?:\/\//.test(value)) {
    throw new Error(
      `context sluice:runbookBaseUrl must be an http(s) URL (set it in cdk.json), got ${String(value)}`,
    );
  }
  return value;
}

/** The deployment's name (context `sluice:appName`, default `Sluice`): the core stack's name too. */
export function appNameOf(app: App): string {
  const value: unknown = app.node.tryGetContext('sluice:appName');
  return assertAppName(
    value === undefined || value === null || value === '' ? DEFAULT_APP_NAME : String(value),
  );
}

function positiveWholeNumber(app: App, key: string, fallback: number): number {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new Error(`context ${key} must be a positive whole number, got ${String(value)}`);
  }
  return number;
}

/** Sources per stack before a new one opens (context `sluice:sourcesPerStack`, default 25). */
export function sourcesPerStackOf(app: App): number {
  return assertSourcesPerStack(positiveWholeNumber(app, 'sluice:sourcesPerStack', DEFAULT_SOURCES_PER_STACK));
}

/**
 * Days a job's ledger items live after their last write (context `sluice:ledgerRetentionDays`,
 * default 400). It must outlast every source's dedupe window, or a redelivered job could be
 * collected twice; and a message can wait in SQS for up to 14 days.
 */
export function ledgerRetentionDaysOf(app: App, sources: readonly SourceDefinition[]): number {
  const days = positiveWholeNumber(app, 'sluice:ledgerRetentionDays', DEFAULT_LEDGER_RETENTION_DAYS);
  const longestWindowDays = Math.max(14, ...sources.map((s) => s.dedupeWindowSeconds / 86_400));
  if (days <= longestWindowDays) {
    throw new Error(
      `context sluice:ledgerRetentionDays must be longer than every dedupe window and than SQS keeps a message (${longestWindowDays} days), got ${days}`,
    );
  }
  return days;
}

/**
 * Raw storage settings from context (cdk.json):
 *   - `sluice:rawBreakGlassRole`: the role name (in the stack's account) or role ARN that alone may
 *     delete raw objects; absent means nobody may, short of changing the bucket policy;
 *   - `sluice:rawObjectLockGovernanceDays`: default Object Lock retention in governance mode.
 */
export function rawStorageOf(app: App): RawStorageSettings {
  const role: unknown = app.node.tryGetContext('sluice:rawBreakGlassRole');
  const days: unknown = app.node.tryGetContext('sluice:rawObjectLockGovernanceDays');
  let breakGlassRoleArn: string | undefined;
  if (role !== undefined && role !== null && role !== '') {
    const text = String(role);
    if (/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(text)) breakGlassRoleArn = text;
    else if (/^[\w+=,.@-]{1,64}$/.test(text))
      breakGlassRoleArn = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${text}`;
    else {
      throw new Error(`context sluice:rawBreakGlassRole must be an IAM role name or role ARN, got ${text}`);
    }
  }
  let objectLockGovernanceDays: number | undefined;
  if (days !== undefined && days !== null && days !== '') {
    objectLockGovernanceDays = Number(days);
    if (!Number.isInteger(objectLockGovernanceDays) || objectLockGovernanceDays < 1) {
      throw new Error(
        `context sluice:rawObjectLockGovernanceDays must be a positive whole number of days, got ${String(days)}`,
      );
    }
  }
  return {
    ...(breakGlassRoleArn === undefined ? {} : { breakGlassRoleArn }),
    ...(objectLockGovernanceDays === undefined ? {} : { objectLockGovernanceDays }),
  };
}

/** Whether the test-fixture sources are synthesized too (context `sluice:fixtureSources`; local only). */
export function withFixtureSources(app: App): boolean {
  const value: unknown = app.node.tryGetContext('sluice:fixtureSources');
  return value === true || value === 'true';
}

function flag(app: App, key: string): boolean {
  const value: unknown = app.node.tryGetContext(key);
  return value === true || value === 'true';
}

const PinnedAssignment = z.record(z.string(), z.string());

/** The pinned stack of each registered source (`infra/source-stacks.json`); none when absent. */
export function readStackAssignment(file: string = STACK_ASSIGNMENT_FILE): StackAssignment {
  if (!existsSync(file)) return {};
  const parsed = PinnedAssignment.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new Error(`${file} must map source names to stack keys: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * Every follow-up target a source names is a source of the app (its queue exists to be granted),
 * and a parser that reads follow-ups belongs to a source that declares how far they may go.
 */
export function assertFollowUpTargets(sources: readonly SourceDefinition[]): void {
  const names = new Set(sources.map((s) => s.name));
  for (const source of sources) {
    const unknown = (source.followUps?.targets ?? []).filter((t) => !names.has(t));
    if (unknown.length > 0) {
      throw new Error(
        `${source.name}: followUps.targets names ${unknown.join(', ')}, which the app has no source of`,
      );
    }
    if (findParser(source.name)?.followUps !== undefined && source.followUps === undefined) {
      throw new Error(
        `${source.name}: its parser reads follow-ups, but the source declares no followUps bounds`,
      );
    }
  }
}

export interface BuildOptions {
  /** Sources besides the registry's (the limits check's synthetic fleet). @default - none */
  readonly extraSources?: readonly SourceDefinition[];
  /** @default the pinned assignment in infra/source-stacks.json */
  readonly pinned?: StackAssignment;
}

export interface SluiceApp {
  readonly app: App;
  readonly appName: string;
  readonly core: CoreStack;
  readonly sourceStacks: readonly SourceStack[];
  /** The core stack first, then the source stacks by key. */
  readonly stacks: readonly (CoreStack | SourceStack)[];
  readonly plan: readonly SourceStackPlan[];
}

export function buildApp(app: App = new App(), options: BuildOptions = {}): SluiceApp {
  const appName = appNameOf(app);
  const sources = [
    ...registered,
    ...(withFixtureSources(app) ? fixtureSources : []),
    ...(options.extraSources ?? []),
  ];
  const duplicate = sources.find((s, i) => sources.findIndex((t) => t.name === s.name) !== i);
  if (duplicate !== undefined) throw new Error(`two sources are named ${duplicate.name}`);
  assertFollowUpTargets(sources);
  const plan = planSourceStacks(
    appName,
    sources,
    assignSourceStacks(sources, options.pinned ?? readStackAssignment(), sourcesPerStackOf(app)),
  );
  // Private networks only on purpose: a source's private ranges need the team's VPC named.
  const vpc = vpcPlacementOf(app, sources);
  // Every stack in the same account and region: the source stacks find the core's alarm topics by name.
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

  const core = new CoreStack(app, appName, {
    appName,
    sources,
    sourceStacks: plan,
    runbookBaseUrl: runbookBaseUrlOf(app),
    rawStorage: rawStorageOf(app),
    ledgerRetentionDays: ledgerRetentionDaysOf(app, sources),
    tableDeletionProtection: flag(app, 'sluice:tableDeletionProtection'),
    fixtureSources: withFixtureSources(app),
    description: `Sluice ${appName}: shared storage, the transform and operations`,
    env,
  });
  const sourceStacks = plan.map(
    (stackPlan) =>
      new SourceStack(app, {
        plan: stackPlan,
        shared: core.shared,
        coreStackName: core.stackName,
        ...(vpc === undefined ? {} : { vpc }),
        description: `Sluice ${appName}: queues, collectors and alarms of ${stackPlan.sources.length} source(s)`,
        env,
      }),
  );
  for (const stack of sourceStacks) stack.addStackDependency(core, 'alarm topics are found by name');
  const stacks = [core, ...sourceStacks];
  // How the CLI finds the app's stacks in AWS; every resource carries it too.
  // (Not on dashboards: cfn-lint's resource specification does not know their Tags yet.)
  for (const stack of stacks) {
    Tags.of(stack).add('sluice:app', appName, { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] });
  }

  // cdk-nag checks every synth; an unacknowledged finding fails it.
  addNagChecks(app);
  acknowledgeCoreFindings(core);
  for (const stack of sourceStacks) acknowledgeSourceStackFindings(stack, core);
  return { app, appName, core, sourceStacks, stacks, plan };
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  buildApp().app.synth();
}
