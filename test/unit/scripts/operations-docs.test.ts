import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../local/paths.js';
import {
  generatedOperationsDocs,
  handlingText,
  RUNBOOKS_DIR,
  workflowMap,
} from '../../../scripts/generate-operations-docs.js';
import { demoCatalog } from '../../../sources/demo-catalog/source.js';
import { sources } from '../../../sources/registry.js';

describe('checked-in operations docs', () => {
  for (const [path, expected] of generatedOperationsDocs()) {
    const name = relative(PROJECT_ROOT, path);
    it(`${name} is current (run \`npm run docs\` when this fails)`, () => {
      expect(existsSync(path), `${name} is missing`).toBe(true);
      expect(readFileSync(path, 'utf8')).toBe(expected);
    });
  }

  it('has no workflow map for a source that no longer exists', () => {
    const maps = readdirSync(join(RUNBOOKS_DIR, 'workflows')).sort();

    expect(maps).toEqual(sources.map((s) => `${s.name}.md`).sort());
  });
});

describe('ownership map', () => {
  const owners = readFileSync(join(RUNBOOKS_DIR, 'OWNERS.md'), 'utf8');

  it.each(sources.map((s) => [s.name, s] as const))('names every owner of %s in its row', (name, source) => {
    const row = owners.split('\n').find((line) => line.startsWith(`| \`${name}\``));

    expect(row).toBeDefined();
    for (const owner of Object.values(source.owners)) expect(row).toContain(owner);
  });
});

describe('workflow map', () => {
  const map = workflowMap(demoCatalog);

  it('has a node for every step, in order, from the job to the records', () => {
    const chain = map
      .split('\n')
      .filter((line) => / --> /.test(line) && !line.includes(' -- '))
      .map((line) => line.trim());

    expect(chain).toEqual([
      'job --> step_receive_job',
      'step_receive_job --> step_fetch',
      'step_fetch --> step_store_raw',
      'step_store_raw --> step_parse',
      'step_parse --> step_validate',
      'step_validate --> step_upsert',
      'step_upsert --> records',
    ]);
  });

  it('draws every failure point from its step to where its handling sends it', () => {
    const failureEdges = map.split('\n').filter((line) => line.includes(' -- '));

    expect(failureEdges).toHaveLength(demoCatalog.workflow.failurePoints.length);
    expect(failureEdges).toContain('  step_fetch -- "http-404, http-4xx" --> dlq_source');
    expect(failureEdges).toContain('  step_parse -- "no-records, parse-failed" --> decision_no_records');
    expect(failureEdges).toContain(
      '  step_upsert -- "aws-error, timeout, unexpected, record-contention, transform-deadline" --> retry_transform',
    );
    expect(failureEdges).toContain('  step_upsert -- "retries-exhausted, record-invalid" --> dlq_transform');
  });

  it('says where each handling leads, with the retry budget', () => {
    const [intake] = demoCatalog.workflow.failurePoints;
    const retried = demoCatalog.workflow.failurePoints.find(
      (p) => p.step === 'fetch' && p.handling === 'retry',
    );
    if (intake === undefined || retried === undefined)
      throw new Error('demo-catalog lost its failure points');

    expect(handlingText(demoCatalog, intake)).toBe('dead-letter: demo-catalog DLQ');
    expect(handlingText(demoCatalog, retried)).toBe(
      'retry (retries after 30 s, 5 min, 30 min, then the DLQ)',
    );
  });

  it('quotes labels so Mermaid accepts quotes and brackets in them', () => {
    expect(map).toContain('step_store_raw["3. store-raw · collection (team-collection)"]');
    expect(map).not.toMatch(/\["[^"\n]*"[^\]\n]*"\]/);
  });
});
