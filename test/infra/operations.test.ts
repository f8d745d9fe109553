/**
 * The operations side of the synthesized template: every alarm links a runbook that exists and
 * has the fixed sections, notifies its owner, and watches the metric the functions publish; the
 * freshness checker runs on a schedule; the dashboard has a row per source; owner tags follow
 * the source definitions.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, MetricName, SERVICE_NAME } from '../../functions/observability.js';
import { sourceAlarmEntries } from '../../infra/alarm-catalogue.js';
import { buildApp } from '../../infra/app.js';
import { OWNER_TAG } from '../../infra/ownership.js';
import { RUNBOOK_SECTIONS, runbookSectionsMissing, runbookUrlIn } from '../../infra/runbook-links.js';
import type { SluiceStack } from '../../infra/sluice-stack.js';
import { PROJECT_ROOT } from '../../local/paths.js';
import { sources } from '../../sources/registry.js';

const RUNBOOKS = join(PROJECT_ROOT, 'runbooks');
const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
  context: { 'sluice:runbookBaseUrl': string };
};
const BASE_URL = cdkJson.context['sluice:runbookBaseUrl'];

type Resource = { Type: string; Properties: { [key: string]: unknown } };
let stack: SluiceStack;
let template: Template;
let alarms: [string, Resource][];

beforeAll(() => {
  // No bundling: these tests read the template, not the functions' code.
  const app = new App({ context: { 'sluice:runbookBaseUrl': BASE_URL, 'aws:cdk:bundling-stacks': [] } });
  stack = buildApp(app).stack;
  template = Template.fromStack(stack);
  alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')) as [string, Resource][];
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
    const topics = template.findResources('AWS::SNS::Topic');
    for (const [id, alarm] of alarms) {
      const owner = /^Owner: (\S+)$/m.exec(description(alarm))?.[1];
      expect(owner, `${id} names no owner`).toBeDefined();
      const actions = alarm.Properties.AlarmActions as { Ref: string }[];
      expect(actions, `${id} notifies nobody`).toHaveLength(1);
      const topic = topics[actions[0]?.Ref ?? ''] as Resource | undefined;
      expect(topic?.Properties.DisplayName, `${id} notifies the wrong topic`).toBe(
        `Sluice alarms for ${owner}`,
      );
    }
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

  it('alarm when fewer than 95 % of attempts succeed over 15 minutes', () => {
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
      TreatMissingData: 'notBreaching',
    });
    expect(metrics.find((m) => m.Expression !== undefined)?.Expression).toMatch(
      /100 \* FILL\(ok, 0\) \/ \(FILL\(ok, 0\) \+ FILL\(retried, 0\)/,
    );
    expect(metrics.filter((m) => m.MetricStat !== undefined).map((m) => [m.Id, m.MetricStat])).toEqual([
      [
        'ok',
        {
          Metric: {
            Namespace: METRICS_NAMESPACE,
            MetricName: MetricName.JobSucceeded,
            Dimensions: dimensions,
          },
          Period: 900,
          Stat: 'Sum',
        },
      ],
      [
        'retried',
        {
          Metric: { Namespace: METRICS_NAMESPACE, MetricName: MetricName.JobRetried, Dimensions: dimensions },
          Period: 900,
          Stat: 'Sum',
        },
      ],
      [
        'deadLettered',
        {
          Metric: {
            Namespace: METRICS_NAMESPACE,
            MetricName: MetricName.JobDeadLettered,
            Dimensions: dimensions,
          },
          Period: 900,
          Stat: 'Sum',
        },
      ],
      [
        'handedOff',
        {
          Metric: {
            Namespace: METRICS_NAMESPACE,
            MetricName: MetricName.JobHandedOff,
            Dimensions: dimensions,
          },
          Period: 900,
          Stat: 'Sum',
        },
      ],
    ]);
  });

  it('alarm when the oldest queued job is older than half the freshness SLA', () => {
    expect(byName(`Sluice-${name}-oldest-job`).Properties).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Namespace: 'AWS/SQS',
      Threshold: sla / 2,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarm when the data is older than the SLA, or no age is published at all', () => {
    expect(byName(`Sluice-${name}-data-age`).Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: MetricName.DataAge,
      Dimensions: dimensions,
      Threshold: sla,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarm when a hand-off task waits longer than half the SLA, to the business rules owner', () => {
    const alarm = byName(`Sluice-${name}-handoff-backlog`);

    expect(alarm.Properties).toMatchObject({
      MetricName: MetricName.OldestHandoffAge,
      Dimensions: dimensions,
      Threshold: sla / 2,
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
    const queues = Object.values(template.findResources('AWS::SQS::Queue')) as Resource[];
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
  const roles = ['http-collector', 'browser-collector', 'transform', 'freshness-checker'];

  it.each(roles)('watch the %s function: errors, throttles, p99 duration near the timeout', (role) => {
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
  });

  it('alarm on p99 duration at 80 % of each function timeout', () => {
    const transform = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^Sluice transform') },
    });
    const timeout = Number((Object.values(transform)[0] as Resource).Properties.Timeout);

    expect(byName('Sluice-transform-function-duration').Properties.Threshold).toBe(timeout * 1000 * 0.8);
  });

  it.each(['records', 'job-ledger', 'handoff-tasks'])('watch the %s table for throttling', (table) => {
    const metrics = byName(`Sluice-${table}-table-throttling`).Properties.Metrics as {
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string } };
    }[];

    expect(
      metrics
        .filter((m) => m.MetricStat !== undefined)
        .every((m) => m.MetricStat?.Metric.MetricName === 'ThrottledRequests'),
    ).toBe(true);
    // CloudWatch refuses alarms whose math uses more than 10 metrics.
    expect(metrics.length).toBeLessThanOrEqual(11);
  });

  it('alarm on any message in the transform DLQ, to the pipeline owner', () => {
    const dlq = alarms.filter(([, a]) => description(a).includes('transform dead-letter queue'));

    expect(dlq).toHaveLength(1);
    expect(description(dlq[0]?.[1] as Resource)).toContain('Owner: team-platform');
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

describe('the dashboard', () => {
  it('has the alarms, then a row per source, then the pipeline', () => {
    expect(stack.operations.dashboard.layout.map((row) => row.title)).toEqual([
      'alarms',
      ...sources.map((s) => s.name),
      'pipeline',
    ]);
  });

  it("shows each source's SLIs in its row, within the dashboard's 24 columns", () => {
    for (const row of stack.operations.dashboard.layout.slice(1, -1)) {
      expect(row.widgets.map((w) => w.title.replace(`${row.title} · `, ''))).toEqual([
        `${row.title}: owners, SLA, workflow map`,
        'success rate (%)',
        'job attempts',
        'latency (ms)',
        'queue',
        'data age (h)',
        'records',
        'hand-off backlog',
      ]);
      expect(row.widgets.reduce((sum, w) => sum + w.width, 0)).toBe(24);
    }
  });

  it('is one CloudWatch dashboard named Sluice', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Sluice' });
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
