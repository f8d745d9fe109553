/**
 * Least privilege, read from the synthesized template: every statement attached to each Sluice
 * function's role, resolved to the Sluice resources it names (by construct path, e.g.
 * `RawBucket/raw/source=demo-catalog/*`, `JobLedgerTable`, `DemoCatalogJobs/DeadLetterQueue`),
 * is compared with the matrix below. A new grant, a wider action or resource, a new function or
 * a new role fails this test until the matrix is changed on purpose, in review.
 *
 * The matrix says what each function may do; the statements after it say what must never be
 * allowed whatever the matrix grows into.
 */
import { isDeepStrictEqual } from 'node:util';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
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
  sluiceFunctions,
  synthesizeSluice,
} from './sluice-template.js';

/** One allowed action on one resource, as a function's role holds it. */
interface Grant {
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

/** Everything each Sluice function may do, and to what. */
const EXPECTED: Matrix = {
  HttpCollector: {
    '*': TRACING,
    'HttpCollector/Logs': LOGS,
    'RawBucket/raw/source=demo-catalog/*': ['s3:GetObject', 's3:PutObject'],
    'RawBucket/raw/source=demo-inventory/*': ['s3:GetObject', 's3:PutObject'],
    'RawBucket/raw/source=demo-shipments/*': ['s3:GetObject', 's3:PutObject'],
    [listRaw('demo-catalog', 'demo-inventory', 'demo-shipments')]: ['s3:ListBucket'],
    JobLedgerTable: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    ...HANDOFF,
    'DemoCatalogJobs/Queue': CONSUME,
    'DemoCatalogJobs/DeadLetterQueue': ['sqs:SendMessage'],
    'DemoInventoryJobs/Queue': CONSUME,
    'DemoInventoryJobs/DeadLetterQueue': ['sqs:SendMessage'],
    'DemoShipmentsJobs/Queue': CONSUME,
    'DemoShipmentsJobs/DeadLetterQueue': ['sqs:SendMessage'],
  },
  BrowserCollector: {
    '*': TRACING,
    'BrowserCollector/Logs': LOGS,
    'RawBucket/raw/source=demo-rates/*': ['s3:GetObject', 's3:PutObject'],
    'RawBucket/raw/source=demo-portal/*': ['s3:GetObject', 's3:PutObject'],
    [listRaw('demo-rates', 'demo-portal')]: ['s3:ListBucket'],
    JobLedgerTable: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    ...HANDOFF,
    DemoPortalCredentials: ['secretsmanager:GetSecretValue'],
    'DemoRatesJobs/Queue': CONSUME,
    'DemoRatesJobs/DeadLetterQueue': ['sqs:SendMessage'],
    'DemoPortalJobs/Queue': CONSUME,
    'DemoPortalJobs/DeadLetterQueue': ['sqs:SendMessage'],
  },
  Transform: {
    '*': TRACING,
    'Transform/Logs': LOGS,
    'RawBucket/raw/*': ['s3:GetObject'],
    RecordsTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    JobLedgerTable: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    ...HANDOFF,
    'TransformQueue/Queue': CONSUME,
    'TransformQueue/DeadLetterQueue': ['sqs:SendMessage'],
  },
  'Operations/FreshnessChecker/Function': {
    '*': TRACING,
    'Operations/FreshnessChecker/Function/Logs': LOGS,
    JobLedgerTable: ['dynamodb:BatchGetItem'],
    'HandoffTasksTable/index/byStatus': ['dynamodb:Query'],
  },
};

let sluice: SynthesizedSluice;
/** Construct path (relative to the stack, without `/Resource`) of every logical ID. */
let pathOf: Map<string, string>;
/** Every grant of every Sluice function, resolved to resource names. */
let grants: Grant[];
/** Function name → its role's logical ID. */
let roles: Map<string, string>;

const StringOrList = z.union([z.string().transform((s) => [s]), z.array(z.string())]);
const GetAtt = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.literal('Arn')]) }).strict();
const Join = z.object({ 'Fn::Join': z.tuple([z.literal(''), z.array(z.unknown())]) }).strict();

function nameOf(logicalId: string): string {
  const path = pathOf.get(logicalId);
  if (path === undefined) throw new Error(`${logicalId} is not a resource of the Sluice stack`);
  return path;
}

/**
 * The name of what a Resource entry names: `*`, a resource's path (`{ Ref }`, `{ Fn::GetAtt: Arn }`),
 * or a path plus a literal suffix (`{ Fn::Join: ['', [<arn>, '/raw/*']] }`). Anything else is an
 * expression this test does not know yet, and fails it: a grant it cannot read is not least privilege.
 */
function resourceName(entry: unknown): string {
  if (entry === '*') return '*';
  const ref = refTarget(entry);
  if (ref !== undefined) return nameOf(ref);
  const getAtt = GetAtt.safeParse(entry);
  if (getAtt.success) return nameOf(getAtt.data['Fn::GetAtt'][0]);
  const join = Join.safeParse(entry);
  if (join.success) {
    const [head, ...rest] = join.data['Fn::Join'][1];
    if (rest.every((part) => typeof part === 'string')) return `${resourceName(head)}${rest.join('')}`;
  }
  throw new Error(`a policy names a resource this test cannot resolve: ${JSON.stringify(entry)}`);
}

function grantsOfRole(fn: string, roleId: string): Grant[] {
  return statementsOfRole(sluice.resources, roleId).flatMap(({ origin, statement }) => {
    if (statement.Effect !== 'Allow') throw new Error(`${origin} is a Deny in a function's own policy`);
    if (statement.NotAction !== undefined || statement.NotResource !== undefined)
      throw new Error(`${origin} uses NotAction or NotResource, which grants nearly everything`);
    const condition = statement.Condition === undefined ? '' : ` if ${JSON.stringify(statement.Condition)}`;
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    return (statement.Action ?? []).flatMap((action) =>
      resources.map((entry) => ({ fn, action, resource: `${resourceName(entry)}${condition}` })),
    );
  });
}

function matrixOf(list: readonly Grant[]): Matrix {
  const matrix: Matrix = {};
  for (const { fn, resource, action } of list) {
    const row = matrix[fn] ?? {};
    matrix[fn] = row;
    row[resource] = [...new Set([...(row[resource] ?? []), action])].sort();
  }
  return matrix;
}

function sorted(matrix: Matrix): Matrix {
  return Object.fromEntries(
    Object.entries(matrix).map(([fn, row]) => [
      fn,
      Object.fromEntries(Object.entries(row).map(([resource, actions]) => [resource, [...actions].sort()])),
    ]),
  );
}

/** Grants of `fn` whose action could match `actionPattern` on a resource starting with `prefix`. */
function reaching(fn: string | RegExp, actionPattern: string, prefix: string): Grant[] {
  return grants.filter(
    (g) =>
      (typeof fn === 'string' ? g.fn === fn : fn.test(g.fn)) &&
      (g.resource === '*' || g.resource.startsWith(prefix)) &&
      patternsOverlap(g.action, actionPattern),
  );
}

beforeAll(() => {
  sluice = synthesizeSluice();
  pathOf = new Map(
    sluice.stack.node
      .findAll()
      .filter((construct): construct is CfnElement => construct instanceof CfnElement)
      .map((element) => [
        Stack.of(element).getLogicalId(element),
        element.node.path.replace(/^Sluice\//, '').replace(/\/Resource$/, ''),
      ]),
  );
  roles = new Map(
    sluiceFunctions(sluice.resources).map(([functionId]) => [
      // The PipelineFunction's path: `HttpCollector/Function` → `HttpCollector`.
      nameOf(functionId).replace(/\/Function$/, ''),
      roleOfFunction(sluice.resources, functionId),
    ]),
  );
  grants = [...roles].flatMap(([fn, roleId]) => grantsOfRole(fn, roleId));
});

describe('each Sluice function', () => {
  it('may do exactly what the matrix says, to exactly the resources it names', () => {
    expect(matrixOf(grants)).toEqual(sorted(EXPECTED));
  });

  it('has a role of its own that only Lambda can assume, with no managed policy', () => {
    const AssumeRole = z.object({
      Statement: z.array(z.object({ Action: StringOrList, Effect: z.string(), Principal: z.unknown() })),
    });

    const roleIds = [...roles.values()];
    for (const roleId of roleIds) {
      const role = resourceById(sluice.resources, roleId);
      expect(AssumeRole.parse(role.Properties.AssumeRolePolicyDocument).Statement, roleId).toEqual([
        { Action: ['sts:AssumeRole'], Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
      expect(managedPolicyArnsOfRole(role), roleId).toEqual([]);
    }
    expect(new Set(roleIds).size).toBe(roles.size);
  });
});

describe('whatever the matrix grows into', () => {
  it('no function is granted an action with a wildcard', () => {
    expect(grants.length).toBeGreaterThan(0);
    expect(grants.filter((g) => /[*?]/.test(g.action))).toEqual([]);
  });

  it('only X-Ray tracing is granted on every resource (*)', () => {
    const onEverything = grants.filter((g) => g.resource === '*');

    expect(onEverything.length).toBeGreaterThan(0);
    expect(onEverything.filter((g) => !TRACING.includes(g.action))).toEqual([]);
  });

  it('the collectors cannot delete raw objects, change their retention, or read their versions', () => {
    const collectors = /Collector$/;

    expect(reaching(collectors, 's3:PutObject', 'RawBucket').length).toBeGreaterThan(0);
    for (const pattern of [
      's3:DeleteObject*',
      's3:BypassGovernanceRetention',
      's3:GetObjectVersion*',
      's3:GetObjectRetention',
      's3:PutObjectRetention',
      's3:PutObjectLegalHold',
    ]) {
      expect(reaching(collectors, pattern, 'RawBucket'), pattern).toEqual([]);
    }
  });

  // Reading is for what the chaos run found: a retried put that S3 stored before answering 500
  // reads the object back, and a delivery taking over from one that died looks for its collection.
  it('a collector writes, reads and lists raw objects only under the sources it collects', () => {
    for (const [kind, collector] of sluice.stack.collectors) {
      const fn = nameOf(
        Stack.of(collector).getLogicalId(collector.function.node.defaultChild as CfnElement),
      ).replace(/\/Function$/, '');
      const ownSources = sluice.stack.sources.filter((s) => s.kind === kind).map((s) => s.name);
      const own = ownSources.map((name) => `RawBucket/raw/source=${name}/*`);

      for (const action of ['s3:PutObject', 's3:GetObject']) {
        const prefixes = reaching(fn, action, 'RawBucket').map((g) => g.resource);
        expect(prefixes.sort(), `${fn} ${action}`).toEqual(own.sort());
      }
      expect(
        reaching(fn, 's3:ListBucket', 'RawBucket').map((g) => g.resource),
        `${fn} s3:ListBucket`,
      ).toEqual([listRaw(...ownSources)]);
    }
  });

  it('the collectors cannot read or write records', () => {
    expect(reaching(/Collector$/, 'dynamodb:*', 'RecordsTable')).toEqual([]);
  });

  it('the transform cannot write or delete raw objects, only read them', () => {
    expect(reaching('Transform', 's3:GetObject', 'RawBucket').map((g) => g.resource)).toEqual([
      'RawBucket/raw/*',
    ]);
    for (const pattern of [
      's3:Put*',
      's3:Delete*',
      's3:BypassGovernanceRetention',
      's3:Abort*',
      's3:Restore*',
    ]) {
      expect(reaching('Transform', pattern, 'RawBucket'), pattern).toEqual([]);
    }
  });

  it('only the browser collector can read the portal secret, and no role in the template can change it', () => {
    const everyRole = resourcesOfType(sluice.resources, 'AWS::IAM::Role').map(([roleId]) => roleId);
    const secretActions = everyRole.flatMap((roleId) =>
      statementsOfRole(sluice.resources, roleId)
        .filter(({ statement }) =>
          (statement.Action ?? []).some((a) => patternsOverlap(a, 'secretsmanager:*')),
        )
        .map(({ statement }) => ({ roleId, actions: statement.Action, resource: statement.Resource })),
    );

    expect(reaching(/.*/, 'secretsmanager:*', 'DemoPortalCredentials')).toEqual([
      { fn: 'BrowserCollector', resource: 'DemoPortalCredentials', action: 'secretsmanager:GetSecretValue' },
    ]);
    expect(secretActions.map((s) => s.roleId)).toEqual([roles.get('BrowserCollector')]);
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
    const functionRoles = new Set(roles.values());
    const others = resourcesOfType(sluice.resources, 'AWS::IAM::Role').filter(
      ([roleId]) => !functionRoles.has(roleId),
    );
    const [handler, ...rest] = others;

    expect(rest).toEqual([]);
    const [handlerRoleId = '', handlerRole] = handler ?? [];
    expect(nameOf(handlerRoleId)).toMatch(/^BucketNotificationsHandler[0-9a-f]+\/Role$/);
    expect(
      managedPolicyArnsOfRole(handlerRole ?? resourceById(sluice.resources, handlerRoleId)).every((arn) =>
        isDeepStrictEqual(arn, {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
          ],
        }),
      ),
    ).toBe(true);
    const statements = resourcesOfType(sluice.resources, 'AWS::IAM::Policy')
      .filter(([, policy]) =>
        z
          .array(z.unknown())
          .parse(policy.Properties.Roles)
          .some((role) => refTarget(role) === handlerRoleId),
      )
      .flatMap(([, policy]) => PolicyDocument.parse(policy.Properties.PolicyDocument).Statement);
    expect(statements.map((s) => ({ action: s.Action, resource: resourceName(s.Resource) }))).toEqual([
      { action: ['s3:PutBucketNotification'], resource: 'RawBucket' },
    ]);
  });
});
