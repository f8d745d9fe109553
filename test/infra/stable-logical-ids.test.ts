/**
 * Stateful resources keep their logical IDs, their stacks and their properties when the app
 * changes around them: CloudFormation replaces a resource whose logical ID changes (a new, empty
 * table) and one that moves to another stack (a new queue, its messages left behind). Pinned
 * here: the IDs the deployed app has today, and what adding sources does to them — nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { pascalCase } from '../../infra/constructs/pipeline-alarms.js';
import { syntheticSources } from '../../scripts/limits-synthetic-sources.js';
import { defineSource, type SourceDefinition } from '../../sources/define.js';
import { demoCatalog } from '../../sources/demo-catalog/source.js';
import { demoPortal } from '../../sources/demo-portal/source.js';
import { sources } from '../../sources/registry.js';
import { type CfnResource, type SynthesizedSluice, synthesizeSluice } from './sluice-template.js';

/** Resource types that hold data, or a name other systems use: never to be replaced. */
const STATEFUL = [
  'AWS::DynamoDB::GlobalTable',
  'AWS::DynamoDB::Table',
  'AWS::S3::Bucket',
  'AWS::SQS::Queue',
  'AWS::SecretsManager::Secret',
];

/** `<stack>/<logical ID>` → resource, for every stateful resource of the app. */
function statefulResources(sluice: SynthesizedSluice): Map<string, CfnResource> {
  return new Map(
    sluice.stacks.flatMap(({ name, resources }) =>
      [...resources]
        .filter(([, resource]) => STATEFUL.includes(resource.Type))
        .map(([id, resource]): [string, CfnResource] => [`${name}/${id}`, resource]),
    ),
  );
}

/** A resource as CloudFormation compares it for replacement: its properties and policies, not its tags. */
function identity(resource: CfnResource) {
  const { Tags: _tags, Replicas, ...properties } = resource.Properties;
  const replicas = Array.isArray(Replicas)
    ? Replicas.map((replica) => {
        const { Tags: _replicaTags, ...rest } = replica as { [key: string]: unknown };
        return rest;
      })
    : Replicas;
  return {
    Type: resource.Type,
    Properties: { ...properties, ...(replicas === undefined ? {} : { Replicas: replicas }) },
    DeletionPolicy: resource.DeletionPolicy,
    UpdateReplacePolicy: resource.UpdateReplacePolicy,
  };
}

/** A new source shaped like a registry one, owned by the registry's teams. */
function newSource(template: SourceDefinition, name: string): SourceDefinition {
  return defineSource({
    ...template,
    name,
    origin: `https://${name}.example.com`,
    allowedHosts: [`${name}.example.com`],
  });
}

/** A name no source has yet: a new user's first source may well be `acme-prices`. */
function unusedName(base: string): string {
  const taken = new Set(sources.map((s) => s.name));
  let name = base;
  for (let n = 2; taken.has(name); n += 1) name = `${base}-${n}`;
  return name;
}

let today: SynthesizedSluice;

beforeAll(() => {
  today = synthesizeSluice();
});

describe('the logical IDs of stateful resources', () => {
  it('are the ones the deployed app has (renaming a construct would replace the resource)', () => {
    const ids = [...statefulResources(today).keys()].sort();
    // Sources added since these were pinned add resources of their own, named after them.
    const pinnedSources = new Set([
      'demo-catalog',
      'demo-inventory',
      'demo-portal',
      'demo-rates',
      'demo-shipments',
    ]);
    const added = sources.filter((s) => !pinnedSources.has(s.name)).map((s) => pascalCase(s.name));
    const pinned = ids.filter((id) => !added.some((prefix) => id.split('/')[1]?.startsWith(prefix)));

    expect(pinned).toEqual(
      [
        'Sluice-Sources-01/DemoCatalogJobsDeadLetterQueue881C153D',
        'Sluice-Sources-01/DemoCatalogJobsQueue9F9101A7',
        'Sluice-Sources-01/DemoInventoryJobsDeadLetterQueueD943AD57',
        'Sluice-Sources-01/DemoInventoryJobsQueueFFD68E61',
        'Sluice-Sources-01/DemoPortalJobsDeadLetterQueueCC79ED88',
        'Sluice-Sources-01/DemoPortalJobsQueueE6F32EF6',
        'Sluice-Sources-01/DemoPortalLogin27D0E282',
        'Sluice-Sources-01/DemoRatesJobsDeadLetterQueue25FF1CD7',
        'Sluice-Sources-01/DemoRatesJobsQueueC25DC565',
        'Sluice-Sources-01/DemoShipmentsJobsDeadLetterQueueAE54683B',
        'Sluice-Sources-01/DemoShipmentsJobsQueue35BDD30B',
        'Sluice-Sources-01/ScheduleDeadLetterQueue0D6B48D2',
        'Sluice/ChangeFeedDeadLetterQueue041091C7',
        'Sluice/AccessLogsBucket83982689',
        'Sluice/HandoffTasksTable2A148A70',
        'Sluice/JobLedgerTable69E32C86',
        'Sluice/OperationsFreshnessCheckerScheduleDeadLetterQueue97C417DF',
        'Sluice/RawBucket0C3EE094',
        'Sluice/RecordsTableF6A7F330',
        'Sluice/TransformQueue0BE23189',
        'Sluice/TransformQueueDeadLetterQueue01E7F73D',
      ].sort(),
    );
  });

  it('are kept when the stack is updated or deleted, and removed only when the deploy that made them fails', () => {
    for (const [id, resource] of statefulResources(today)) {
      expect({ id, deletion: resource.DeletionPolicy, replace: resource.UpdateReplacePolicy }).toEqual({
        id,
        deletion: 'RetainExceptOnCreate',
        replace: 'Retain',
      });
    }
  });
});

describe('adding sources', () => {
  let grown: SynthesizedSluice;
  let fleet: SynthesizedSluice;

  beforeAll(() => {
    // One more source of each kind, in the stack that has room...
    grown = synthesizeSluice({
      extraSources: [
        newSource(demoCatalog, unusedName('acme-prices')),
        newSource(demoPortal, unusedName('acme-portal')),
      ],
    });
    // ...and enough to open more stacks.
    fleet = synthesizeSluice({ extraSources: syntheticSources({ sources: 60, owners: 5 }) });
  });

  it.each([
    ['two sources', () => grown],
    ['sixty sources, and two new stacks', () => fleet],
  ])('(%s) leaves every existing stateful resource in its stack, under its ID, as it was', (_, after) => {
    const before = statefulResources(today);
    const now = statefulResources(after());

    expect(now.size).toBeGreaterThan(before.size);
    for (const [id, resource] of before) {
      expect(now.has(id), `${id} is gone or moved`).toBe(true);
      expect(identity(now.get(id) as CfnResource), id).toEqual(identity(resource));
    }
  });

  it('keeps every registered source in the stack it was pinned to', () => {
    for (const source of sources) {
      expect(fleet.stackOf(source.name).name).toBe(today.stackOf(source.name).name);
    }
    expect(fleet.sourceStacks.length).toBeGreaterThan(today.sourceStacks.length);
  });

  it('to a stack that has room does not change the core stack at all', () => {
    expect(grown.sourceStacks.length).toBe(today.sourceStacks.length);
    expect(grown.core.template.toJSON()).toEqual(today.core.template.toJSON());
  });
});
