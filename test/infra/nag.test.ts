/**
 * cdk-nag's AwsSolutions and Serverless packs run on every synth of the real app. These tests
 * make that explicit: a finding nobody acknowledged fails the synth, the app as it is has none
 * left, and every acknowledgement names one rule with a reason that says something.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sluiceApp } from './sluice-template.js';

const ValidationReport = z.object({
  pluginReports: z.array(
    z.object({
      pluginName: z.string(),
      violations: z.array(z.object({ ruleName: z.string() })),
      suppressedViolations: z
        .array(z.object({ acknowledgedId: z.string(), acknowledgedAt: z.string() }))
        .default([]),
    }),
  ),
});

/** What `Validations.acknowledge` records on a construct: `{ "<pack>::<rule>": reason }`. */
const AcknowledgedRules = z.record(z.string(), z.string());

const outdirs: string[] = [];

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** Synthesizes the app (after `change`, if any) and returns the synth error and the nag findings. */
function synthesize(change?: (built: ReturnType<typeof sluiceApp>) => void) {
  const outdir = mkdtempSync(join(tmpdir(), 'sluice-nag-'));
  outdirs.push(outdir);
  const built = sluiceApp({ outdir });
  change?.(built);
  let error: unknown;
  try {
    built.app.synth();
  } catch (caught) {
    error = caught;
  }
  let violations: string[] = [];
  let suppressed: string[] = [];
  try {
    const report = ValidationReport.parse(
      JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')),
    );
    violations = report.pluginReports.flatMap((plugin) => plugin.violations.map((v) => v.ruleName));
    suppressed = report.pluginReports.flatMap((plugin) =>
      plugin.suppressedViolations.map((v) => `${v.acknowledgedAt} ${v.acknowledgedId}`),
    );
  } catch {
    // no report: no plugin found anything
  }
  return { built, error, violations, suppressed };
}

/** Every acknowledgement in the app, as `<construct path> <pack>::<rule>`, with its reason. */
function acknowledgementsOf(built: ReturnType<typeof sluiceApp>) {
  return built.app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(AcknowledgedRules.parse(entry.data)).map(([id, reason]) => ({
          at: `${construct.node.path} ${id}`,
          id,
          reason,
        })),
      ),
  );
}

let real: ReturnType<typeof synthesize> | undefined;
/** The real app, synthesized once for the tests that only read it. */
function realApp(): ReturnType<typeof synthesize> {
  real ??= synthesize();
  return real;
}

describe('cdk-nag', () => {
  it('fails the synth on a finding nobody acknowledged, from both packs', () => {
    const { error, violations } = synthesize(({ sourceStacks }) => {
      const [stack] = sourceStacks;
      if (stack === undefined) throw new Error('the app has no source stack');
      new Queue(stack, 'UnprotectedProbe', { encryption: QueueEncryption.UNENCRYPTED });
    });

    expect(error).toBeInstanceOf(Error);
    expect(violations).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
    expect(violations).toContain('Serverless-SQSRedrivePolicy');
  });

  it('leaves no finding of the real app unacknowledged', () => {
    const { error, violations } = realApp();

    expect(violations).toEqual([]);
    expect(error).toBeUndefined();
  });

  it('acknowledges only findings that exist: an acknowledgement nothing needs is a stale excuse', () => {
    const { built, suppressed } = realApp();

    const unused = acknowledgementsOf(built)
      .map((a) => a.at)
      .filter((at) => !suppressed.includes(at));

    expect(suppressed.length).toBeGreaterThan(0);
    expect(unused).toEqual([]);
  });

  it('acknowledges findings one rule at a time, each with a specific reason', () => {
    const acknowledgements = acknowledgementsOf(realApp().built);

    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledgements) {
      expect(id, 'an acknowledgement names one rule of one pack').toMatch(
        /^(AwsSolutions::AwsSolutions|Serverless::Serverless)-[A-Za-z]+\d*(\[.+\])?$/,
      );
      expect(reason.length, `the reason for ${id} says too little: ${reason}`).toBeGreaterThanOrEqual(60);
    }
  });
});
