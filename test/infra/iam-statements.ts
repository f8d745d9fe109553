/**
 * Reads what a role may do from the template: every statement of every policy attached to it,
 * and a wildcard-aware comparison of IAM action patterns.
 */
import { z } from 'zod';
import {
  type CfnResource,
  getAttTarget,
  type Resources,
  refTarget,
  resourceById,
} from './sluice-template.js';

const StringOrList = z.union([z.string().transform((s) => [s]), z.array(z.string())]);

export const PolicyStatement = z.object({
  Effect: z.enum(['Allow', 'Deny']),
  Action: StringOrList.optional(),
  NotAction: StringOrList.optional(),
  Resource: z.unknown().optional(),
  NotResource: z.unknown().optional(),
  Principal: z.unknown().optional(),
  Condition: z.unknown().optional(),
});
export type PolicyStatement = z.infer<typeof PolicyStatement>;

export const PolicyDocument = z.object({
  Statement: z.union([z.array(PolicyStatement), PolicyStatement.transform((s) => [s])]),
});

export interface AttachedStatement {
  /** Where the statement lives, for failure messages: `PolicyLogicalId#3`. */
  readonly origin: string;
  readonly statement: PolicyStatement;
}

const RoleProps = z.object({
  Policies: z.array(z.object({ PolicyDocument })).default([]),
  ManagedPolicyArns: z.array(z.unknown()).default([]),
});
const AttachedPolicyProps = z.object({ PolicyDocument, Roles: z.array(z.unknown()).default([]) });

/** The logical ID of a Lambda function's execution role (`Role: { Fn::GetAtt: [role, Arn] }`). */
export function roleOfFunction(resources: Resources, functionId: string): string {
  const fn = resourceById(resources, functionId);
  const roleId = getAttTarget(fn.Properties.Role, 'Arn');
  if (roleId === undefined) throw new Error(`${functionId} does not use a role declared in this template`);
  if (resourceById(resources, roleId).Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
  return roleId;
}

/** Every statement in the role's inline policies and in the policies that name it in `Roles`. */
export function statementsOfRole(resources: Resources, roleId: string): AttachedStatement[] {
  const attached: AttachedStatement[] = [];
  const add = (origin: string, statements: readonly PolicyStatement[]) =>
    statements.forEach((statement, index) => {
      attached.push({ origin: `${origin}#${index}`, statement });
    });

  RoleProps.parse(resourceById(resources, roleId).Properties).Policies.forEach((policy, index) => {
    add(`${roleId}.Policies[${index}]`, policy.PolicyDocument.Statement);
  });
  for (const [policyId, policy] of resources) {
    if (policy.Type !== 'AWS::IAM::Policy' && policy.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const props = AttachedPolicyProps.parse(policy.Properties);
    if (props.Roles.some((role) => refTarget(role) === roleId)) add(policyId, props.PolicyDocument.Statement);
  }
  return attached;
}

/** The managed policy ARNs on a role (AWS managed policies cannot be read from the template). */
export function managedPolicyArnsOfRole(role: CfnResource): unknown[] {
  return RoleProps.parse(role.Properties).ManagedPolicyArns;
}

/**
 * Whether two IAM patterns (`*` any run, `?` one character, case-insensitive as IAM compares
 * actions) can match a common string: `s3:*` and `s3:Delete*` both overlap `s3:DeleteObject*`.
 */
export function patternsOverlap(first: string, second: string): boolean {
  const a = first.toLowerCase();
  const b = second.toLowerCase();
  const memo = new Map<string, boolean>();
  const overlap = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    memo.set(key, false);
    let result: boolean;
    if (i === a.length && j === b.length) result = true;
    else if (a[i] === '*') result = overlap(i + 1, j) || (j < b.length && overlap(i, j + 1));
    else if (b[j] === '*') result = overlap(i, j + 1) || (i < a.length && overlap(i + 1, j));
    else if (i === a.length || j === b.length) result = false;
    else result = (a[i] === b[j] || a[i] === '?' || b[j] === '?') && overlap(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return overlap(0, 0);
}
