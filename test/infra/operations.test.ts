/**
 * The operations side of the synthesized templates: every alarm links a runbook that exists and
 * has the fixed sections, notifies its owner, and watches the metric the functions publish; the
 * freshness checker runs on a schedule; the overview dashboard covers the fleet and each source
 * stack's dashboard has a row per source; owner tags follow the source definitions.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, MetricName, SERVICE_NAME } from '../../functions/observability.js';
import {
  collectorKindsOf,
  fleetAlarmName,
  RETRY_SPIKE_MIN_ATTEMPTS,
  RETRY_SPIKE_PERCENT,
  RETRY_SPIKE_PERIOD_MINUTES,
  ROLLUP_KINDS,
  sourceAlarmEntries,
} from '../../infra/alarm-catalogue.js';
import { OWNER_TAG } from '../../infra/ownership.js';
import { RUNBOOK_SECTIONS, runbookSectionsMissing, runbookUrlIn } from '../../infra/runbook-links.js';
import { evaluateMetricAlarm, type Sample } from '../../local/alarms/alarm-evaluator.js';
import { metricAlarmFrom } from '../../local/alarms/alarm-model.js';
import { PROJECT_ROOT } from '../../local/paths.js';
import { sources } from '../../sources/registry.js';
import { type SynthesizedSluice, synthesizeSluice } from './sluice-template.js';

const RUNBOOKS = join(PROJECT_ROOT, 'runbooks');
const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
  context: { 'sluice:runbookBaseUrl': string };
};
const BASE_URL = cdkJson.context['sluice:runbookBaseUrl'];

type Resource = { Type: string; Properties: { [key: string]: unknown } };
let sluice: SynthesizedSluice;
/** The core stack's template. */
let template: Template;
/** Every alarm of every stack, as `<stack>/<logical ID>`. */
let alarms: [string, Resource][];

beforeAll(() => {
  sluice = synthesizeSluice({ context: { 'sluice:runbookBaseUrl': BASE_URL } });
  template = sluice.core.template;
  alarms = sluice.stacks.flatMap(({ name, template: t }) =>
    (Object.entries(t.findResources('AWS::CloudWatch::Alarm')) as [string, Resource][]).map(
      ([id, alarm]): [string, Resource] => [`${name}/${id}`, alarm],
    ),
  );
});

function description(alarm: Resource): string {
  return String(alarm.Properties.AlarmDescription);
}

function runbookFileOf(alarm: Resource): string | undefined {
  const url = runbookUrlIn(description(alarm));
  if (url === undefined || !url.startsWith(`${BASE_URL}/`)) return undefined;
  return join(RUNBOOKS, url.slice(BASE_URL.length + 1));
}

function tagsOf(resource: Resource): { [key: string]: string } {
  const tags = (resource.Properties.Tags ?? []) as { Key: string; Value: string }[];
  return Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
}

function byName(name: string): Resource {
  const found = alarms.find(([, a]) => a.Properties.AlarmName === name);
  if (found === undefined) throw new Error(`no alarm ${name}`);
  return found[1];
}

describe('every alarm', () => {
  it('links a runbook under the configured base URL, and the runbook exists', () => {
    expect(alarms.length).toBeGreaterThan(0);
    for (const [id, alarm] of alarms) {
      const file = runbookFileOf(alarm);
      expect(file, `${id} has no runbook link under ${BASE_URL}`).toBeDefined();
      expect(existsSync(file as string), `${id} links ${file}, which does not exist`).toBe(true);
    }
  });

  it('links a runbook with every fixed section', () => {
    for (const [id, alarm] of alarms) {
      const missing = runbookSectionsMissing(readFileSync(runbookFileOf(alarm) as string, 'utf8'));
      expect(missing, `${id}'s runbook lacks sections`).toEqual([]);
    }
  });

  it("says who owns it and notifies that owner's topic", () => {
    const topics = template.findResources('AWS::SNS::Topic') as { [id: string]: Resource };
    for (const [id, alarm] of alarms) {
      const owner = /^Owner: (\S+)$/m.exec(description(alarm))?.[1];
      expect(owner, `${id} names no owner`).toBeDefined();
      const actions = alarm.Properties.AlarmActions as unknown[];
      expect(actions, `${id} notifies nobody`).toHaveLength(1);
      // Core alarms refer to the topic; source stacks' name it (alarm-topics.test.ts resolves both).
      const ref = (actions[0] as { Ref?: string }).Ref;
      const topicName =
        ref === undefined
          ? /:([^:]+)$/.exec((actions[0] as { 'Fn::Sub': string })['Fn::Sub'])?.[1]
          : topics[ref]?.Properties.TopicName;
      expect(topicName, `${id} notifies the wrong topic`).toBe(`Sluice-alarms-${owner}`);
    }
  });

  it('has a name that starts with the app name, unique per account and region', () => {
    const names = alarms.map(([, alarm]) => String(alarm.Properties.AlarmName));

    expect(names.filter((n) => !n.startsWith('Sluice-'))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('runbooks', () => {
  const runbooks = readdirSync(RUNBOOKS).filter(
    (f) => f.endsWith('.md') && !['README.md', 'OWNERS.md'].includes(f),
  );

  it.each(runbooks)('%s has the fixed sections, in order', (file) => {
    const text = readFileSync(join(RUNBOOKS, file), 'utf8');
    const headings = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]);

    expect(runbookSectionsMissing(text)).toEqual([]);
    expect(headings.filter((h) => RUNBOOK_SECTIONS.includes(h as never))).toEqual([...RUNBOOK_SECTIONS]);
  });

  it.each([...runbooks, 'README.md', 'OWNERS.md'])('%s links only to runbooks that exist', (file) => {
    const text = readFileSync(join(RUNBOOKS, file), 'utf8');
    const links = [...text.matchAll(/\]\(([^)#\s]+\.md)\)/g)].map((m) => m[1] as string);

    for (const link of links) expect(existsSync(join(RUNBOOKS, link)), `${file} links ${link}`).toBe(true);
  });

  it('OWNERS.md names exactly the alarms the templates define, each under its owner', () => {
    const owners = readFileSync(join(RUNBOOKS, 'OWNERS.md'), 'utf8');
    const listed = new Map<string, string>();
    let owner = '';
    for (const line of owners.split('\n')) {
      owner = /^### (\S+)/.exec(line)?.[1] ?? owner;
      if (!line.startsWith('| alarm |')) continue;
      const which = line.split('|')[2] ?? '';
      for (const match of which.matchAll(/`([^`]+)`/g)) listed.set(match[1] as string, owner);
    }
    const defined = new Map(
      alarms.map(([, alarm]) => [
        String(alarm.Properties.AlarmName),
        /^Owner: (\S+)$/m.exec(description(alarm))?.[1] ?? '',
      ]),
    );

    expect([...listed.keys()].sort()).toEqual([...defined.keys()].sort());
    for (const [name, paged] of defined) expect(listed.get(name), name).toBe(paged);
  });

  it('finds a section missing from a runbook', () => {
    expect(runbookSectionsMissing('# x\n\n## What it means\n\n## Fixes\n\n## Owner\n')).toEqual([
      'First checks',
      'Escalation',
    ]);
  });
});

describe.each(sources.map((s) => [s.name, s] as const))('the alarms of %s', (name, source) => {
  const sla = source.freshnessSlaMinutes * 60;
  const dimensions = [
    { Name: 'service', Value: SERVICE_NAME },
    { Name: 'source', Value: name },
  ];

  it('alarm when fewer than 95 % of the jobs that ended succeeded over 15 minutes, from one metric', () => {
    const alarm = byName(`Sluice-${name}-success-rate`).Properties;
    const metrics = alarm.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: unknown; Period: number; Stat: string };
    }[];

    expect(alarm).toMatchObject({
      Threshold: 95,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 1,
      // A window in which no job ended keeps the state: neither clears nor raises it.
      TreatMissingData: 'ignore',
    });
    expect(metrics.find((m) => m.Expression !== undefined)?.Expression).toBe('100 * success');
    // Every job that ends publishes 1 (records written) or 0: the average is the rate.
    expect(metrics.filter((m) => m.MetricStat !== undefined).map((m) => [m.Id, m.MetricStat])).toEqual([
      [
        'success',
        {
          Metric: {
            Namespace: METRICS_NAMESPACE,
            MetricName: MetricName.JobSuccess,
            Dimensions: dimensions,
          },
          Period: 900,
          Stat: 'Average',
        },
      ],
    ]);
  });

  it('alarm when the oldest queued job is older than half the freshness SLA', () => {
    expect(byName(`Sluice-${name}-oldest-job`).Properties).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: `Sluice-${name}-jobs` }],
      Threshold: sla / 2,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it("alarm when the data is older than the SLA; a missing age is the checker heartbeat alarm's", () => {
    expect(byName(`Sluice-${name}-data-age`).Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: MetricName.DataAge,
      Dimensions: dimensions,
      Threshold: sla,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarm when a hand-off task waits longer than half the SLA, to the business rules owner', () => {
    const alarm = byName(`Sluice-${name}-handoff-backlog`);

    expect(alarm.Properties).toMatchObject({
      MetricName: MetricName.HandoffAge,
      Dimensions: dimensions,
      Statistic: 'Maximum',
      Threshold: sla / 2,
      // Published only while tasks are open: no data is no backlog.
      TreatMissingData: 'notBreaching',
    });
    expect(description(alarm)).toContain(`Owner: ${source.owners.businessRules}`);
    expect(tagsOf(alarm)[OWNER_TAG.pagedOwner]).toBe(source.owners.businessRules);
  });

  it("alarm on any message in the source's DLQ", () => {
    const dlq = alarms.filter(
      ([, a]) =>
        a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        description(a).includes(`${name} jobs dead-letter`),
    );

    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.[1].Properties).toMatchObject({
      AlarmName: `Sluice-${name}-dead-letters`,
      Dimensions: [{ Name: 'QueueName', Value: `Sluice-${name}-jobs-dlq` }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('match the alarm catalogue the ownership map is generated from', () => {
    for (const entry of sourceAlarmEntries(source)) {
      const matching = alarms.filter(
        ([, a]) =>
          description(a).includes(`Owner: ${entry.owner}\n`) &&
          runbookUrlIn(description(a)) === `${BASE_URL}/${entry.runbook}.md` &&
          (description(a).includes(name) || entry.kind === 'dead-letters'),
      );
      expect(matching.length, `${entry.kind} of ${name}`).toBeGreaterThanOrEqual(1);
    }
  });

  it('tag its queues with its owners', () => {
    const queues = Object.values(
      sluice.stackOf(name).template.findResources('AWS::SQS::Queue'),
    ) as Resource[];
    const own = queues.filter((q) => tagsOf(q)['sluice:source'] === name);

    expect(own).toHaveLength(2);
    for (const queue of own) {
      expect(tagsOf(queue)).toMatchObject({
        [OWNER_TAG.pagedOwner]: source.owners.collection,
        [OWNER_TAG.collection]: source.owners.collection,
        [OWNER_TAG.transformation]: source.owners.transformation,
        [OWNER_TAG.dataStore]: source.owners.dataStore,
        [OWNER_TAG.businessRules]: source.owners.businessRules,
      });
    }
  });
});

describe('the pipeline alarms', () => {
  // The core stack's functions, and each source stack's collectors (named after their stack).
  const roles = () => [
    'transform',
    'freshness-checker',
    ...sluice.sourceStacks.flatMap(({ name, stack }) =>
      collectorKindsOf(stack.sources).map((kind) => `${name.slice('Sluice-'.length)}-${kind}-collector`),
    ),
  ];

  it('watch every function of every stack: errors, throttles, p99 duration near the timeout', () => {
    expect(roles()).toContain('Sources-01-http-collector');
    for (const role of roles()) watches(role);
  });

  function watches(role: string): void {
    expect(byName(`Sluice-${role}-function-errors`).Properties).toMatchObject({
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Threshold: 1,
      DatapointsToAlarm: 2,
      EvaluationPeriods: 3,
    });
    expect(byName(`Sluice-${role}-function-throttles`).Properties).toMatchObject({
      MetricName: 'Throttles',
      Threshold: 1,
    });
    expect(byName(`Sluice-${role}-function-duration`).Properties).toMatchObject({
      MetricName: 'Duration',
      ExtendedStatistic: 'p99',
    });
  }

  it('alarm on p99 duration at 80 % of each function timeout', () => {
    const transform = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^Sluice transform') },
    });
    const timeout = Number((Object.values(transform)[0] as Resource).Properties.Timeout);

    expect(byName('Sluice-transform-function-duration').Properties.Threshold).toBe(timeout * 1000 * 0.8);
  });

  it.each(['records', 'job-ledger', 'handoff-tasks'])('watch the %s table for throttling', (table) => {
    const metrics = byName(`Sluice-${table}-table-throttling`).Properties.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string } };
    }[];
    const operands = metrics.filter((m) => m.MetricStat !== undefined);

    expect(operands.length).toBeGreaterThan(0);
    expect(operands.every((m) => m.MetricStat?.Metric.MetricName === 'ThrottledRequests')).toBe(true);
    // DynamoDB publishes an operation's ThrottledRequests only when it is throttled: every
    // operand is FILLed with 0, or one quiet operation would leave the sum without a value.
    expect(metrics.find((m) => m.Expression !== undefined)?.Expression).toBe(
      operands.map((m) => `FILL(${m.Id}, 0)`).join(' + '),
    );
    // CloudWatch refuses alarms whose math uses more than 10 metrics.
    expect(metrics.length).toBeLessThanOrEqual(11);
  });

  it('alarm on any message in the transform DLQ, to the pipeline owner', () => {
    const dlq = alarms.filter(([, a]) => description(a).includes('transform dead-letter queue'));

    expect(dlq).toHaveLength(1);
    expect(description(dlq[0]?.[1] as Resource)).toContain('Owner: team-platform');
  });
});

describe('the retry spike alarm, evaluated as synthesized', () => {
  const PERIOD_MS = RETRY_SPIKE_PERIOD_MINUTES * 60_000;
  const AT = Date.parse('2026-12-01T12:00:00.000Z');
  /** `attempts` attempts in the period ending `periodsAgo` periods before AT, `retried` of them retried. */
  const period = (periodsAgo: number, attempts: number, retried: number): Sample[] =>
    Array.from({ length: attempts }, (_, i) => ({
      at: AT - (periodsAgo + 1) * PERIOD_MS + 1_000 + i,
      value: i < retried ? 1 : 0,
    }));

  function stateWith(samples: readonly Sample[]): string {
    const name = fleetAlarmName('Sluice', 'retry-spike');
    const definition = metricAlarmFrom(name, byName(name).Properties);
    return evaluateMetricAlarm(
      definition,
      (metric, from, to) =>
        metric.namespace === METRICS_NAMESPACE && metric.metricName === MetricName.AttemptRetried
          ? samples.filter((s) => s.at >= from && s.at < to)
          : [],
      { at: AT },
    ).state;
  }

  const many = RETRY_SPIKE_MIN_ATTEMPTS * 2;
  const share = (percent: number) => Math.round((many * percent) / 100);

  it(`pages when more than ${RETRY_SPIKE_PERCENT} % of attempts retried in 2 of 3 periods`, () => {
    expect(stateWith([...period(0, many, share(30)), ...period(2, many, share(30))])).toBe('ALARM');
  });

  it('stays quiet for one bad period, a share at the threshold, or a period with too few attempts', () => {
    expect(stateWith([...period(0, many, share(30)), ...period(1, many, 0)])).toBe('OK');
    expect(
      stateWith([
        ...period(0, many, share(RETRY_SPIKE_PERCENT)),
        ...period(1, many, share(RETRY_SPIKE_PERCENT)),
      ]),
    ).toBe('OK');
    const few = RETRY_SPIKE_MIN_ATTEMPTS - 1;
    expect(stateWith([...period(0, few, few), ...period(1, few, few)])).toBe('OK');
  });

  it('reads a fleet with no attempts at all as quiet, not as a spike', () => {
    expect(stateWith([])).toBe('OK');
  });
});

describe('the freshness checker', () => {
  it('runs every 5 minutes on an EventBridge rule', () => {
    const checker = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('freshness checker') },
    });
    const [functionId] = Object.keys(checker);

    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId, 'Arn'] } })],
    });
  });
});

describe('each source stack', () => {
  it('has a dashboard with its alarms, its collectors, their retries, then a row per source', () => {
    for (const { stack } of sluice.sourceStacks) {
      expect(stack.dashboard.layout.map((row) => row.title)).toEqual([
        'header',
        'alarms',
        'collectors',
        'retries',
        ...stack.sources.map((s) => s.name),
      ]);
    }
  });

  it("shows each source's SLIs in its row, within the dashboard's 24 columns", () => {
    for (const { stack } of sluice.sourceStacks) {
      for (const row of stack.dashboard.layout.slice(4)) {
        expect(row.widgets.map((w) => w.title.replace(`${row.title} · `, ''))).toEqual([
          `${row.title}: owners, SLA, workflow map`,
          'success rate (%)',
          'collection latency (ms)',
          'queue',
          'data age and hand-offs (h)',
        ]);
        expect(row.widgets.reduce((sum, w) => sum + w.width, 0)).toBe(24);
      }
    }
  });

  it('rolls its alarms up into one composite alarm per kind, which pages nobody', () => {
    for (const { name, template: t, stack } of sluice.sourceStacks) {
      const composites = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm')) as Resource[];
      expect(composites.map((c) => c.Properties.AlarmName).sort()).toEqual(
        ROLLUP_KINDS.map((kind) => `${name}-${kind}`).sort(),
      );
      for (const composite of composites) {
        expect(composite.Properties.AlarmActions).toBeUndefined();
        // One child per source, or per collector alarm: far below the 100 a rule may hold.
        const children = JSON.stringify(composite.Properties.AlarmRule).match(/ALARM\(/g) ?? [];
        expect(children.length).toBeLessThanOrEqual(Math.max(stack.sources.length, 6));
      }
    }
  });

  it('names its dashboard after itself and the region: dashboards are global to the account', () => {
    for (const { name, template: t } of sluice.sourceStacks) {
      t.hasResourceProperties('AWS::CloudWatch::Dashboard', {
        DashboardName: { 'Fn::Join': ['', [`${name}-`, { Ref: 'AWS::Region' }]] },
      });
    }
  });
});

describe('the overview dashboard', () => {
  it('has the alarm status, the fleet, the worst sources and the shared pipeline', () => {
    expect(sluice.core.stack.operations.dashboard.dashboard.layout.map((row) => row.title)).toEqual([
      'header',
      'alarms',
      'fleet',
      'worst sources',
      'pipeline',
    ]);
  });

  it("shows every source stack's roll-ups", () => {
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const { name } of sluice.sourceStacks) {
      for (const kind of ROLLUP_KINDS) expect(body).toContain(`:alarm:${name}-${kind}`);
    }
  });

  it('names no source: the worst-source graphs search the metrics', () => {
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const source of sources) expect(body).not.toContain(source.name);
    expect(body).toContain(`SORT(SEARCH('{${METRICS_NAMESPACE},service,source} MetricName=`);
  });

  it('is the one dashboard of the core stack, named after it and the region', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: { 'Fn::Join': ['', ['Sluice-', { Ref: 'AWS::Region' }]] },
    });
  });
});

describe('owner tags on shared resources', () => {
  it('name the pipeline owner and every source data store owner on the records table', () => {
    const tables = Object.values(template.findResources('AWS::DynamoDB::GlobalTable')) as Resource[];
    // Global tables keep their tags per replica.
    const replicaTags = (table: Resource) => {
      const [replica] = table.Properties.Replicas as { Tags?: { Key: string; Value: string }[] }[];
      return Object.fromEntries((replica?.Tags ?? []).map((t) => [t.Key, t.Value]));
    };
    const records = tables.find((t) => replicaTags(t)['sluice:role'] === 'records');
    expect(records).toBeDefined();
    const tags = replicaTags(records as Resource);

    expect(tags[OWNER_TAG.pagedOwner]).toBe('team-platform');
    expect(tags[OWNER_TAG.dataStore]).toBe(
      [...new Set(sources.map((s) => s.owners.dataStore))].sort().join(' '),
    );
  });
});
