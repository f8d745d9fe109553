import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runbookUrlIn } from '../../infra/runbook-links.js';
import { sources } from '../../sources/registry.js';
import {
  getAttTarget,
  logicalIdOf,
  PROJECT_ROOT,
  RUNBOOK_BASE_URL,
  resourceById,
  resourcesOfType,
  type SynthesizedSluice,
  synthesizeSluice,
  tagsOf,
} from './sluice-template.js';

const AlarmProps = z.object({
  AlarmDescription: z.string().default(''),
  AlarmActions: z.array(z.unknown()).default([]),
  Namespace: z.string().optional(),
  MetricName: z.string().optional(),
  Dimensions: z.array(z.object({ Name: z.string(), Value: z.unknown() })).default([]),
  Threshold: z.number().optional(),
  ComparisonOperator: z.string().optional(),
});
type AlarmProps = z.infer<typeof AlarmProps>;

const RedriveTarget = z.object({ RedrivePolicy: z.object({ deadLetterTargetArn: z.unknown() }).optional() });

let sluice: SynthesizedSluice;
/** Every dead-letter queue (a queue some queue redrives to, or tagged as one), as `<stack>/<logical ID>`. */
let deadLetterQueueIds: string[];
/** DLQ-depth alarms: SQS visible-message alarms on a dead-letter queue. */
let depthAlarms: { alarmId: string; queueId: string; props: AlarmProps }[];

const QueueName = z.object({ QueueName: z.string() });

beforeAll(() => {
  sluice = synthesizeSluice();
  deadLetterQueueIds = [];
  depthAlarms = [];
  for (const { name, resources } of sluice.stacks) {
    const queues = resourcesOfType(resources, 'AWS::SQS::Queue');
    const redriveTargets = queues.flatMap(([, queue]) => {
      const target = getAttTarget(
        RedriveTarget.parse(queue.Properties).RedrivePolicy?.deadLetterTargetArn,
        'Arn',
      );
      return target === undefined ? [] : [target];
    });
    const tagged = queues
      .filter(([, queue]) => tagsOf(queue)['sluice:role'] === 'dead-letter')
      .map(([id]) => id);
    const own = [...new Set([...redriveTargets, ...tagged])];
    deadLetterQueueIds.push(...own.map((id) => `${name}/${id}`));

    // Alarms name a queue by its physical name (WorkQueue's metrics), which its QueueName property is.
    const deadLetterByName = new Map(
      own.map((id) => [QueueName.parse(resourceById(resources, id).Properties).QueueName, `${name}/${id}`]),
    );
    for (const [alarmId, alarm] of resourcesOfType(resources, 'AWS::CloudWatch::Alarm')) {
      const props = AlarmProps.parse(alarm.Properties);
      const queueName = props.Dimensions.find((dimension) => dimension.Name === 'QueueName')?.Value;
      const queueId = typeof queueName === 'string' ? deadLetterByName.get(queueName) : undefined;
      if (
        props.Namespace === 'AWS/SQS' &&
        props.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        queueId !== undefined
      ) {
        depthAlarms.push({ alarmId: `${name}/${alarmId}`, queueId, props });
      }
    }
  }
  deadLetterQueueIds.sort();
});

describe('dead-letter queue alarms', () => {
  it('watch one dead-letter queue per source plus the transform stage', () => {
    expect(deadLetterQueueIds).toHaveLength(sources.length + 1);
  });

  it('exist exactly once for every dead-letter queue', () => {
    const alarmedQueues = depthAlarms.map((alarm) => alarm.queueId).sort();

    expect(alarmedQueues).toEqual(deadLetterQueueIds);
  });

  it('fire as soon as one message is dead-lettered', () => {
    expect(depthAlarms.length).toBeGreaterThan(0);
    for (const { alarmId, props } of depthAlarms) {
      expect({ alarmId, threshold: props.Threshold, operator: props.ComparisonOperator }).toEqual({
        alarmId,
        threshold: 1,
        operator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('link a runbook under the runbook base URL and name an owner in their description', () => {
    expect(depthAlarms.length).toBeGreaterThan(0);
    for (const { alarmId, props } of depthAlarms) {
      const description = props.AlarmDescription;
      expect(description, alarmId).toMatch(/^Owner: \S+$/m);
      expect(description, alarmId).toMatch(/^Runbook: \S+$/m);
      const url = runbookUrlIn(description) ?? '';
      expect(url.startsWith(`${RUNBOOK_BASE_URL}/`), `${alarmId} links ${url}`).toBe(true);
      expect(url.slice(RUNBOOK_BASE_URL.length + 1), alarmId).toMatch(/^[a-z0-9-]+\.md$/);
    }
  });

  it("name the source's collection owner on each source's dead-letter alarm", () => {
    const ownerOfQueue = new Map(
      depthAlarms.map(({ queueId, props }) => [queueId, /^Owner: (\S+)$/m.exec(props.AlarmDescription)?.[1]]),
    );

    const actual = Object.fromEntries(
      sources.map((source) => {
        const { name, stack } = sluice.stackOf(source.name);
        const pair = stack.pipelines.get(source.name)?.jobs;
        return [
          source.name,
          pair === undefined ? undefined : ownerOfQueue.get(`${name}/${logicalIdOf(pair.deadLetterQueue)}`),
        ];
      }),
    );

    expect(actual).toEqual(
      Object.fromEntries(sources.map((source) => [source.name, source.owners.collection])),
    );
  });

  it('each notify one topic (alarm-topics.test.ts checks the topic lets CloudWatch publish)', () => {
    expect(depthAlarms.length).toBeGreaterThan(0);
    for (const { alarmId, props } of depthAlarms) expect(props.AlarmActions, alarmId).toHaveLength(1);
  });

  it('link only runbooks that exist in runbooks/', () => {
    const linked = new Set(
      depthAlarms.map(({ props }) =>
        runbookUrlIn(props.AlarmDescription)?.slice(RUNBOOK_BASE_URL.length + 1),
      ),
    );

    const missing = [...linked].filter(
      (file) => file === undefined || !existsSync(join(PROJECT_ROOT, 'runbooks', file)),
    );

    expect(linked.size).toBeGreaterThan(0);
    expect(missing, 'runbook files linked from alarms but missing from runbooks/').toEqual([]);
  });
});
