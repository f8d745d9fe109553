/**
 * The demo site's fault-route sources are test fixtures: the local environment synthesizes them
 * (context `sluice:fixtureSources`), a deployment never does.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { fixtureSources, sources } from '../../sources/registry.js';
import { RUNBOOK_BASE_URL } from './sluice-template.js';

function sourceTagsOfQueues(context: { [key: string]: unknown }): Set<string> {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], 'sluice:runbookBaseUrl': RUNBOOK_BASE_URL, ...context },
  });
  const { stack } = buildApp(app);
  const queues = Template.fromStack(stack).findResources('AWS::SQS::Queue');
  return new Set(
    Object.values(queues).flatMap((queue) => {
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
