/** The CDK app: `npx cdk synth` / `npx cdk deploy` run this file (see cdk.json). */
import { App } from 'aws-cdk-lib';
import { sources } from '../sources/registry.js';
import { SluiceStack } from './sluice-stack.js';
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

export function buildApp(app: App = new App()): { app: App; stack: SluiceStack } {
  const stack = new SluiceStack(app, STACK_NAME, {
    sources,
    runbookBaseUrl: runbookBaseUrlOf(app),
    description: 'Sluice: production-grade collection pipeline (queues, collectors, raw storage, transforms)',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  return { app, stack };
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  buildApp().app.synth();
}
