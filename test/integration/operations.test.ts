/**
 * Operating Sluice against the local environment: the `sluice` CLI (in-process and as the bin),
 * CloudWatch metrics from the functions' EMF lines, the scheduled freshness checker, and one
 * trace ID on every log line of a job. Real bundles, moto, the demo site.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../cli/commands/status.js';
import { runCli } from '../../cli/main.js';
import { resourcesFrom } from '../../cli/target.js';
import { DynamoSnsHandoffDesk } from '../../functions/adapters/handoff-desk.js';
import { DynamoJobLedger } from '../../functions/adapters/job-ledger.js';
import { SecretsManagerCredentials } from '../../functions/adapters/source-credentials.js';
import { METRICS_NAMESPACE, MetricName, sourceDimensions } from '../../functions/observability.js';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.js';
import { PROJECT_ROOT } from '../../local/paths.js';
import { credentialShapeOf } from '../../sources/define.js';
import { sources } from '../../sources/registry.js';
import { eventually } from './support.js';

let env: LocalEnvironment;
let scratch: string;
let envFile: string;
const logLines: { fn: string; line: string }[] = [];

beforeAll(async () => {
  env = await startLocalEnvironment({ synth: false, onLogLine: (fn, line) => logLines.push({ fn, line }) });
  scratch = mkdtempSync(join(tmpdir(), 'sluice-ops-'));
  envFile = join(scratch, 'local-env.json');
  writeFileSync(envFile, JSON.stringify(env.describe()));
});

afterAll(async () => {
  await env?.stop();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

async function sluice(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['--local', '--local-env', envFile, ...args], {
    stdout: (text) => {
      out += `${text}\n`;
    },
    stderr: (text) => {
      err += `${text}\n`;
    },
  });
  return { code, out, err };
}

async function jobStatus(jobKey: string): Promise<string | undefined> {
  const items = await new DynamoJobLedger(env.clients.documents, env.ledgerTable).history(jobKey);
  return items.find((i) => i.kind === 'job')?.status as string | undefined;
}

const finished = (jobKey: string) => async () => {
  const status = await jobStatus(jobKey);
  return status === 'transformed' || status === 'dead-lettered' || status === 'handed-off'
    ? status
    : undefined;
};

let manual: { jobKey: string; traceId: string };
const badJobId = `it-bad-${randomUUID()}`;

describe('sluice enqueue', () => {
  it('sends a manual re-run with a fresh job key that ends as records', async () => {
    const { code, out } = await sluice('enqueue', 'demo-catalog', '{"category":"tools","page":2}');

    expect(code).toBe(0);
    const jobKey = /job key\s+(\S+)/.exec(out)?.[1] ?? '';
    const traceId = /trace ID\s+(\S+)/.exec(out)?.[1] ?? '';
    expect(jobKey).toMatch(/^id-manual-\d{8}T\d{6}-[0-9a-f]{6}$/);
    manual = { jobKey, traceId };
    expect(await eventually('the manual job to finish', finished(jobKey))).toBe('transformed');
  });

  it('refuses a source that does not exist, naming the known ones', async () => {
    const { code, err } = await sluice('enqueue', 'demo-nope', '{}');

    expect(code).toBe(1);
    expect(err).toContain(
      `unknown source "demo-nope"; known sources: ${sources.map((x) => x.name).join(', ')}`,
    );
  });

  it("refuses an input the source's schema rejects, before sending anything", async () => {
    const { code, err } = await sluice('enqueue', 'demo-catalog', '{"category":"tools","page":0}');

    expect(code).toBe(2);
    expect(err).toContain('input is not valid for demo-catalog: page:');
  });
});

describe('sluice job', () => {
  it('shows every attempt with its outcome, the raw keys and the records written, by job key', async () => {
    const { code, out } = await sluice('job', manual.jobKey);

    expect(code).toBe(0);
    expect(out).toContain(`job ${manual.jobKey}`);
    expect(out).toContain(`trace ID      ${manual.traceId}`);
    expect(out).toContain('input         {"category":"tools","page":2}');
    expect(out).toMatch(/1\. collect\s+receive #1 .* collected/);
    expect(out).toMatch(/raw\s+raw\/source=demo-catalog\/dt=\d{4}-\d{2}-\d{2}\/.+\/response\.html/);
    expect(out).toMatch(/2\. transform receive #1 .* transformed/);
    expect(out).toContain('records   created 20, updated 0, unchanged 0, stale 0');
  });

  it('finds the same job by its trace ID', async () => {
    const { code, out } = await sluice('job', manual.traceId);

    expect(code).toBe(0);
    expect(out).toContain(`job ${manual.jobKey}`);
  });

  it('says clearly when no job has that key or trace ID', async () => {
    const { code, err } = await sluice('job', 'id-no-such-job');

    expect(code).toBe(1);
    expect(err).toContain('no job with key or trace ID "id-no-such-job" in the job ledger');
  });
});

describe('one trace ID per job', () => {
  it("is on every log line of the job's run, with the input, outcome, duration and branches", () => {
    const lines = logLines
      .filter(({ line }) => line.startsWith('{"level"'))
      .map(({ fn, line }) => ({ fn, entry: JSON.parse(line) as { [key: string]: unknown } }))
      .filter(({ entry }) => entry.jobKey === manual.jobKey);

    // Functions are `<stack>.<logical ID>` locally: a source stack's collector, the core's transform.
    expect(lines.map((l) => l.fn).some((fn) => /^Sluice-Sources-\d+\.HttpCollector/.test(fn))).toBe(true);
    expect(lines.map((l) => l.fn).some((fn) => fn.startsWith('Sluice.Transform'))).toBe(true);
    for (const { entry } of lines) {
      expect(entry).toMatchObject({ traceId: manual.traceId, input: { category: 'tools', page: 2 } });
    }
    const collected = lines.find((l) => l.entry.message === 'job collected')?.entry;
    expect(collected).toMatchObject({ outcome: 'collected', branches: ['http-get'], source: 'demo-catalog' });
    expect(collected?.durationMs).toEqual(expect.any(Number));
    const transformed = lines.find((l) => l.entry.message === 'manifest transformed')?.entry;
    expect(transformed).toMatchObject({ outcome: 'transformed', freshness: 'advanced' });
  });
});

describe('metrics and freshness', () => {
  it('the freshness checker publishes data age on its schedule, into CloudWatch', async () => {
    const now = new Date();
    const value = await eventually(
      'a DataAge datapoint for demo-catalog',
      async () => {
        const { MetricDataResults = [] } = await env.clients.cloudwatch.send(
          new GetMetricDataCommand({
            StartTime: new Date(now.getTime() - 600_000),
            EndTime: new Date(Date.now() + 60_000),
            MetricDataQueries: [
              {
                Id: 'age',
                MetricStat: {
                  Metric: {
                    Namespace: METRICS_NAMESPACE,
                    MetricName: MetricName.DataAge,
                    Dimensions: Object.entries(sourceDimensions('demo-catalog')).map(([Name, Value]) => ({
                      Name,
                      Value,
                    })),
                  },
                  Period: 60,
                  Stat: 'Maximum',
                },
              },
            ],
          }),
        );
        return MetricDataResults[0]?.Values?.[0];
      },
      60_000,
      1000,
    );

    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThan(600);
  });

  it('sluice status reads the SLIs from CloudWatch, the queues, the ledger and the tasks', async () => {
    const report = await eventually('status with the manual job counted', async () => {
      const { code, out } = await sluice('status', '--json');
      if (code !== 0) return undefined;
      const parsed = JSON.parse(out) as StatusReport;
      const catalog = parsed.sources.find((s) => s.source === 'demo-catalog');
      return catalog !== undefined && catalog.jobs.succeeded >= 1 && parsed.pipeline.records.written >= 20
        ? parsed
        : undefined;
    });
    const catalog = report.sources.find((s) => s.source === 'demo-catalog');

    expect(catalog).toMatchObject({
      successRate: 100,
      slaSeconds: 24 * 3600,
      owner: 'team-collection',
      queue: { waiting: 0 },
    });
    expect(catalog?.jobs.failed).toBe(0);
    expect(catalog?.latencyMs.collectionAverage).toBeGreaterThan(0);
    expect(report.pipeline.endToEndLatencyMs.max).toBeGreaterThan(0);
    expect(catalog?.dataAgeSeconds).toBeLessThan(600);
    expect(catalog?.newestTraceId).toBe(manual.traceId);
    expect(report.sources.find((s) => s.source === 'demo-rates')?.attention).toContain('no records yet');
    const transform = report.pipeline.functions.find((f) => f.role === 'transform');
    expect(transform?.invocations).toBeGreaterThanOrEqual(1);
    expect(transform?.errors).toBe(0);
  });

  it('sluice status refuses a source that does not exist', async () => {
    const { code, err } = await sluice('status', '--source', 'demo-nope');

    expect(code).toBe(1);
    expect(err).toContain('unknown source "demo-nope"');
  });
});

describe('sluice dlq', () => {
  beforeAll(async () => {
    await env.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: env.sourceQueues('demo-catalog').jobs.url,
        MessageBody: JSON.stringify({
          source: 'demo-catalog',
          input: { category: 'tools', page: -3 },
          jobId: badJobId,
        }),
      }),
    );
    await eventually('the invalid job to be dead-lettered', finished(`id-${badJobId}`));
  });

  it('lists the dead-lettered job with its reason and attempts, and leaves it in the queue', async () => {
    const first = await sluice('dlq', 'list', 'demo-catalog');
    const second = await sluice('dlq', 'list', 'demo-catalog');

    expect(first.code).toBe(0);
    expect(first.out).toMatch(new RegExp(`id-${badJobId}\\s+input-invalid\\s+1\\s+input is not valid`));
    expect(second.out).toContain(`id-${badJobId}`);
  });

  it('shows the message body and points to the job history', async () => {
    const { code, out } = await sluice('dlq', 'show', 'demo-catalog', `id-${badJobId}`);

    expect(code).toBe(0);
    expect(out).toContain(`(history: sluice job id-${badJobId})`);
    expect(out).toContain('"page": -3');
  });

  it('requeues a message to its queue, where it runs again, and notes it in the ledger', async () => {
    const { code, out } = await sluice(
      'dlq',
      'requeue',
      'demo-catalog',
      `id-${badJobId}`,
      '--by',
      'it-operator',
    );

    expect(code).toBe(0);
    expect(out).toContain('requeued 1 message(s)');
    // Still invalid: it runs again and comes back to the DLQ with a second attempt in the ledger.
    await eventually('the second attempt', async () => {
      const items = await new DynamoJobLedger(env.clients.documents, env.ledgerTable).history(
        `id-${badJobId}`,
      );
      return items.filter((i) => i.kind === 'attempt').length >= 2 ? true : undefined;
    });
    const history = await sluice('job', `id-${badJobId}`);
    expect(history.out).toMatch(
      /operator .* it-operator requeued: requeued from the demo-catalog DLQ \(was input-invalid\)/,
    );
  });

  it('discards only with a reason, which the ledger keeps', async () => {
    await eventually('the job back in the DLQ', async () => {
      const { out } = await sluice('dlq', 'list', 'demo-catalog');
      return out.includes(`id-${badJobId}`) ? true : undefined;
    });

    const refused = await sluice('dlq', 'discard', 'demo-catalog', `id-${badJobId}`);
    const done = await sluice(
      'dlq',
      'discard',
      'demo-catalog',
      `id-${badJobId}`,
      '--reason',
      'negative page from a test',
    );

    expect(refused.code).toBe(2);
    expect(refused.err).toContain('say why with --reason');
    expect(done.code).toBe(0);
    expect((await sluice('job', `id-${badJobId}`)).out).toContain(
      'discarded from the demo-catalog DLQ (was input-invalid): negative page from a test',
    );
  });

  it('says the DLQ is empty when there is nothing to requeue', async () => {
    const listed = await sluice('dlq', 'list', 'demo-catalog');
    const requeued = await sluice('dlq', 'requeue', 'demo-catalog', '--all');

    expect(listed.out).toContain('demo-catalog DLQ: empty');
    expect(requeued.code).toBe(1);
    expect(requeued.err).toContain('nothing to requeue: the demo-catalog DLQ is empty');
  });
});

describe('sluice tasks', () => {
  const jobKey = `id-it-task-${randomUUID()}`;

  beforeAll(async () => {
    // The same adapter the functions use opens the task.
    const topicId = [...env.provisioned.topics.keys()].find(
      (id) => env.provisioned.tags.get(id)?.['sluice:role'] === 'handoff',
    );
    const desk = new DynamoSnsHandoffDesk(
      env.clients.documents,
      env.tasksTable,
      env.clients.sns,
      env.provisioned.topics.get(topicId ?? '') ?? '',
    );
    await desk.open({
      stage: 'transform',
      jobKey,
      source: 'demo-rates',
      traceId: randomUUID(),
      reason: 'records-invalid',
      message: '1 of 4 records failed validation: rate: expected number',
      evidenceKeys: ['raw/source=demo-rates/dt=2026-11-27/x/y/rendered.html'],
      createdAt: new Date(),
    });
  });

  it('lists open tasks with their reason and evidence', async () => {
    const { code, out } = await sluice('tasks', 'list', '--source', 'demo-rates');

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`transform-${jobKey}\\s+demo-rates\\s+transform\\s+records-invalid`));
    expect(out).toContain('evidence raw/source=demo-rates/dt=2026-11-27/x/y/rendered.html');
  });

  it('resolves a task only with a note, once', async () => {
    const noNote = await sluice('tasks', 'resolve', `transform-${jobKey}`);
    const resolved = await sluice(
      'tasks',
      'resolve',
      `transform-${jobKey}`,
      '--note',
      'rule fixed, replayed',
      '--by',
      'it-operator',
    );
    const again = await sluice('tasks', 'resolve', `transform-${jobKey}`, '--note', 'twice');
    const open = await sluice('tasks', 'list', '--source', 'demo-rates');
    const closed = await sluice('tasks', 'list', '--status', 'resolved');

    expect(noNote.code).toBe(2);
    expect(resolved.code).toBe(0);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already resolved');
    expect(open.out).toContain('no open hand-off tasks');
    expect(closed.out).toContain(`transform-${jobKey}`);
  });
});

describe('sluice replay', () => {
  it('refuses an unknown source or a missing --from', async () => {
    const unknown = await sluice('replay', 'demo-nope', '--from', '2026-11-01');
    const noDay = await sluice('replay', 'demo-catalog');

    expect(unknown.code).toBe(2);
    expect(noDay.code).toBe(2);
    expect(noDay.err).toContain('usage: sluice replay <source> (--from <day>');
    expect(noDay.err).toContain('--job <jobKey>');
  });

  it('dry-runs every collection of one job, the command runbooks/replay-backfill.md names', async () => {
    const { code, out, err } = await sluice('replay', 'demo-catalog', '--job', manual.jobKey, '--dry-run');
    const nobody = await sluice('replay', 'demo-catalog', '--job', 'id-nobody', '--dry-run');
    const wrongSource = await sluice('replay', 'demo-rates', '--job', manual.jobKey, '--dry-run');

    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(
      new RegExp(`^job ${manual.jobKey}: dry run demo-catalog .*: 1 manifest\\(s\\); nothing was written`),
    );
    expect(nobody.code).toBe(1);
    expect(nobody.err).toContain('no job "id-nobody" in the ledger');
    expect(wrongSource.code).toBe(1);
    expect(wrongSource.err).toContain(`job ${manual.jobKey} is not a demo-rates job`);
  });

  it("dry-runs today's raw data of a source through the replay module and writes nothing", async () => {
    const today = new Date().toISOString().slice(0, 10);

    const { code, out } = await sluice('replay', 'demo-catalog', '--from', today, '--dry-run');

    expect(code).toBe(0);
    expect(out).toMatch(
      new RegExp(
        `dry run demo-catalog ${today}\\.\\.${today}: [1-9]\\d* manifest\\(s\\); nothing was written`,
      ),
    );
    expect(out).toMatch(/records {3}new \d+ · changed 0 · unchanged \d+ · stale 0/);
  });
});

describe('the sluice bin', () => {
  const bin = join(PROJECT_ROOT, 'cli', 'sluice.mjs');

  it('runs status against the local environment', () => {
    const result = spawnSync(
      process.execPath,
      [bin, '--local', '--local-env', envFile, 'status', '--source', 'demo-catalog'],
      {
        encoding: 'utf8',
        cwd: PROJECT_ROOT,
      },
    );

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Sluice status — local environment /);
    expect(result.stdout).toContain('demo-catalog — Demo product catalogue');
  });

  it('says so when there are no AWS credentials', () => {
    const empty = join(scratch, 'nothing');
    const result = spawnSync(process.execPath, [bin, 'status'], {
      encoding: 'utf8',
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: scratch,
        AWS_REGION: 'eu-west-1',
        AWS_CONFIG_FILE: empty,
        AWS_SHARED_CREDENTIALS_FILE: empty,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('sluice: no AWS credentials found');
    expect(result.stderr).toContain('or run against the local environment with --local');
  });

  it('says so when no local environment is running', () => {
    const result = spawnSync(
      process.execPath,
      [bin, '--local', '--local-env', join(scratch, 'absent.json'), 'status'],
      {
        encoding: 'utf8',
        cwd: PROJECT_ROOT,
      },
    );

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no local environment is running');
    expect(result.stderr).toContain('npm start -- --keep');
  });
});

describe('sluice credentials set', () => {
  const bin = join(PROJECT_ROOT, 'cli', 'sluice.mjs');
  // Every source that signs in, from the registry; the local environment holds a secret for each.
  const signing = sources.filter((s) => credentialShapeOf(s) !== undefined);
  const secretOf = (source: string) => {
    const described = env.describe().resources;
    return resourcesFrom(env.describe().appName, described).loginSecrets.get(source);
  };
  const storedValue = async (source: string) =>
    (await env.clients.secrets.send(new GetSecretValueCommand({ SecretId: secretOf(source) })))
      .SecretString ?? '';
  const setWithTheBin = (source: string, stdin: string) =>
    spawnSync(process.execPath, [bin, '--local', '--local-env', envFile, 'credentials', 'set', source], {
      encoding: 'utf8',
      cwd: PROJECT_ROOT,
      input: stdin,
    });

  it('finds the secret of every source that signs in, and of no other', () => {
    expect(signing.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(secretOf(source.name) !== undefined, source.name).toBe(signing.includes(source));
    }
  });

  it.each(signing.map((s) => [s.name, credentialShapeOf(s)] as const))(
    "writes %s's %s from piped stdin, never echoes it, and the collector's reader reads it",
    async (source, shape) => {
      const before = await storedValue(source);
      const values = shape === 'login' ? ['ops-robot', 'pässwörd with spaces '] : ['tök-9f3a'];
      try {
        const result = setWithTheBin(source, `${values.join('\n')}\n`);

        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(result.stdout).toContain(`of ${source} in ${secretOf(source)}`);
        for (const value of values) expect(result.stdout + result.stderr).not.toContain(value.trim());
        const reader = new SecretsManagerCredentials(env.clients.secrets, (s) => secretOf(s) ?? '');
        const read = await reader.read(source, shape ?? 'login');
        expect(Object.values(read)).toEqual(values);
      } finally {
        // The demo portal accepts the login it was started with: put it back, with the bin too.
        const original = JSON.parse(before) as { [field: string]: string };
        const restored = setWithTheBin(
          source,
          `${(shape === 'login' ? [original.username, original.password] : [original.token]).join('\n')}\n`,
        );
        expect(restored.status).toBe(0);
        expect(await storedValue(source)).toBe(JSON.stringify(original));
      }
    },
  );

  it('writes nothing when a value is missing or empty, and says which', async () => {
    const [source] = signing;
    if (source === undefined) throw new Error('no source signs in');
    const before = await storedValue(source.name);

    const short = setWithTheBin(source.name, '');
    const empty = setWithTheBin(source.name, credentialShapeOf(source) === 'login' ? 'someone\n\n' : '\n');

    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/stdin ended before \w+: give one value per line; nothing was written/);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/nothing was written: \w+ must not be empty/);
    expect(await storedValue(source.name)).toBe(before);
  });

  it('refuses a source that signs in nowhere, or none at all, naming the ones that do', () => {
    const plain = sources.find((s) => credentialShapeOf(s) === undefined);
    if (plain === undefined) throw new Error('every source signs in');

    const refused = setWithTheBin(plain.name, 'x\n');
    const unknown = setWithTheBin('no-such-source', 'x\n');

    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`${plain.name} signs in nowhere, so it has no secret`);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no source is called no-such-source; sources that sign in:');
    for (const source of signing) expect(unknown.stderr).toContain(source.name);
  });
});
