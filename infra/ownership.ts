/**
 * Resource tags generated from the source definitions' owners, so whoever finds a resource in the
 * console (or in a bill) knows who answers for it. Shared resources carry every owner of their role.
 */
import { Tags } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { OwnerRole, SourceDefinition } from '../sources/define.js';
import { PIPELINE_OWNER } from './alarm-catalogue.js';

/** The tag each owner role is written to. `sluice:owner` is who is paged for the resource. */
export const OWNER_TAG = {
  pagedOwner: 'sluice:owner',
  collection: 'sluice:owner:collection',
  transformation: 'sluice:owner:transformation',
  dataStore: 'sluice:owner:data-store',
  businessRules: 'sluice:owner:business-rules',
} as const satisfies { [role in OwnerRole | 'pagedOwner']: string };

/** Tags for everything that belongs to one source (its queues and alarms). */
export function sourceOwnerTags(source: SourceDefinition): { [key: string]: string } {
  return {
    [OWNER_TAG.pagedOwner]: source.owners.collection,
    [OWNER_TAG.collection]: source.owners.collection,
    [OWNER_TAG.transformation]: source.owners.transformation,
    [OWNER_TAG.dataStore]: source.owners.dataStore,
    [OWNER_TAG.businessRules]: source.owners.businessRules,
  };
}

/** AWS refuses a tag value longer than this (CloudFormation fails the deploy). */
export const MAX_TAG_VALUE_LENGTH = 256;

/**
 * A tag value naming every owner, space-separated; when a fleet has more owning teams than fit,
 * it says how many and where they are listed instead of cutting the list short.
 */
export function ownersTagValue(owners: readonly string[]): string {
  const joined = owners.join(' ');
  return joined.length <= MAX_TAG_VALUE_LENGTH ? joined : `${owners.length} teams: see runbooks/OWNERS.md`;
}

/** Tags for a resource shared by `sources`: the pipeline owner is paged; `roles` list every owner. */
export function sharedOwnerTags(
  sources: readonly SourceDefinition[],
  roles: readonly OwnerRole[],
): { [key: string]: string } {
  const tags: { [key: string]: string } = { [OWNER_TAG.pagedOwner]: PIPELINE_OWNER };
  for (const role of roles) {
    const owners = [...new Set(sources.map((s) => s.owners[role]))].sort();
    if (owners.length > 0) tags[OWNER_TAG[role]] = ownersTagValue(owners);
  }
  return tags;
}

export function applyTags(scope: IConstruct, tags: { readonly [key: string]: string }): void {
  for (const [key, value] of Object.entries(tags)) Tags.of(scope).add(key, value);
}
