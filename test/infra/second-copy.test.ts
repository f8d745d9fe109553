/**
 * A second copy of Sluice in the same account (another `sluice:appName`, e.g. a staging copy next
 * to production) must not collide with the first: every physical name the templates set is the
 * app's own, and so is every stack name. Names CloudFormation generates are unique by itself.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type SynthesizedSluice, synthesizeSluice } from './sluice-template.js';

/**
 * The property that sets a resource's physical name, by type: account- or region-wide names a
 * second copy could clash on. (The same keys on other types, e.g. an event source mapping's
 * FunctionName, refer to another resource.)
 */
const PHYSICAL_NAME_OF: { readonly [type: string]: string } = {
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::CompositeAlarm': 'AlarmName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Events::EventBus': 'Name',
  'AWS::Events::Rule': 'Name',
  'AWS::IAM::Role': 'RoleName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::Scheduler::ScheduleGroup': 'Name',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
};

/** Every physical name the templates set, as `<type> <name as JSON>` (a name may hold tokens). */
function physicalNames(sluice: SynthesizedSluice): string[] {
  return sluice.stacks.flatMap(({ resources }) =>
    [...resources.values()].flatMap((resource) => {
      const key = PHYSICAL_NAME_OF[resource.Type];
      const name = key === undefined ? undefined : resource.Properties[key];
      return name === undefined ? [] : [`${resource.Type} ${JSON.stringify(name)}`];
    }),
  );
}

let production: SynthesizedSluice;
let staging: SynthesizedSluice;

beforeAll(() => {
  production = synthesizeSluice();
  staging = synthesizeSluice({ context: { 'sluice:appName': 'SluiceStaging' } });
});

describe('a second copy under another app name', () => {
  it('has stacks of its own names', () => {
    const names = (s: SynthesizedSluice) => s.stacks.map((stack) => stack.name);

    expect(names(staging).every((name) => name.startsWith('SluiceStaging'))).toBe(true);
    expect(names(staging).filter((name) => names(production).includes(name))).toEqual([]);
  });

  it('sets no physical name the first copy sets: alarms, queues, tables, topics, dashboards, schedules…', () => {
    const taken = new Set(physicalNames(production));

    const clashes = physicalNames(staging).filter((name) => taken.has(name));

    expect(physicalNames(staging).length).toBeGreaterThan(50);
    expect(clashes).toEqual([]);
  });

  it('puts its app name in every physical name it sets', () => {
    const withoutAppName = physicalNames(staging).filter((name) => !name.includes('SluiceStaging'));

    expect(withoutAppName).toEqual([]);
  });
});
