/**
 * `npm run limits` on the app a real operations team would have: the registry's sources plus 300
 * generated ones owned by 40 teams. Every template is checked against the AWS limits that stop a
 * deploy, with sizes measured on realistic values; cfn-lint reads the core stack and the first
 * and last source stack (the others are built the same way; `npm run limits` lints them all).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LimitsReport, renderLimits, runLimits } from '../../scripts/limits.js';
import { checkAssembly, LIMITS } from '../../scripts/limits-check.js';
import { sources } from '../../sources/registry.js';

let fleet: LimitsReport;
let registry: LimitsReport;

beforeAll(async () => {
  [fleet, registry] = await Promise.all([
    runLimits({ syntheticSources: 300, owners: 40, lint: 'sample' }),
    runLimits({ lint: 'none' }),
  ]);
}, 600_000);

/** The largest value of a limit over every stack of a report. */
function largest(report: LimitsReport, limit: string): number {
  return Math.max(...report.checks.filter((c) => c.limit === limit).map((c) => c.value));
}

describe('the app with 300 more sources owned by 40 teams', () => {
  it('is inside every limit, and cfn-lint finds nothing', () => {
    expect(fleet.sources).toBe(300 + sources.length);
    expect(fleet.violations).toEqual([]);
    expect(fleet.lint).toEqual([]);
    expect(fleet.ok).toBe(true);
  });

  it('spreads the sources over stacks that each stay well inside CloudFormation limits', () => {
    expect(fleet.stacks.length).toBeGreaterThan(10);
    for (const stack of fleet.stacks) {
      expect(stack.resources, stack.stack).toBeLessThanOrEqual(0.6 * LIMITS.resources.maximum);
      expect(stack.templateBytes, stack.stack).toBeLessThanOrEqual(0.6 * LIMITS.templateBytes.maximum);
    }
  });

  it('gives every function an environment no larger than with the registry alone', () => {
    expect(largest(fleet, LIMITS.environment.name)).toBe(largest(registry, LIMITS.environment.name));
  });

  it('keeps every dashboard far from 500 widgets', () => {
    expect(largest(fleet, LIMITS.widgets.name)).toBeLessThanOrEqual(200);
  });

  it('costs less than $2.50 per source a month in CloudWatch, and each more source under $2', () => {
    expect(fleet.cost.perSource).toBeLessThan(2.5);
    expect(fleet.cost.marginalPerSource).toBeLessThan(2);
    // Before: 14 series per source at $0.30.
    expect(fleet.cost.counts.perSourceSeries).toBeLessThan(14);
  });

  it('prints the headroom of each limit', () => {
    const text = renderLimits(fleet);

    expect(text).toMatch(
      new RegExp(`^${300 + sources.length} sources in \\d+ stacks, synthesized in [\\d.]+ s$`, 'm'),
    );
    for (const { name } of [
      LIMITS.resources,
      LIMITS.templateBytes,
      LIMITS.environment,
      LIMITS.rolePolicies,
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toContain('every template is inside every limit');
  });
});

describe('the check itself', () => {
  it('fails an app one stack of which would hold 65 sources', async () => {
    const crowded = await runLimits({
      syntheticSources: 60,
      owners: 4,
      lint: 'none',
      context: { 'sluice:sourcesPerStack': 100 },
    });

    expect(crowded.ok).toBe(false);
    expect(renderLimits(crowded)).toMatch(/does not synthesize.*greater than allowed maximum of 500/s);
  }, 300_000);

  it('reports a function environment over 4 KB, with the function and the value', () => {
    const stack = assemblyStack({
      Collector: {
        Type: 'AWS::Lambda::Function',
        Properties: { Environment: { Variables: { ROUTES: 'x'.repeat(5000) } } },
      },
    });

    const result = checkAssembly([stack]);

    expect(result.violations).toEqual([
      expect.objectContaining({ limit: LIMITS.environment.name, subject: 'Collector', maximum: 4096 }),
    ]);
  });

  it('measures a policy on its resolved values, not on its tokens', () => {
    const stack = assemblyStack({
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      Role: { Type: 'AWS::IAM::Role', Properties: {} },
      Policy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'Role' }],
          PolicyDocument: {
            Statement: Array.from({ length: 60 }, () => ({
              Effect: 'Allow',
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] },
            })),
          },
        },
      },
    });

    const [check] = checkAssembly([stack]).checks.filter((c) => c.limit === LIMITS.rolePolicies.name);

    // Each statement names the queue's ARN in a 14-character region under the GovCloud partition.
    expect(check?.value).toBeGreaterThan(
      60 * 'arn:aws-us-gov:sqs:ap-southeast-2:123456789012:Probe-Queue'.length,
    );
  });

  it('reads an assembly with no stack as nothing to check', () => {
    expect(checkAssembly([])).toEqual({ checks: [], violations: [], stacks: [] });
  });
});

/** A one-stack assembly around `resources`, its template written where the check reads its size. */
function assemblyStack(resources: {
  [id: string]: { Type: string; Properties: { [key: string]: unknown } };
}) {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-limits-check-'));
  const template = { Resources: resources };
  const templateFile = join(directory, 'Probe.template.json');
  writeFileSync(templateFile, JSON.stringify(template));
  return { id: 'Probe', stackName: 'Probe', templateFile, dependencies: [], template };
}
