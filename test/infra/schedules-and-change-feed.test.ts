/**
 * Schedules and the change feed in the synthesized templates: every source that declares a
 * schedule (from the registry) gets an EventBridge Scheduler schedule that sends a ScheduledRun
 * with Scheduler's own time to its jobs queue; a schedule slower than the freshness SLA is refused
 * at synth with the numbers; the core stack carries the bus, the rule that copies every
 * RecordChanged event into the change log, and the stream mapping that feeds the change feed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScheduledRun } from '../../functions/core/contracts.js';
import { RECORD_CHANGED } from '../../functions/core/record-changes.js';
import { changeBusName, changeLogGroupName, scheduleName } from '../../functions/core/resource-names.js';
import { scheduleProblem } from '../../infra/schedule-check.js';
import { defineSource } from '../../sources/define.js';
import { demoShipments } from '../../sources/demo-shipments/source.js';
import { sources } from '../../sources/registry.js';
import {
  getAttTarget,
  logicalIdOf,
  PROJECT_ROOT,
  resourcesOfType,
  type SynthesizedSluice,
  sluiceApp,
  synthesizeSluice,
} from './sluice-template.js';

let sluice: SynthesizedSluice;

beforeAll(() => {
  sluice = synthesizeSluice();
});

const scheduled = sources.filter((s) => s.schedule !== undefined);

describe('schedules', () => {
  it('at least one demo source collects on a schedule', () => {
    expect(scheduled.map((s) => s.name).length).toBeGreaterThan(0);
  });

  it.each(scheduled.map((s) => [s.name, s] as const))(
    '%s: a schedule sends a ScheduledRun with the scheduled time to its jobs queue, its misses to a DLQ',
    (name, source) => {
      const { stack, resources } = sluice.stackOf(name);
      const schedules = resourcesOfType(resources, 'AWS::Scheduler::Schedule').filter(
        ([, r]) => r.Properties.Name === scheduleName(sluice.app.appName, name),
      );
      expect(schedules).toHaveLength(1);
      const [, schedule] = schedules[0] as (typeof schedules)[number];
      const props = schedule.Properties as {
        ScheduleExpression: string;
        ScheduleExpressionTimezone: string;
        FlexibleTimeWindow: { Mode: string };
        Target: { Arn: unknown; Input: string; DeadLetterConfig?: { Arn: unknown } };
      };
      expect(props.ScheduleExpression).toBe(source.schedule?.expression);
      expect(props.ScheduleExpressionTimezone).toBe(source.schedule?.timeZone ?? 'UTC');
      expect(props.FlexibleTimeWindow.Mode).toBe('OFF');
      const queue = stack.pipelines.get(name)?.jobs.queue;
      expect(queue).toBeDefined();
      expect(getAttTarget(props.Target.Arn, 'Arn')).toBe(logicalIdOf(queue as NonNullable<typeof queue>));
      // Scheduler replaces the placeholder with the time it fired for: the run's key, and every
      // job key under it, is the same however often it fires for that time.
      const run = ScheduledRun.parse({
        ...JSON.parse(props.Target.Input),
        scheduledRun: { scheduledAt: '2026-11-27T08:00:00Z' },
      });
      expect(run.source).toBe(name);
      expect(JSON.parse(props.Target.Input).scheduledRun.scheduledAt).toBe('<aws.scheduler.scheduled-time>');
      expect(props.Target.DeadLetterConfig?.Arn).toBeDefined();
    },
  );

  it('refuses a schedule slower than the freshness SLA, with the numbers', () => {
    const timing = { functionTimeoutSeconds: 120, visibilityTimeoutSeconds: 720 };
    const slow = defineSource({
      ...demoShipments,
      schedule: { expression: 'rate(3 hours)', inputs: [{ page: 1 }] },
    });

    const problem = scheduleProblem(slow, timing);

    expect(problem).toMatch(/rate\(3 hours\) waits up to 10800 s between runs/);
    expect(problem).toMatch(/120-minute freshness SLA \(7200 s\)/);
    expect(scheduleProblem(demoShipments, timing)).toBeUndefined();
  });

  it('finds the longest gap of a cron schedule, not its usual one (weekdays only: the weekend)', () => {
    const weekdays = defineSource({
      ...demoShipments,
      freshnessSlaMinutes: 36 * 60,
      schedule: { expression: 'cron(0 8 ? * MON-FRI *)', timeZone: 'Europe/Berlin', inputs: [{ page: 1 }] },
    });

    const problem = scheduleProblem(weekdays, { functionTimeoutSeconds: 120, visibilityTimeoutSeconds: 720 });

    // Friday 08:00 to Monday 08:00 is 72 h, and 73 h over the weekend Berlin leaves summer time.
    expect(problem).toMatch(
      /waits up to 262800 s between runs \(after the run at 2026-10-23T06:00:00.000Z in Europe\/Berlin\)/,
    );
  });

  it('fails the synth of an app whose schedule cannot keep its SLA', () => {
    const slow = defineSource({
      ...demoShipments,
      name: 'slow-shipments',
      followUps: { targets: ['slow-shipments'], maxFollowUps: 1, maxDepth: 5 },
      schedule: { expression: 'rate(1 day)', inputs: [{ page: 1 }] },
    });
    const { app } = sluiceApp({
      extraSources: [slow],
      pinned: {
        ...JSON.parse(readFileSync(join(PROJECT_ROOT, 'infra/source-stacks.json'), 'utf8')),
        'slow-shipments': '01',
      },
    });

    expect(() => app.synth()).toThrow(/slow-shipments: its schedule rate\(1 day\) waits up to 86400 s/);
  });
});

describe('change feed', () => {
  it('has the bus, a rule copying every RecordChanged event to the change log, and the stream mapping', () => {
    const resources = sluice.core.resources;
    const buses = resourcesOfType(resources, 'AWS::Events::EventBus');
    expect(buses.map(([, r]) => r.Properties.Name)).toEqual([changeBusName(sluice.app.appName)]);
    const rules = resourcesOfType(resources, 'AWS::Events::Rule').filter(([, r]) =>
      JSON.stringify(r.Properties.EventPattern ?? {}).includes(RECORD_CHANGED.detailType),
    );
    expect(rules).toHaveLength(1);
    const targets = rules[0]?.[1].Properties.Targets as { Arn: unknown }[];
    expect(targets.map((t) => getAttTarget(t.Arn, 'Arn'))).toEqual([
      logicalIdOf(sluice.core.stack.changeFeed.log),
    ]);
    const logs = resourcesOfType(resources, 'AWS::Logs::LogGroup').map(([, r]) => r.Properties.LogGroupName);
    expect(logs).toContain(changeLogGroupName(sluice.app.appName));
    const mappings = resourcesOfType(resources, 'AWS::Lambda::EventSourceMapping').filter(
      ([, r]) => getAttTarget(r.Properties.EventSourceArn, 'StreamArn') !== undefined,
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.[1].Properties).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ParallelizationFactor: 1,
    });
  });
});
