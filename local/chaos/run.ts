/**
 * `npm run chaos`: at least 1,000 jobs across every demo source through the local pipeline while
 * faults are injected, then a checker that accounts for every job. Prints the figures table,
 * writes chaos-report.json, and exits 0 only when every invariant is zero and the run drained.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmulatorMissingError } from '../emulator.js';
import { PROJECT_ROOT } from '../paths.js';
import { renderFigures } from './figures.js';
import { DEFAULT_CHAOS_RATES, DEFAULT_CHAOS_SEED, parseRates, rateNames } from './plan.js';
import { runChaosScenario } from './scenario.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    seed: { type: 'string', default: DEFAULT_CHAOS_SEED },
    rates: { type: 'string', default: '' },
    'drain-timeout-minutes': { type: 'string', default: '60' },
    'no-synth': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm run chaos -- [--jobs N] [--seed S] [--rates name=value,...] [--no-synth]
  --jobs N                     jobs to send, spread over every demo source (default 1000)
  --seed S                     the run's seed: the same seed plans the same faults (default ${DEFAULT_CHAOS_SEED})
  --rates name=value,...       override fault rates (0..1); names and defaults:
${rateNames()
  .map((name) => {
    const [outer = '', inner] = name.split('.');
    const group = (DEFAULT_CHAOS_RATES as unknown as { [key: string]: number | { [key: string]: number } })[
      outer
    ];
    const value = inner === undefined ? group : typeof group === 'object' ? group[inner] : undefined;
    return `                                 ${name.padEnd(34)} ${value}`;
  })
  .join('\n')}
  --drain-timeout-minutes M    stop waiting for the queues to empty after M minutes (default 60)
  --no-synth                   reuse cdk.out instead of synthesizing first`);
  process.exit(0);
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const jobs = Number(values.jobs);
if (!Number.isInteger(jobs) || jobs < 1) fail(`--jobs must be a positive integer, got ${values.jobs}`);
const drainMinutes = Number(values['drain-timeout-minutes']);
if (!(drainMinutes > 0))
  fail(`--drain-timeout-minutes must be a positive number, got ${values['drain-timeout-minutes']}`);
let rates = DEFAULT_CHAOS_RATES;
try {
  rates = parseRates(values.rates);
} catch (error) {
  fail(`--rates: ${(error as Error).message}`);
}

try {
  const report = await runChaosScenario({
    jobs,
    seed: values.seed,
    rates,
    synth: !values['no-synth'],
    drainTimeoutMs: drainMinutes * 60_000,
    onProgress: (line) => console.log(`• ${line}`),
  });
  const path = join(PROJECT_ROOT, 'chaos-report.json');
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n${renderFigures(report)}\n\nreport: ${path}\nlogs:   ${report.logDir}`);
  process.exitCode = report.check.ok && report.drained ? 0 : 1;
} catch (error) {
  if (error instanceof EmulatorMissingError) {
    console.error(error.message);
    process.exitCode = 3;
  } else {
    throw error;
  }
}
