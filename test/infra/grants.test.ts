import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { sources } from '../../sources/registry.js';
import {
  type AttachedStatement,
  grantsOf,
  managedPolicyArnsOfRole,
  PolicyStatement,
  type ResourceOfInterest,
  roleOfFunction,
  statementsOfRole,
} from './iam-statements.js';
import {
  logicalIdOf,
  queueConsumers,
  resourceById,
  type SynthesizedSluice,
  synthesizeSluice,
} from './sluice-template.js';

let sluice: SynthesizedSluice;
let rawBucket: ResourceOfInterest;
let recordsTable: ResourceOfInterest;
/** Roles of the functions that consume source jobs queues, by function logical ID. */
let collectorRoles: Map<string, string>;
/** Roles of the functions that consume the transform queue, by function logical ID. */
let transformRoles: Map<string, string>;

beforeAll(() => {
  sluice = synthesizeSluice();
  rawBucket = { logicalId: logicalIdOf(sluice.stack.rawBucket), arnPattern: 'arn:*:s3:::*' };
  recordsTable = {
    logicalId: logicalIdOf(sluice.stack.recordsTable),
    arnPattern: 'arn:*:dynamodb:*:*:table/*',
  };

  const jobsQueueIds = new Set(
    [...sluice.stack.sourceQueues.values()].map((pair) => logicalIdOf(pair.queue)),
  );
  const transformQueueId = logicalIdOf(sluice.stack.transformQueue.queue);
  const consumers = queueConsumers(sluice.resources);
  const rolesOf = (consumes: (queueId: string) => boolean) =>
    new Map(
      consumers
        .filter((consumer) => consumes(consumer.queueId))
        .map((consumer) => [consumer.functionId, roleOfFunction(sluice.resources, consumer.functionId)]),
    );
  collectorRoles = rolesOf((id) => jobsQueueIds.has(id));
  transformRoles = rolesOf((id) => id === transformQueueId);
});

const BASIC_EXECUTION_ROLE = ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

function isBasicExecutionRole(arn: unknown): boolean {
  if (typeof arn === 'string') return arn.endsWith(BASIC_EXECUTION_ROLE) && /^arn:[\w-]+:iam::aws:/.test(arn);
  return isDeepStrictEqual(arn, {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, BASIC_EXECUTION_ROLE]],
  });
}

function allowsListBucket(statement: PolicyStatement, bucket: ResourceOfInterest): boolean {
  return (
    statement.Effect === 'Allow' &&
    (statement.Action ?? []).includes('s3:ListBucket') &&
    JSON.stringify(statement.Resource).includes(`"${bucket.logicalId}"`)
  );
}

function statementsOf(roles: ReadonlyMap<string, string>): AttachedStatement[] {
  return [...roles.values()].flatMap((roleId) => statementsOfRole(sluice.resources, roleId));
}

describe('the grant checker', () => {
  const allow = (Action: string | string[], Resource: unknown): AttachedStatement => ({
    origin: 'example',
    statement: PolicyStatement.parse({ Effect: 'Allow', Action, Resource }),
  });
  const bucket: ResourceOfInterest = { logicalId: 'RawBucketABC', arnPattern: 'arn:*:s3:::*' };
  const bucketObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['RawBucketABC', 'Arn'] }, '/raw/*']] };

  it('counts s3:*, s3:Delete* and * as delete access, in a string or a list', () => {
    const statements = [
      allow('s3:*', bucketObjects),
      allow(['s3:GetObject', 's3:Delete*'], bucketObjects),
      allow('*', '*'),
      allow('S3:DELETEOBJECTVERSION', bucketObjects),
    ];

    expect(grantsOf(statements, 's3:DeleteObject*', bucket)).toHaveLength(4);
  });

  it('does not count reads, puts, other resources or denials as delete access', () => {
    const statements = [
      allow(['s3:GetObject*', 's3:List*', 's3:PutObject', 's3:Abort*'], bucketObjects),
      allow('s3:DeleteObject', { 'Fn::GetAtt': ['OtherBucket', 'Arn'] }),
      {
        origin: 'deny',
        statement: PolicyStatement.parse({ Effect: 'Deny', Action: 's3:*', Resource: bucketObjects }),
      },
    ];

    expect(grantsOf(statements, 's3:DeleteObject*', bucket)).toEqual([]);
  });
});

describe('collector roles', () => {
  it('are found for every collector kind the registry uses', () => {
    const kinds = new Set(sources.map((source) => source.kind));

    expect(collectorRoles.size).toBe(kinds.size);
  });

  it('cannot delete raw objects', () => {
    const statements = statementsOf(collectorRoles);

    expect(statements.length).toBeGreaterThan(0);
    expect(grantsOf(statements, 's3:DeleteObject*', rawBucket)).toEqual([]);
  });

  it('may list the raw bucket only under raw/, the prefix raw objects live under', () => {
    const listing = statementsOf(collectorRoles).filter(({ statement }) =>
      allowsListBucket(statement, rawBucket),
    );

    expect(listing.length).toBe(collectorRoles.size);
    for (const { statement } of listing) {
      expect(statement.Condition).toEqual({ StringLike: { 's3:prefix': ['raw/*'] } });
    }
  });

  it('have no access to the records table', () => {
    const statements = statementsOf(collectorRoles);

    expect(statements.length).toBeGreaterThan(0);
    expect(grantsOf(statements, 'dynamodb:*', recordsTable)).toEqual([]);
  });
});

describe('the transform role', () => {
  it('is found for the one function that consumes the transform queue', () => {
    expect(transformRoles.size).toBe(1);
  });

  it('cannot write raw objects', () => {
    const statements = statementsOf(transformRoles);

    expect(statements.length).toBeGreaterThan(0);
    expect(grantsOf(statements, 's3:Put*', rawBucket)).toEqual([]);
  });

  it('cannot delete raw objects', () => {
    const statements = statementsOf(transformRoles);

    expect(statements.length).toBeGreaterThan(0);
    expect(grantsOf(statements, 's3:DeleteObject*', rawBucket)).toEqual([]);
  });
});

describe('every Sluice function role', () => {
  it('attaches no managed policy but basic Lambda execution (logs only)', () => {
    const roleIds = new Set([...collectorRoles.values(), ...transformRoles.values()]);

    const others = [...roleIds].flatMap((roleId) =>
      managedPolicyArnsOfRole(resourceById(sluice.resources, roleId))
        .filter((arn) => !isBasicExecutionRole(arn))
        .map((arn) => `${roleId}: ${JSON.stringify(arn)}`),
    );

    expect(roleIds.size).toBeGreaterThan(0);
    expect(others).toEqual([]);
  });
});
