/**
 * The demo site's fault-route sources are test fixtures: the local environment synthesizes them
 * (context `sluice:fixtureSources`), a deployment never does.
 */
import { describe, expect, it } from 'vitest';
import { fixtureSources, sources } from '../../sources/registry.js';
import { synthesizeSluice } from './sluice-template.js';

function sourceTagsOfQueues(context: { [key: string]: unknown }): Set<string> {
  const { stacks } = synthesizeSluice({ context });
  const queues = stacks.flatMap(({ template }) => Object.values(template.findResources('AWS::SQS::Queue')));
  return new Set(
    queues.flatMap((queue) => {
      const tags: unknown = queue.Properties?.Tags;
      return Array.isArray(tags)
        ? tags.flatMap((tag: { Key?: unknown; Value?: unknown }) =>
            tag.Key === 'sluice:source' && typeof tag.Value === 'string' ? [tag.Value] : [],
          )
        : [];
    }),
  );
}

describe('test-fixture sources', () => {
  it('are not in the stack a deployment synthesizes', () => {
    const deployed = sourceTagsOfQueues({});

    expect([...deployed].sort()).toEqual(sources.map((s) => s.name).sort());
    for (const fixture of fixtureSources) expect(deployed.has(fixture.name)).toBe(false);
  });

  it('are in the stack the local environment synthesizes', () => {
    const local = sourceTagsOfQueues({ 'sluice:fixtureSources': 'true' });

    for (const fixture of fixtureSources) expect(local.has(fixture.name)).toBe(true);
  });
});
