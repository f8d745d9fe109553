/**
 * Least privilege, read from the synthesized templates: every statement attached to each Sluice
 * function's role (its inline policy, and any overflow managed policy CDK splits off), resolved
 * to the Sluice resources it names (by construct path in their stack, e.g.
 * `RawBucket/raw/source=demo-catalog/*`, `JobLedgerTable`, `DemoCatalog/Jobs/DeadLetterQueue`;
 * what a source stack imports from the core stack is named by the core's resource), is compared
 * with the matrix below. A new grant, a wider action or resource, a new function or a new role
 * fails this test until the matrix is changed on purpose, in review.
 *
 * The core stack's functions are listed by hand; each collector's row follows from the sources
 * its stack holds and what each declares (its kind, whether it signs in), so the same check runs
 * on the registry's app and on a 300-source fleet: no grant may widen to `raw/*` or `*` as the
 * fleet grows. The statements after the matrix say what must never be allowed whatever it
 * grows into.
 */
import { isDeepStrictEqual } from 'node:util';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jobsQueueName } from '../../functions/core/resource-names.js';
import { type CollectorGroup, collectorGroupOf, collectorGroupsOf } from '../../infra/alarm-catalogue.js';
import { pascalCase } from '../../infra/constructs/pipeline-alarms.js';
import { syntheticSources } from '../../scripts/limits-synthetic-sources.js';
import { credentialShapeOf, type SourceDefinition } from '../../sources/define.js';
import { findParser } from '../../sources/parsers.js';
import {
  managedPolicyArnsOfRole,
  PolicyDocument,
  patternsOverlap,
  roleOfFunction,
  statementsOfRole,
} from './iam-statements.js';
import {
  refTarget,
  resourceById,
  resourcesOfType,
  type SynthesizedSluice,
  type SynthesizedStack,
  sluiceFunctions,
  synthesizeSluice,
} from './sluice-template.js';

/** One allowed action on one resource, as a function's role holds it. */
interface Grant {
  /** `<stack>:<path of the function's construct>`, e.g. `Sluice-Sources-01:HttpCollector/Function`. */
  readonly fn: string;
  readonly resource: string;
  readonly action: string;
}

/** Function → resource → actions. */
type Matrix = { [fn: string]: { [resource: string]: string[] } };

const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/** X-Ray has no resource-level permissions: the one grant on `*`. */
const TRACING = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
/** What Lambda's SQS event source mapping needs on the queue it polls (aws-cdk-lib grants it). */
const CONSUME = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];
/** What Lambda needs for the network interfaces of a function in a VPC; describing has no resource. */
const VPC_DESCRIBE = ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'];
const VPC_INTERFACES = [
  'ec2:AssignPrivateIpAddresses',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:UnassignPrivateIpAddresses',
];
/** Dead-lettering a message with its reason: finding the DLQ by name and sending to it. */
const DEAD_LETTER = ['sqs:GetQueueUrl', 'sqs:SendMessage'];
const HANDOFF = {
  HandoffTasksTable: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
  HandoffTopic: ['sns:Publish'],
};

/**
 * Listing the raw bucket, only under the given sources' prefixes: a collector that takes over a
 * job from a delivery that died looks there for a collection it stored but never recorded.
 */
const listRaw = (...sources: string[]) =>
  `RawBucket if ${JSON.stringify({ StringLike: { 's3:prefix': sources.map((s) => `raw/source=${s}/*`) } })}`;

/** What the core stack's functions may do, and to what. */
const CORE: Matrix = {
  Transform: {
    '*': TRACING,
    'Transform/Logs': LOGS,
    'RawBucket/raw/*': ['s3:GetObject'],
    RecordsTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    JobLedgerTable: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    ...HANDOFF,
    'TransformQueue/Queue': CONSUME,
    'TransformQueue/DeadLetterQueue': DEAD_LETTER,
  },
  'ChangeFeed/Function': {
    '*': TRACING,
    'ChangeFeed/Function/Logs': LOGS,
    // Reading the records table's stream, as Lambda's event source mapping does for it.
    'RecordsTable/stream': [
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
    ],
    'ChangeFeed/Bus': ['events:PutEvents'],
    // The mapping's on-failure destination.
    'ChangeFeed/DeadLetterQueue': ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
  },
  'Operations/FreshnessChecker/Function': {
    '*': TRACING,
    'Operations/FreshnessChecker/Function/Logs': LOGS,
    // UpdateItem: it records once when it first tracked each source (its age before any records).
    JobLedgerTable: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
    'HandoffTasksTable/index/byStatus': ['dynamodb:Query'],
  },
};

/**
 * What a source stack's collector of `kind` may do: its own sources' raw prefixes, queues and
 * logins, and nothing of any other source.
 */
function collectorRow(group: CollectorGroup, sources: readonly SourceDefinition[]) {
  const own = sources.filter((s) => collectorGroupOf(s) === group);
  const collector = `${pascalCase(group)}Collector`;
  const inVpc = group.endsWith('-vpc');
  const row: { [resource: string]: string[] } = {
    '*': inVpc ? [...TRACING, ...VPC_DESCRIBE] : TRACING,
    ...(inVpc ? { 'arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:*/*': VPC_INTERFACES } : {}),
    [`${collector}/Function/Logs`]: LOGS,
    [listRaw(...own.map((s) => s.name))]: ['s3:ListBucket'],
    JobLedgerTable: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    ...HANDOFF,
  };
  for (const source of own) {
    const id = pascalCase(source.name);
    row[`RawBucket/raw/source=${source.name}/*`] = ['s3:GetObject', 's3:PutObject'];
    row[`${id}/Jobs/Queue`] = CONSUME;
    row[`${id}/Jobs/DeadLetterQueue`] = DEAD_LETTER;
    // A portal's login, an API's token or a site's form login: read, never changed.
    if (credentialShapeOf(source) !== undefined) row[`${id}/Login`] = ['secretsmanager:GetSecretValue'];
    // A scheduled run's jobs go to the source's own queue; what the collector sees may ask for more.
    const enqueues = [
      ...(source.schedule === undefined ? [] : [source.name]),
      ...(source.followUps?.fromResponse === undefined ? [] : source.followUps.targets),
    ];
    for (const target of enqueues) row[`queue:${jobsQueueName(APP, target)}`] = DEAD_LETTER;
  }
  return { fn: `${collector}/Function`, row };
}

const APP = 'Sluice';

/** The transform sends the follow-ups parsers read to their targets' jobs queues, in any stack. */
function transformRow(sources: readonly SourceDefinition[]) {
  const row = { ...CORE.Transform };
  for (const source of sources) {
    if (findParser(source.name)?.followUps === undefined) continue;
    for (const target of source.followUps?.targets ?? [])
      row[`queue:${jobsQueueName(APP, target)}`] = DEAD_LETTER;
  }
  return row;
}

/** Everything each Sluice function of the app may do, and to what. */
function expectedMatrix(sluice: SynthesizedSluice): Matrix {
  const matrix: Matrix = {};
  for (const [fn, row] of Object.entries(CORE)) matrix[`${sluice.core.name}:${fn}`] = row;
  matrix[`${sluice.core.name}:Transform`] = transformRow(sluice.core.stack.sources);
  for (const { name, stack } of sluice.sourceStacks) {
    for (const group of collectorGroupsOf(stack.sources)) {
      const { fn, row } = collectorRow(group, stack.sources);
      matrix[`${name}:${fn}`] = row;
    }
  }
  return sorted(matrix);
}

const QueueArnByName = z.object({ 'Fn::Sub': z.string() }).strict();
const StringOrList = z.union([z.string().transform((s) => [s]), z.array(z.string())]);
const GetAtt = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.literal('Arn')]) }).strict();
/** A table's stream (the change feed reads the records table's). */
const GetStreamArn = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.literal('StreamArn')]) }).strict();
const Join = z.object({ 'Fn::Join': z.tuple([z.literal(''), z.array(z.unknown())]) }).strict();
const ImportValue = z.object({ 'Fn::ImportValue': z.string() }).strict();
const Output = z.object({ Value: z.unknown(), Export: z.object({ Name: z.string() }).optional() });

/** Reads the grants of every Sluice function of a synthesized app. */
class GrantReader {
  /** Per stack: construct path (relative to the stack, without `/Resource`) of every logical ID. */
  private readonly paths = new Map<string, Map<string, string>>();
  /** What the core stack exports, by export name: the value's expression in the core template. */
  private readonly exported = new Map<string, unknown>();

  constructor(private readonly sluice: SynthesizedSluice) {
    for (const { stack, name } of sluice.stacks) {
      this.paths.set(
        name,
        new Map(
          stack.node
            .findAll()
            .filter((construct): construct is CfnElement => construct instanceof CfnElement)
            .map((element) => [
              Stack.of(element).getLogicalId(element),
              element.node.path.slice(name.length + 1).replace(/\/Resource$/, ''),
            ]),
        ),
      );
    }
    const outputs = z.record(z.string(), Output).parse(sluice.core.template.toJSON().Outputs ?? {});
    for (const output of Object.values(outputs)) {
      if (output.Export !== undefined) this.exported.set(output.Export.Name, output.Value);
    }
  }

  nameOf(stack: string, logicalId: string): string {
    const path = this.paths.get(stack)?.get(logicalId);
    if (path === undefined) throw new Error(`${logicalId} is not a resource of ${stack}`);
    return path;
  }

  /**
   * The name of what a Resource entry names: `*`, a resource's path (`{ Ref }`, `{ Fn::GetAtt: Arn }`,
   * an import of one of the core's), or a path plus a literal suffix
   * (`{ Fn::Join: ['', [<arn>, '/raw/*']] }`). Anything else is an expression this test does not
   * know yet, and fails it: a grant it cannot read is not least privilege.
   */
  resourceName(stack: string, entry: unknown): string {
    if (entry === '*') return '*';
    const ref = refTarget(entry);
    if (ref !== undefined) return this.nameOf(stack, ref);
    const getAtt = GetAtt.safeParse(entry);
    if (getAtt.success) return this.nameOf(stack, getAtt.data['Fn::GetAtt'][0]);
    const stream = GetStreamArn.safeParse(entry);
    if (stream.success) return `${this.nameOf(stack, stream.data['Fn::GetAtt'][0])}/stream`;
    const imported = ImportValue.safeParse(entry);
    if (imported.success) {
      const value = this.exported.get(imported.data['Fn::ImportValue']);
      if (value === undefined) throw new Error(`nothing exports ${imported.data['Fn::ImportValue']}`);
      return this.resourceName(this.sluice.core.name, value);
    }
    // A jobs queue in any stack, by its conventional name (follow-ups, a scheduled run's jobs).
    const sub = QueueArnByName.safeParse(entry);
    if (sub.success) {
      const name =
        /^arn:\$\{AWS::Partition\}:sqs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:([A-Za-z0-9_-]+)$/.exec(
          sub.data['Fn::Sub'],
        )?.[1];
      if (name !== undefined) return `queue:${name}`;
    }
    const join = Join.safeParse(entry);
    if (join.success) {
      // An ARN built of literals and pseudo parameters only (`arn:<AWS::Partition>:ec2:...`).
      const parts = join.data['Fn::Join'][1];
      const pseudo = (part: unknown) => {
        const target = refTarget(part);
        return target?.startsWith('AWS::') === true ? `<${target}>` : undefined;
      };
      if (parts.every((part) => typeof part === 'string' || pseudo(part) !== undefined)) {
        return parts.map((part) => (typeof part === 'string' ? part : pseudo(part))).join('');
      }
      const [head, ...rest] = join.data['Fn::Join'][1];
      if (rest.every((part) => typeof part === 'string'))
        return `${this.resourceName(stack, head)}${rest.join('')}`;
    }
    throw new Error(`a policy names a resource this test cannot resolve: ${JSON.stringify(entry)}`);
  }

  /** Function key (`<stack>:<path>`) → its role's logical ID, for every Sluice function of every stack. */
  roles(): Map<string, { stack: SynthesizedStack; roleId: string }> {
    const roles = new Map<string, { stack: SynthesizedStack; roleId: string }>();
    for (const stack of this.sluice.stacks) {
      for (const [functionId] of sluiceFunctions(stack.resources)) {
        // The PipelineFunction's path: `Transform/Function` → `Transform`, `HttpCollector/Function/Function` →
        // `HttpCollector/Function`.
        const fn = this.nameOf(stack.name, functionId).replace(/\/Function$/, '');
        roles.set(`${stack.name}:${fn}`, { stack, roleId: roleOfFunction(stack.resources, functionId) });
      }
    }
    return roles;
  }

  grants(): Grant[] {
    return [...this.roles()].flatMap(([fn, { stack, roleId }]) =>
      statementsOfRole(stack.resources, roleId).flatMap(({ origin, statement }) => {
        if (statement.Effect !== 'Allow') throw new Error(`${origin} is a Deny in a function's own policy`);
        if (statement.NotAction !== undefined || statement.NotResource !== undefined)
          throw new Error(`${origin} uses NotAction or NotResource, which grants nearly everything`);
        const condition =
          statement.Condition === undefined ? '' : ` if ${JSON.stringify(statement.Condition)}`;
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        return (statement.Action ?? []).flatMap((action) =>
          resources.map((entry) => ({
            fn,
            action,
            resource: `${this.resourceName(stack.name, entry)}${condition}`,
          })),
        );
      }),
    );
  }
}

function matrixOf(list: readonly Grant[]): Matrix {
  const matrix: Matrix = {};
  for (const { fn, resource, action } of list) {
    const row = matrix[fn] ?? {};
    matrix[fn] = row;
    row[resource] = [...new Set([...(row[resource] ?? []), action])].sort();
  }
  return sorted(matrix);
}

function sorted(matrix: Matrix): Matrix {
  return Object.fromEntries(
    Object.entries(matrix)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([fn, row]) => [
        fn,
        Object.fromEntries(
          Object.entries(row)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([resource, actions]) => [resource, [...actions].sort()]),
        ),
      ]),
  );
}

let sluice: SynthesizedSluice;
let reader: GrantReader;
/** Every grant of every Sluice function, resolved to resource names. */
let grants: Grant[];
/** Function key → its role. */
let roles: Map<string, { stack: SynthesizedStack; roleId: string }>;

/** Grants of `fn` whose action could match `actionPattern` on a resource starting with `prefix`. */
function reaching(fn: string | RegExp, actionPattern: string, prefix: string): Grant[] {
  return grants.filter(
    (g) =>
      (typeof fn === 'string' ? g.fn === fn : fn.test(g.fn)) &&
      (g.resource === '*' || g.resource.startsWith(prefix)) &&
      patternsOverlap(g.action, actionPattern),
  );
}

const COLLECTOR = /:(Http|Browser)(Vpc)?Collector\/Function$/;
const TRANSFORM = 'Sluice:Transform';

beforeAll(() => {
  sluice = synthesizeSluice();
  reader = new GrantReader(sluice);
  roles = reader.roles();
  grants = reader.grants();
});

describe('each Sluice function', () => {
  it('may do exactly what the matrix says, to exactly the resources it names', () => {
    expect(matrixOf(grants)).toEqual(expectedMatrix(sluice));
  });

  it('has a role of its own that only Lambda can assume, with no AWS managed policy', () => {
    const AssumeRole = z.object({
      Statement: z.array(z.object({ Action: StringOrList, Effect: z.string(), Principal: z.unknown() })),
    });

    for (const [fn, { stack, roleId }] of roles) {
      const role = resourceById(stack.resources, roleId);
      expect(AssumeRole.parse(role.Properties.AssumeRolePolicyDocument).Statement, fn).toEqual([
        { Action: ['sts:AssumeRole'], Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
      expect(managedPolicyArnsOfRole(role), fn).toEqual([]);
    }
    const keys = [...roles.values()].map(({ stack, roleId }) => `${stack.name}/${roleId}`);
    expect(new Set(keys).size).toBe(roles.size);
  });
});

describe('whatever the matrix grows into', () => {
  it('no function is granted an action with a wildcard', () => {
    expect(grants.length).toBeGreaterThan(0);
    expect(grants.filter((g) => /[*?]/.test(g.action))).toEqual([]);
  });

  it('only X-Ray tracing (and, in a VPC, describing network interfaces) is granted on every resource (*)', () => {
    const onEverything = grants.filter((g) => g.resource === '*');

    expect(onEverything.length).toBeGreaterThan(0);
    expect(
      onEverything.filter(
        (g) =>
          !TRACING.includes(g.action) && !(/VpcCollector\//.test(g.fn) && VPC_DESCRIBE.includes(g.action)),
      ),
    ).toEqual([]);
  });

  it('the collectors cannot delete raw objects, change their retention, or read their versions', () => {
    expect(reaching(COLLECTOR, 's3:PutObject', 'RawBucket').length).toBeGreaterThan(0);
    for (const pattern of [
      's3:DeleteObject*',
      's3:BypassGovernanceRetention',
      's3:GetObjectVersion*',
      's3:GetObjectRetention',
      's3:PutObjectRetention',
      's3:PutObjectLegalHold',
    ]) {
      expect(reaching(COLLECTOR, pattern, 'RawBucket'), pattern).toEqual([]);
    }
  });

  // Reading is for what the chaos run found: a retried put that S3 stored before answering 500
  // reads the object back, and a delivery taking over from one that died looks for its collection.
  it('a collector writes, reads and lists raw objects only under the sources of its stack and kind', () => {
    for (const { name, stack } of sluice.sourceStacks) {
      for (const [group, collector] of stack.collectors) {
        const fn = `${name}:${pascalCase(group)}Collector/Function`;
        const ownSources = collector.sources.map((s) => s.name);
        expect(ownSources).toEqual(
          stack.sources.filter((s) => collectorGroupOf(s) === group).map((s) => s.name),
        );
        const own = ownSources.map((source) => `RawBucket/raw/source=${source}/*`);

        for (const action of ['s3:PutObject', 's3:GetObject']) {
          const prefixes = reaching(fn, action, 'RawBucket').map((g) => g.resource);
          expect(prefixes.sort(), `${fn} ${action}`).toEqual(own.sort());
        }
        expect(
          reaching(fn, 's3:ListBucket', 'RawBucket').map((g) => g.resource),
          `${fn} s3:ListBucket`,
        ).toEqual([listRaw(...ownSources)]);
      }
    }
  });

  it('the collectors cannot read or write records', () => {
    expect(reaching(COLLECTOR, 'dynamodb:*', 'RecordsTable')).toEqual([]);
  });

  it('the transform cannot write or delete raw objects, only read them', () => {
    expect(reaching(TRANSFORM, 's3:GetObject', 'RawBucket').map((g) => g.resource)).toEqual([
      'RawBucket/raw/*',
    ]);
    for (const pattern of [
      's3:Put*',
      's3:Delete*',
      's3:BypassGovernanceRetention',
      's3:Abort*',
      's3:Restore*',
    ]) {
      expect(reaching(TRANSFORM, pattern, 'RawBucket'), pattern).toEqual([]);
    }
  });

  it('only the collector of its source can read a login, and no role in any template can change one', () => {
    const logins = [...sluice.sourceStacks].flatMap(({ name, stack }) =>
      [...stack.pipelines.values()].flatMap((p) =>
        p.login === undefined
          ? []
          : [{ stack: name, source: p.source.name, group: collectorGroupOf(p.source) }],
      ),
    );
    expect(logins.length).toBeGreaterThan(0);
    for (const { stack, source, group } of logins) {
      expect(
        reaching(/.*/, 'secretsmanager:*', `${pascalCase(source)}/Login`).filter((g) =>
          g.fn.startsWith(`${stack}:`),
        ),
      ).toEqual([
        {
          fn: `${stack}:${pascalCase(group)}Collector/Function`,
          resource: `${pascalCase(source)}/Login`,
          action: 'secretsmanager:GetSecretValue',
        },
      ]);
    }
    const secretActions = sluice.stacks.flatMap(({ name, resources }) =>
      resourcesOfType(resources, 'AWS::IAM::Role').flatMap(([roleId]) =>
        statementsOfRole(resources, roleId)
          .filter(({ statement }) =>
            (statement.Action ?? []).some((a) => patternsOverlap(a, 'secretsmanager:*')),
          )
          .flatMap(({ statement }) =>
            (statement.Action ?? []).map((action) => `${name}/${roleId} ${action}`),
          ),
      ),
    );
    expect(secretActions.every((entry) => entry.endsWith(' secretsmanager:GetSecretValue'))).toBe(true);
  });
});

describe('the action matcher those statements rely on', () => {
  it('sees s3:*, s3:Delete*, * and any letter case as reaching s3:DeleteObject', () => {
    for (const granted of ['s3:*', 's3:Delete*', '*', 'S3:DELETEOBJECT', 's3:DeleteObjec?']) {
      expect(patternsOverlap(granted, 's3:DeleteObject*'), granted).toBe(true);
    }
  });

  it('does not see reads, puts or other services as reaching s3:DeleteObject', () => {
    for (const granted of ['s3:GetObject*', 's3:PutObject', 's3:List*', 'dynamodb:DeleteItem']) {
      expect(patternsOverlap(granted, 's3:DeleteObject*'), granted).toBe(false);
    }
  });
});

describe('roles that are not Sluice functions', () => {
  it("are only aws-cdk-lib's bucket-notifications handler, which may only configure the raw bucket's notifications", () => {
    const functionRoles = new Set([...roles.values()].map(({ stack, roleId }) => `${stack.name}/${roleId}`));
    const others = sluice.stacks.flatMap(({ name, resources }) =>
      resourcesOfType(resources, 'AWS::IAM::Role')
        .filter(([roleId]) => !functionRoles.has(`${name}/${roleId}`))
        .map(([roleId, role]) => ({ stack: name, roleId, role, resources })),
    );
    // The sources' schedules' roles are checked below.
    const [handler, ...rest] = others.filter(({ stack, roleId }) => !isScheduleRole(stack, roleId));

    expect(rest).toEqual([]);
    expect(handler?.stack).toBe(sluice.core.name);
    const { roleId = '', role } = handler ?? {};
    expect(reader.nameOf(sluice.core.name, roleId)).toMatch(/^BucketNotificationsHandler[0-9a-f]+\/Role$/);
    expect(
      managedPolicyArnsOfRole(role ?? resourceById(sluice.core.resources, roleId)).every((arn) =>
        isDeepStrictEqual(arn, {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
          ],
        }),
      ),
    ).toBe(true);
    const statements = resourcesOfType(sluice.core.resources, 'AWS::IAM::Policy')
      .filter(([, policy]) =>
        z
          .array(z.unknown())
          .parse(policy.Properties.Roles)
          .some((r) => refTarget(r) === roleId),
      )
      .flatMap(([, policy]) => PolicyDocument.parse(policy.Properties.PolicyDocument).Statement);
    expect(
      statements.map((s) => ({
        action: s.Action,
        resource: reader.resourceName(sluice.core.name, s.Resource),
      })),
    ).toEqual([{ action: ['s3:PutBucketNotification'], resource: 'RawBucket' }]);
  });
});

/** Whether a role is its source stack's schedules' (`ScheduleRole`). */
function isScheduleRole(stack: string, roleId: string): boolean {
  return reader.nameOf(stack, roleId) === 'ScheduleRole';
}

describe("the source stacks' schedule role", () => {
  it("exists once per stack with a schedule, only Scheduler of this account can assume it, and sends only to the scheduled sources' jobs queues and the schedule DLQ", () => {
    const withSchedules = sluice.sourceStacks.filter(({ stack }) =>
      stack.sources.some((s) => s.schedule !== undefined),
    );
    expect(withSchedules.length).toBeGreaterThan(0);
    for (const { name, stack, resources } of sluice.sourceStacks) {
      const scheduled = stack.sources.filter((s) => s.schedule !== undefined);
      const roleIds = resourcesOfType(resources, 'AWS::IAM::Role')
        .map(([id]) => id)
        .filter((id) => isScheduleRole(name, id));
      expect(roleIds, name).toHaveLength(scheduled.length > 0 ? 1 : 0);
      const [roleId] = roleIds;
      if (roleId === undefined) continue;
      expect(resourceById(resources, roleId).Properties.AssumeRolePolicyDocument).toMatchObject({
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      });
      const granted = statementsOfRole(resources, roleId).flatMap(({ statement }) =>
        (statement.Action ?? []).flatMap((action) =>
          (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).map(
            (entry) => `${action} ${reader.resourceName(name, entry)}`,
          ),
        ),
      );
      expect([...new Set(granted)].sort(), name).toEqual(
        [
          ...scheduled.map((s) => `sqs:SendMessage ${pascalCase(s.name)}/Jobs/Queue`),
          'sqs:SendMessage ScheduleDeadLetterQueue',
        ].sort(),
      );
    }
  });
});

describe('at the size of a real fleet (300 generated sources, 40 teams)', () => {
  let fleet: SynthesizedSluice;
  let fleetGrants: Grant[];

  beforeAll(() => {
    fleet = synthesizeSluice({ extraSources: syntheticSources({ sources: 300, owners: 40 }) });
    fleetGrants = new GrantReader(fleet).grants();
  });

  it("every function still may do exactly what its stack's sources need: no grant widened to save bytes", () => {
    expect(fleet.sourceStacks.length).toBeGreaterThan(10);
    expect(matrixOf(fleetGrants)).toEqual(expectedMatrix(fleet));
  });

  it('no collector is granted the whole raw prefix or anything on every resource but tracing', () => {
    const collectorGrants = fleetGrants.filter((g) => COLLECTOR.test(g.fn));

    expect(
      collectorGrants.filter((g) => g.resource === 'RawBucket/raw/*' || g.resource === 'RawBucket/*'),
    ).toEqual([]);
    expect(collectorGrants.filter((g) => g.resource === '*' && !TRACING.includes(g.action))).toEqual([]);
  });
});
