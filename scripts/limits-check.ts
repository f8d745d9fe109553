/**
 * Checks every template of a synthesized app against the AWS limits that stop a deploy and that
 * neither synth, cdk-nag nor cfn-lint enforce: resources, bytes and outputs per template; each
 * function's environment; inline, managed and resource policy sizes; dashboard widgets; tags;
 * alarm descriptions and composite alarm rules. Sizes are measured on values resolved to the
 * lengths a real deployment gives them (scripts/limits-realistic.ts).
 */
import { statSync } from 'node:fs';
import { z } from 'zod';
import type { AssemblyStack } from '../local/cloud-assembly.js';
import type { IntrinsicResolver } from '../local/cloud-template.js';
import { realisticResolver } from './limits-realistic.js';

/** One limit measured on one thing. */
export interface LimitCheck {
  readonly stack: string;
  /** What the limit is about, e.g. `template bytes`, `function environment (bytes)`. */
  readonly limit: string;
  /** Which resource, e.g. a function's logical ID. */
  readonly subject: string;
  readonly value: number;
  readonly maximum: number;
}

/** The largest value of each limit in one stack. */
export interface StackFigures {
  readonly stack: string;
  readonly resources: number;
  readonly templateBytes: number;
  readonly largest: { readonly [limit: string]: LimitCheck };
}

/** The limits, with where each comes from (AWS's quotas pages, as of 2026). */
export const LIMITS = {
  resources: { name: 'resources', maximum: 500 },
  templateBytes: { name: 'template bytes', maximum: 1_000_000 },
  outputs: { name: 'outputs', maximum: 200 },
  parameters: { name: 'parameters', maximum: 200 },
  environment: { name: 'function environment (bytes)', maximum: 4096 },
  rolePolicies: { name: 'inline policies of a role (characters)', maximum: 10_240 },
  managedPolicy: { name: 'managed policy (characters)', maximum: 6144 },
  managedPoliciesPerRole: { name: 'managed policies on a role', maximum: 10 },
  queuePolicy: { name: 'queue policy (characters)', maximum: 20_480 },
  topicPolicy: { name: 'topic policy (characters)', maximum: 30_720 },
  bucketPolicy: { name: 'bucket policy (characters)', maximum: 20_480 },
  widgets: { name: 'dashboard widgets', maximum: 500 },
  alarmsInWidget: { name: 'alarms in an alarm status widget', maximum: 100 },
  tagValue: { name: 'tag value (characters)', maximum: 256 },
  tagKey: { name: 'tag key (characters)', maximum: 128 },
  tagsPerResource: { name: 'tags on a resource', maximum: 50 },
  alarmDescription: { name: 'alarm description (characters)', maximum: 1024 },
  alarmMetrics: { name: 'metrics in an alarm', maximum: 10 },
  compositeRule: { name: 'composite alarm rule (characters)', maximum: 10_240 },
  compositeChildren: { name: 'alarms in a composite rule', maximum: 100 },
} as const;

type LimitKey = keyof typeof LIMITS;

const TagList = z.array(z.object({ Key: z.string(), Value: z.string() }));

/** IAM counts a policy's characters without whitespace: compact JSON is exactly that. */
function policyCharacters(document: unknown): number {
  return JSON.stringify(document).length;
}

function refersTo(value: unknown, logicalId: string): boolean {
  return JSON.stringify(value ?? null).includes(`"${logicalId}"`);
}

/** Checks one stack; `resolver` resolves its tokens to realistic values. */
function checkStack(stack: AssemblyStack, resolver: IntrinsicResolver): LimitCheck[] {
  const checks: LimitCheck[] = [];
  const add = (key: LimitKey, subject: string, value: number) =>
    checks.push({
      stack: stack.stackName,
      limit: LIMITS[key].name,
      subject,
      value,
      maximum: LIMITS[key].maximum,
    });
  const { template } = stack;
  const resources = Object.entries(template.Resources);

  add('resources', 'template', resources.length);
  add('templateBytes', 'template', statSync(stack.templateFile).size);
  add('outputs', 'template', Object.keys(template.Outputs ?? {}).length);
  add('parameters', 'template', Object.keys(template.Parameters ?? {}).length);

  for (const [id, resource] of resources) {
    const properties = resource.Properties ?? {};
    const resolved = () => resolver.resolve(properties) as { [key: string]: unknown };
    switch (resource.Type) {
      case 'AWS::Lambda::Function': {
        const variables = (resolved().Environment as { Variables?: unknown } | undefined)?.Variables ?? {};
        // Counted as the JSON of the variables: a little more than Lambda counts, never less.
        add('environment', id, Buffer.byteLength(JSON.stringify(variables), 'utf8'));
        break;
      }
      case 'AWS::IAM::Role': {
        const inline = z
          .array(z.object({ PolicyDocument: z.unknown() }))
          .default([])
          .parse(properties.Policies);
        const attached = resources.filter(
          ([, other]) => other.Type === 'AWS::IAM::Policy' && refersTo(other.Properties?.Roles, id),
        );
        const characters =
          inline.reduce((sum, p) => sum + policyCharacters(resolver.resolve(p.PolicyDocument)), 0) +
          attached.reduce(
            (sum, [, p]) => sum + policyCharacters(resolver.resolve(p.Properties?.PolicyDocument)),
            0,
          );
        add('rolePolicies', id, characters);
        const managed =
          z.array(z.unknown()).default([]).parse(properties.ManagedPolicyArns).length +
          resources.filter(
            ([, other]) => other.Type === 'AWS::IAM::ManagedPolicy' && refersTo(other.Properties?.Roles, id),
          ).length;
        add('managedPoliciesPerRole', id, managed);
        break;
      }
      case 'AWS::IAM::ManagedPolicy':
        add('managedPolicy', id, policyCharacters(resolver.resolve(properties.PolicyDocument)));
        break;
      case 'AWS::SQS::QueuePolicy':
        add('queuePolicy', id, policyCharacters(resolver.resolve(properties.PolicyDocument)));
        break;
      case 'AWS::SNS::TopicPolicy':
        add('topicPolicy', id, policyCharacters(resolver.resolve(properties.PolicyDocument)));
        break;
      case 'AWS::S3::BucketPolicy':
        add('bucketPolicy', id, policyCharacters(resolver.resolve(properties.PolicyDocument)));
        break;
      case 'AWS::CloudWatch::Dashboard': {
        const body = JSON.parse(resolver.resolveString(properties.DashboardBody)) as {
          widgets: { type: string; properties?: { alarms?: unknown[] } }[];
        };
        add('widgets', id, body.widgets.length);
        for (const widget of body.widgets.filter((w) => w.type === 'alarm')) {
          add('alarmsInWidget', id, widget.properties?.alarms?.length ?? 0);
        }
        break;
      }
      case 'AWS::CloudWatch::Alarm': {
        const description = resolver.resolve(properties.AlarmDescription ?? '');
        add('alarmDescription', id, String(description).length);
        const metrics = z
          .array(z.object({ MetricStat: z.unknown().optional() }))
          .default([])
          .parse(properties.Metrics);
        add('alarmMetrics', id, Math.max(1, metrics.filter((m) => m.MetricStat !== undefined).length));
        break;
      }
      case 'AWS::CloudWatch::CompositeAlarm': {
        const rule = resolver.resolveString(properties.AlarmRule);
        add('compositeRule', id, rule.length);
        add('compositeChildren', id, (rule.match(/\bALARM\(/g) ?? []).length);
        add('alarmDescription', id, String(resolver.resolve(properties.AlarmDescription ?? '')).length);
        break;
      }
    }
    // Tags, wherever the resource type keeps them (DynamoDB global tables: per replica).
    const tagLists = [
      properties.Tags,
      ...z
        .array(z.object({ Tags: z.unknown() }))
        .catch([])
        .parse(properties.Replicas)
        .map((r) => r.Tags),
    ];
    for (const list of tagLists) {
      const tags = TagList.safeParse(resolver.resolve(list ?? []));
      if (!tags.success) continue;
      add('tagsPerResource', id, tags.data.length);
      for (const tag of tags.data) {
        add('tagKey', `${id} ${tag.Key}`, tag.Key.length);
        add('tagValue', `${id} ${tag.Key}`, tag.Value.length);
      }
    }
  }
  return checks;
}

export interface LimitsResult {
  readonly checks: readonly LimitCheck[];
  readonly violations: readonly LimitCheck[];
  readonly stacks: readonly StackFigures[];
}

/** Checks every stack of an assembly (in deployment order, so imports resolve). */
export function checkAssembly(stacks: readonly AssemblyStack[]): LimitsResult {
  const exported = new Map<string, string>();
  const checks: LimitCheck[] = [];
  const figures: StackFigures[] = [];
  for (const stack of stacks) {
    const { resolver, exports } = realisticResolver(stack.stackName, stack.template, exported);
    for (const [name, value] of exports) exported.set(name, value);
    const own = checkStack(stack, resolver);
    checks.push(...own);
    const largest: { [limit: string]: LimitCheck } = {};
    for (const check of own) {
      const current = largest[check.limit];
      if (current === undefined || check.value / check.maximum > current.value / current.maximum) {
        largest[check.limit] = check;
      }
    }
    figures.push({
      stack: stack.stackName,
      resources: Object.keys(stack.template.Resources).length,
      templateBytes: statSync(stack.templateFile).size,
      largest,
    });
  }
  return { checks, violations: checks.filter((c) => c.value > c.maximum), stacks: figures };
}
