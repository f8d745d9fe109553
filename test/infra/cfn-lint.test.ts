import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluiceApp } from './sluice-template.js';

const IGNORED_CHECKS = [
  // W3005 "dependency already enforced by a GetAtt": aws-cdk-lib itself adds these DependsOn
  // entries (every Function on its service role, Custom::S3BucketNotifications on the target
  // queue) next to the GetAtt it also emits. They are redundant, harmless, and not ours to remove.
  'W3005',
];

// The stack is environment-agnostic; lint against the region `cdk deploy` would target.
const REGION = process.env.CDK_DEFAULT_REGION ?? 'us-east-1';

let outdir: string;
let templatePaths: string[];

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'sluice-cfn-lint-'));
  const { app, stacks } = sluiceApp({ outdir });
  app.synth();
  templatePaths = stacks.map((stack) => join(outdir, stack.templateFile));
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('every synthesized template', () => {
  it('passes cfn-lint', () => {
    expect(templatePaths.length).toBeGreaterThan(1);
    const lint = spawnSync(
      'cfn-lint',
      [
        '--format',
        'parseable',
        '--regions',
        REGION,
        '--ignore-checks',
        ...IGNORED_CHECKS,
        '--',
        ...templatePaths,
      ],
      { encoding: 'utf8' },
    );

    const output = `${lint.error?.message ?? ''}${lint.stdout ?? ''}${lint.stderr ?? ''}`;
    expect(lint.status, `cfn-lint exited with ${lint.status}:\n${output}`).toBe(0);
  });
});
