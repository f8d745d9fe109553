/**
 * Every alarm must be able to page someone. A topic policy replaces SNS's default one, so a topic
 * whose policy only denies plain HTTP refuses CloudWatch too: the alarm changes state and nobody
 * hears. Read from the synthesized templates: every action of every alarm, in every stack, names
 * a topic of the core stack whose policy lets cloudwatch.amazonaws.com publish for this account's
 * alarms (aws:SourceAccount) of this app (aws:SourceArn), and still denies requests without TLS.
 */
import { App, Aws, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Alarm, ComparisonOperator, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement as IamStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { IntrinsicResolver, type ResolvedResource } from '../../local/cloud-template.js';
import { PolicyDocument, type PolicyStatement } from './iam-statements.js';
import {
  type Resources,
  refTarget,
  resourcesOfType,
  type SynthesizedSluice,
  synthesizeSluice,
} from './sluice-template.js';

const PSEUDO = { region: 'eu-west-1', accountId: '111122223333', partition: 'aws' } as const;

const AlarmActions = z.object({
  AlarmName: z.unknown(),
  AlarmActions: z.array(z.unknown()).default([]),
  OKActions: z.array(z.unknown()).default([]),
  InsufficientDataActions: z.array(z.unknown()).default([]),
});
const TopicPolicy = z.object({ Topics: z.array(z.unknown()), PolicyDocument });

interface TemplateStack {
  readonly name: string;
  readonly resources: Resources;
}

/** An IAM ArnLike/StringLike pattern as a regular expression. */
function likePattern(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

function values(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/**
 * What keeps each alarm action of `stacks` from reaching a person: a topic that does not exist, a
 * policy that does not let CloudWatch publish for that alarm, or one that lost its TLS Deny.
 * `stacks[0]` holds the topics.
 */
function alarmActionProblems(stacks: readonly TemplateStack[]): string[] {
  const [topicStack] = stacks;
  if (topicStack === undefined) return ['no stack'];
  // The topics' ARNs, as the alarm actions name them, and their policies' statements.
  const topicArns = new Map<string, ResolvedResource>();
  const arnOf = new Map<string, string>();
  for (const [id, topic] of resourcesOfType(topicStack.resources, 'AWS::SNS::Topic')) {
    const name = z.string().catch(id).parse(topic.Properties.TopicName);
    const arn = `arn:${PSEUDO.partition}:sns:${PSEUDO.region}:${PSEUDO.accountId}:${name}`;
    topicArns.set(id, { ref: arn, attributes: { TopicArn: arn, TopicName: name } });
    arnOf.set(id, arn);
  }
  const statementsOf = new Map<string, PolicyStatement[]>();
  for (const [, policy] of resourcesOfType(topicStack.resources, 'AWS::SNS::TopicPolicy')) {
    const parsed = TopicPolicy.parse(policy.Properties);
    for (const topic of parsed.Topics) {
      const arn = arnOf.get(refTarget(topic) ?? '');
      if (arn !== undefined)
        statementsOf.set(arn, [...(statementsOf.get(arn) ?? []), ...parsed.PolicyDocument.Statement]);
    }
  }
  const problems: string[] = [];
  for (const stack of stacks) {
    const resolver = new IntrinsicResolver(stack === topicStack ? topicArns : new Map(), {
      ...PSEUDO,
      stackName: stack.name,
    });
    const alarms = [
      ...resourcesOfType(stack.resources, 'AWS::CloudWatch::Alarm'),
      ...resourcesOfType(stack.resources, 'AWS::CloudWatch::CompositeAlarm'),
    ];
    for (const [alarmId, alarm] of alarms) {
      const props = AlarmActions.parse(alarm.Properties);
      const alarmName = resolver.resolveString(props.AlarmName ?? alarmId);
      const alarmArn = `arn:${PSEUDO.partition}:cloudwatch:${PSEUDO.region}:${PSEUDO.accountId}:alarm:${alarmName}`;
      for (const action of [...props.AlarmActions, ...props.OKActions, ...props.InsufficientDataActions]) {
        const topicArn = resolver.resolveString(action);
        const where = `${stack.name}/${alarmName} → ${topicArn}`;
        const statements = statementsOf.get(topicArn);
        if (![...arnOf.values()].includes(topicArn)) {
          problems.push(`${where}: no topic of ${topicStack.name} has this ARN`);
          continue;
        }
        if (statements === undefined) {
          problems.push(
            `${where}: the topic has no policy, so SNS's default one applies (this test wants an explicit one)`,
          );
          continue;
        }
        const topicResolver = new IntrinsicResolver(topicArns, { ...PSEUDO, stackName: topicStack.name });
        const allows = statements.some((statement) => {
          if (statement.Effect !== 'Allow') return false;
          const principal = z.object({ Service: z.unknown() }).safeParse(statement.Principal);
          if (!principal.success || !values(principal.data.Service).includes('cloudwatch.amazonaws.com'))
            return false;
          if (!(statement.Action ?? []).some((a) => likePattern(a).test('sns:Publish'))) return false;
          const resources = values(topicResolver.resolve(statement.Resource));
          if (!resources.some((r) => typeof r === 'string' && likePattern(r).test(topicArn))) return false;
          const condition = z
            .object({
              StringEquals: z.object({ 'aws:SourceAccount': z.unknown() }),
              ArnLike: z.object({ 'aws:SourceArn': z.unknown() }),
            })
            .safeParse(topicResolver.resolve(statement.Condition));
          return (
            condition.success &&
            values(condition.data.StringEquals['aws:SourceAccount']).includes(PSEUDO.accountId) &&
            values(condition.data.ArnLike['aws:SourceArn']).some(
              (pattern) => typeof pattern === 'string' && likePattern(pattern).test(alarmArn),
            )
          );
        });
        if (!allows) {
          problems.push(
            `${where}: no statement allows cloudwatch.amazonaws.com sns:Publish for this account's alarm ${alarmName}`,
          );
        }
        const deniesPlainHttp = statements.some(
          (statement) =>
            statement.Effect === 'Deny' &&
            JSON.stringify(statement.Condition ?? {}) ===
              JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
        );
        if (!deniesPlainHttp) problems.push(`${where}: the policy no longer denies requests without TLS`);
      }
    }
  }
  return problems;
}

let sluice: SynthesizedSluice;

beforeAll(() => {
  sluice = synthesizeSluice();
});

describe('every alarm of the app', () => {
  it('notifies a topic that lets CloudWatch publish for it, and only over TLS', () => {
    const actions = sluice.stacks.flatMap(({ resources }) =>
      resourcesOfType(resources, 'AWS::CloudWatch::Alarm').flatMap(
        ([, a]) => AlarmActions.parse(a.Properties).AlarmActions,
      ),
    );

    expect(actions.length).toBeGreaterThan(sluice.app.core.sources.length * 5);
    expect(alarmActionProblems(sluice.stacks)).toEqual([]);
  });

  it("lets CloudWatch publish only for this account's alarms of this app", () => {
    const policies = resourcesOfType(sluice.core.resources, 'AWS::SNS::TopicPolicy').map(([, p]) =>
      TopicPolicy.parse(p.Properties),
    );
    const cloudwatch = policies.flatMap((p) =>
      p.PolicyDocument.Statement.filter((s) =>
        JSON.stringify(s.Principal).includes('cloudwatch.amazonaws.com'),
      ),
    );

    expect(cloudwatch.length).toBe(sluice.core.stack.alarmTopics.size);
    for (const statement of cloudwatch) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnLike: {
          'aws:SourceArn': {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':cloudwatch:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':alarm:Sluice-*',
              ],
            ],
          },
        },
      });
    }
  });
});

describe('the check itself', () => {
  function stackWithTopic(configure: (topic: Topic) => void): TemplateStack[] {
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Probe');
    const topic = new Topic(stack, 'Topic', { topicName: 'Probe-alarms', enforceSSL: true });
    configure(topic);
    new Alarm(stack, 'Alarm', {
      alarmName: 'Probe-alarm',
      metric: new Metric({ namespace: 'Probe', metricName: 'Errors' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    }).addAlarmAction(new SnsAction(topic));
    const json = Template.fromStack(stack).toJSON() as { Resources: { [id: string]: unknown } };
    const resources = new Map(
      Object.entries(json.Resources).map(([id, r]) => {
        const resource = z
          .object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).default({}) })
          .parse(r);
        return [id, resource];
      }),
    );
    return [{ name: 'Probe', resources }];
  }

  it('fails a topic whose policy only denies plain HTTP: the alarm would page nobody', () => {
    const problems = alarmActionProblems(stackWithTopic(() => undefined));

    expect(problems).toEqual([
      expect.stringMatching(/Probe-alarm → .*: no statement allows cloudwatch.amazonaws.com sns:Publish/),
    ]);
  });

  it('fails an allow that is not scoped to this account', () => {
    const problems = alarmActionProblems(
      stackWithTopic((topic) => {
        topic.addToResourcePolicy(
          new IamStatement({
            principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
            actions: ['sns:Publish'],
            resources: [topic.topicArn],
          }),
        );
      }),
    );

    expect(problems).toEqual([expect.stringMatching(/no statement allows cloudwatch.amazonaws.com/)]);
  });

  it('passes an allow scoped to the account and the alarm', () => {
    const problems = alarmActionProblems(
      stackWithTopic((topic) => {
        topic.addToResourcePolicy(
          new IamStatement({
            principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
            actions: ['sns:Publish'],
            resources: [topic.topicArn],
            conditions: {
              StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
              ArnLike: {
                'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:Probe-*`,
              },
            },
          }),
        );
      }),
    );

    expect(problems).toEqual([]);
  });
});
