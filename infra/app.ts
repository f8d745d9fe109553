/** The CDK app: `npx cdk synth` / `npx cdk deploy` run this file (see cdk.json). */
import { App, Aws } from 'aws-cdk-lib';
import { fixtureSources, sources } from '../sources/registry.js';
import { acknowledgeNagFindings, addNagChecks } from './nag.js';
import { type RawStorageSettings, SluiceStack } from './sluice-stack.js';
import { STACK_NAME } from './stack-name.js';

export function runbookBaseUrlOf(app: App): string {
  const value: unknown = app.node.tryGetContext('sluice:runbookBaseUrl');
  if (typeof value !== 'string' || !/^https?:\/\//.test(value)) {
    throw new Error(
      `context sluice:runbookBaseUrl must be an http(s) URL (set it in cdk.json), got ${String(value)}`,
    );
  }
  return value;
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

export function buildApp(app: App = new App()): { app: App; stack: SluiceStack } {
  const stack = new SluiceStack(app, STACK_NAME, {
    sources: withFixtureSources(app) ? [...sources, ...fixtureSources] : sources,
    runbookBaseUrl: runbookBaseUrlOf(app),
    rawStorage: rawStorageOf(app),
    description: 'Sluice: production-grade collection pipeline (queues, collectors, raw storage, transforms)',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // cdk-nag checks every synth; an unacknowledged finding fails it.
  addNagChecks(app);
  acknowledgeNagFindings(stack);
  return { app, stack };
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  buildApp().app.synth();
}
