/**
 * `npm run limits`: synthesizes the deployable app and checks every template against the AWS
 * limits that stop a deploy, printing the headroom for each; `--synthetic-sources N --owners K`
 * adds N generated sources owned by K teams to the registry's, `--out DIR` keeps the synthesized
 * app there. Exits 1 when any limit is exceeded or cfn-lint finds a problem.
 *
 * The app is synthesized as `cdk synth` does (cdk.json's context, cdk-nag included) without
 * running esbuild: the bundles do not change a template's size or its limits.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { App } from 'aws-cdk-lib';
import { z } from 'zod';
import { buildApp } from '../infra/app.js';
import { privateNetworkSources } from '../infra/vpc.js';
import { type AssemblyStack, readAssembly } from '../local/cloud-assembly.js';
import type { SourceDefinition } from '../sources/define.js';
import { checkAssembly, LIMITS, type LimitCheck, type LimitsResult } from './limits-check.js';
import { CLOUDWATCH_PRICES_AS_OF, type CloudWatchCost, cloudWatchCost } from './limits-cost.js';
import { syntheticSources } from './limits-synthetic-sources.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface LimitsOptions {
  readonly syntheticSources?: number;
  /** @default 12 */
  readonly owners?: number;
  /** Keep the synthesized app here. @default - a temporary directory, removed afterwards */
  readonly outdir?: string;
  /**
   * Run cfn-lint on every template (`all`), on the core stack and the first and last source
   * stack (`sample`: the others are built the same way; the infra test uses it), or not at all.
   * @default 'all'
   */
  readonly lint?: 'all' | 'sample' | 'none';
  /** Sources besides the registry's and the synthetic ones. @default - none */
  readonly extraSources?: readonly SourceDefinition[];
  /** Extra context, e.g. `sluice:sourcesPerStack`. @default - cdk.json's */
  readonly context?: { readonly [key: string]: unknown };
}

export interface LintFinding {
  readonly template: string;
  readonly line: string;
}

export interface LimitsReport extends LimitsResult {
  /** Why the app did not synthesize (CDK refuses a stack of more than 500 resources itself). */
  readonly synthError: string | undefined;
  readonly sources: number;
  readonly synthMs: number;
  readonly cost: CloudWatchCost;
  readonly lint: readonly LintFinding[] | undefined;
  /** The stacks cfn-lint read. */
  readonly linted: readonly string[];
  readonly assembly: readonly AssemblyStack[];
  /**
   * Sources that reach private ranges (network.privateCidrs), each collected by a collector in the
   * VPC named by `sluice:vpc`: the one way past the egress guard's public-only rule, on purpose.
   */
  readonly privateNetworks: readonly {
    readonly source: string;
    readonly stack: string;
    readonly cidrs: readonly string[];
  }[];
  readonly ok: boolean;
}

/** W3005 (a DependsOn a GetAtt already implies) comes from aws-cdk-lib itself; see cfn-lint.test.ts. */
export const CFN_LINT_IGNORED = ['W3005'];

/** cfn-lint on one template; a finding is one line of its parseable output. */
function lintOne(template: string, region: string): Promise<LintFinding[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      'cfn-lint',
      ['--format', 'parseable', '--regions', region, '--ignore-checks', ...CFN_LINT_IGNORED, '--', template],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => reject(new Error(`cfn-lint could not run: ${error.message}`)));
    child.on('close', (code) => {
      const lines = stdout.split('\n').filter((line) => line.trim() !== '');
      if (code !== 0 && lines.length === 0)
        reject(new Error(`cfn-lint exited with ${code} on ${template}: ${stderr}`));
      else resolvePromise(lines.map((line) => ({ template, line })));
    });
  });
}

/** cfn-lint on every template, as many at once as the machine has cores (each takes seconds). */
export async function cfnLint(templates: readonly string[], region = 'us-east-1'): Promise<LintFinding[]> {
  const findings: LintFinding[] = [];
  const queue = [...templates];
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift())
      findings.push(...(await lintOne(next, region)));
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(availableParallelism(), queue.length)) }, worker),
  );
  return findings;
}

const CdkJson = z.object({ context: z.record(z.string(), z.unknown()) });

export async function runLimits(options: LimitsOptions = {}): Promise<LimitsReport> {
  const outdir = options.outdir ?? mkdtempSync(join(tmpdir(), 'sluice-limits-'));
  if (options.outdir !== undefined) {
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
  }
  try {
    const started = Date.now();
    const context = CdkJson.parse(JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8'))).context;
    const app = new App({
      outdir,
      // cfn-lint below validates the templates; the built-in validator would only repeat it.
      builtinCloudFormationValidation: false,
      context: { ...context, ...options.context, 'aws:cdk:bundling-stacks': [] },
    });
    const extra = syntheticSources({ sources: options.syntheticSources ?? 0, owners: options.owners ?? 12 });
    const built = buildApp(app, { extraSources: [...extra, ...(options.extraSources ?? [])] });
    const sources = built.core.sources.length;
    const privateNetworks = built.plan.flatMap((stack) =>
      privateNetworkSources(stack.sources).map((s) => ({
        source: s.name,
        stack: stack.stackName,
        cidrs: s.network?.privateCidrs ?? [],
      })),
    );
    try {
      app.synth();
    } catch (error) {
      return {
        checks: [],
        violations: [],
        stacks: [],
        synthError: (error as Error).message,
        sources,
        synthMs: Date.now() - started,
        cost: cloudWatchCost([], sources),
        lint: undefined,
        linted: [],
        assembly: [],
        privateNetworks,
        ok: false,
      };
    }
    const synthMs = Date.now() - started;
    const assembly = readAssembly(outdir);
    const result = checkAssembly(assembly);
    const lintMode = options.lint ?? 'all';
    // The assembly is in deployment order: the core stack, then the source stacks by key.
    const linted =
      lintMode === 'all' ? assembly : assembly.filter((_, i) => i <= 1 || i === assembly.length - 1);
    const lint = lintMode === 'none' ? undefined : await cfnLint(linted.map((s) => s.templateFile));
    return {
      ...result,
      synthError: undefined,
      sources,
      synthMs,
      cost: cloudWatchCost(assembly, sources),
      lint,
      linted: lintMode === 'none' ? [] : linted.map((s) => s.stackName),
      assembly,
      privateNetworks,
      ok: result.violations.length === 0 && (lint === undefined || lint.length === 0),
    };
  } finally {
    if (options.outdir === undefined) rmSync(outdir, { recursive: true, force: true });
  }
}

function percent(check: LimitCheck): string {
  return `${((100 * check.value) / check.maximum).toFixed(0)}%`;
}

/** The report as text: a line per stack, the largest of each limit, violations, cost. */
export function renderLimits(report: LimitsReport): string {
  if (report.synthError !== undefined) {
    return `${report.sources} sources: the app does not synthesize, so it would not deploy:\n  ${report.synthError}`;
  }
  const largestOf = (limit: string) =>
    report.stacks
      .map((s) => s.largest[limit])
      .filter((c): c is LimitCheck => c !== undefined)
      .sort((a, b) => b.value / b.maximum - a.value / a.maximum)[0];
  const lines = [
    `${report.sources} sources in ${report.stacks.length} stacks, synthesized in ${(report.synthMs / 1000).toFixed(1)} s`,
    '',
    'stack                        resources        template bytes        environment  policy (role)  widgets',
  ];
  for (const stack of report.stacks) {
    const env = stack.largest[LIMITS.environment.name];
    const policy = stack.largest[LIMITS.rolePolicies.name];
    const widgets = stack.largest[LIMITS.widgets.name];
    lines.push(
      [
        stack.stack.padEnd(28),
        `${stack.resources}/500`.padStart(9),
        `(${Math.round((100 * stack.resources) / 500)}%)`.padStart(6),
        `${stack.templateBytes}`.padStart(10),
        `(${Math.round(stack.templateBytes / 10_000)}%)`.padStart(6),
        (env === undefined ? '—' : `${env.value} B`).padStart(14),
        (policy === undefined ? '—' : `${policy.value}`).padStart(14),
        (widgets === undefined ? '—' : `${widgets.value}`).padStart(8),
      ].join(' '),
    );
  }
  lines.push('', 'largest of each limit, whole app (value / limit, share used):');
  for (const { name } of Object.values(LIMITS)) {
    const check = largestOf(name);
    if (check === undefined) continue;
    lines.push(
      `  ${name.padEnd(40)} ${String(check.value).padStart(9)} / ${String(check.maximum).padEnd(9)} ${percent(check).padStart(4)}  ${check.stack} ${check.subject}`,
    );
  }
  const c = report.cost;
  lines.push(
    '',
    `CloudWatch, per month (us-east-1 list prices of ${CLOUDWATCH_PRICES_AS_OF}, every series billed every hour):`,
    `  custom metrics  ${c.counts.perSourceSeries} per source + ${c.counts.fleetSeries} fleet-wide  $${c.monthly.metrics.toFixed(2)}`,
    `  alarms          ${c.counts.alarms} reading ${c.counts.alarmMetrics} metrics              $${c.monthly.alarms.toFixed(2)}`,
    `  composites      ${c.counts.compositeAlarms}                                  $${c.monthly.compositeAlarms.toFixed(2)}`,
    `  dashboards      ${c.counts.dashboards} (3 free)                           $${c.monthly.dashboards.toFixed(2)}`,
    `  total $${c.monthly.total.toFixed(2)} = $${c.perSource.toFixed(2)} per source; each more source adds $${c.marginalPerSource.toFixed(2)}`,
  );
  lines.push(
    '',
    report.privateNetworks.length === 0
      ? 'private networks: none (every collector reaches public addresses only)'
      : `private networks: ${report.privateNetworks.length} source(s), collected in the VPC named by sluice:vpc:`,
    ...report.privateNetworks.map(
      (p) => `  ${p.source.padEnd(30)} ${p.stack.padEnd(22)} ${p.cidrs.join(', ')}`,
    ),
  );
  if (report.lint !== undefined) {
    lines.push(
      '',
      `cfn-lint (${report.linted.length} template(s)): ${report.lint.length === 0 ? 'no findings' : `${report.lint.length} finding(s)`}`,
    );
    for (const finding of report.lint.slice(0, 50)) lines.push(`  ${finding.line}`);
  }
  if (report.violations.length > 0) {
    lines.push('', `LIMITS EXCEEDED (${report.violations.length}):`);
    for (const v of report.violations)
      lines.push(`  ${v.stack} ${v.subject}: ${v.limit} ${v.value} > ${v.maximum}`);
  }
  lines.push('', report.ok ? 'every template is inside every limit' : 'the app would not deploy as it is');
  return lines.join('\n');
}

function wholeNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a whole number, got ${text}`);
    process.exit(2);
  }
  return value;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      'synthetic-sources': { type: 'string' },
      owners: { type: 'string' },
      out: { type: 'string' },
      'no-lint': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: npm run limits -- [--synthetic-sources N] [--owners K] [--out DIR] [--no-lint] [--json]
  --synthetic-sources N  add N generated sources (HTTP, browser and login sources) to the registry's
  --owners K             the generated sources' owning teams (default 12)
  --out DIR              keep the synthesized app in DIR (default: a temporary directory)
  --no-lint              skip cfn-lint
  --json                 print the report as JSON`);
    process.exit(0);
  }
  const report = await runLimits({
    syntheticSources: wholeNumber('synthetic-sources', values['synthetic-sources'], 0),
    owners: Math.max(1, wholeNumber('owners', values.owners, 12)),
    ...(values.out === undefined ? {} : { outdir: resolve(values.out) }),
    lint: values['no-lint'] ? 'none' : 'all',
  });
  if (values.json) {
    const { assembly: _assembly, ...rest } = report;
    console.log(JSON.stringify(rest, null, 2));
  } else console.log(renderLimits(report));
  process.exit(report.ok ? 0 : 1);
}
