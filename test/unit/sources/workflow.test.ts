import { describe, expect, it } from 'vitest';
import { defineSource, type FailurePoint, type SourceDefinition } from '../../../sources/define.js';
import { demoCatalog } from '../../../sources/demo-catalog/source.js';
import { sources } from '../../../sources/registry.js';
import { workflowProblems } from '../../../sources/workflow.js';

/** demo-catalog with its workflow's failure points replaced. */
function withFailurePoints(failurePoints: readonly FailurePoint[]): SourceDefinition {
  return { ...demoCatalog, workflow: { ...demoCatalog.workflow, failurePoints } };
}

const fetchFails = (overrides: Partial<FailurePoint>): FailurePoint => ({
  step: 'fetch',
  failure: 'the source answers 503',
  reasons: ['http-5xx'],
  handling: 'retry',
  ...overrides,
});

describe('workflowProblems', () => {
  it.each(sources.map((s) => [s.name, s] as const))('finds the workflow of %s complete', (_, source) => {
    expect(workflowProblems(source)).toEqual([]);
  });

  it('reports a failure point that has no handling', () => {
    const source = withFailurePoints([
      ...demoCatalog.workflow.failurePoints,
      { step: 'fetch', failure: 'the source answers 503', reasons: ['http-5xx'] } as unknown as FailurePoint,
    ]);

    expect(workflowProblems(source)).toEqual([
      expect.stringContaining(
        '(the source answers 503) has no handling; expected one of retry, dead-letter, hand-off',
      ),
    ]);
  });

  it('reports a handling that is not one the pipeline has', () => {
    const source = withFailurePoints([fetchFails({ handling: 'ignore' as FailurePoint['handling'] })]);

    expect(workflowProblems(source).join('\n')).toContain('has no handling');
  });

  it('reports a hand-off that names no decision', () => {
    const source = withFailurePoints([
      ...demoCatalog.workflow.failurePoints,
      fetchFails({ handling: 'hand-off', reasons: ['captcha'] }),
    ]);

    expect(workflowProblems(source)).toEqual([expect.stringContaining('hands off but names no decision')]);
  });

  it('reports a failure point at a step the workflow does not have', () => {
    const source = withFailurePoints([...demoCatalog.workflow.failurePoints, fetchFails({ step: 'login' })]);

    expect(workflowProblems(source)).toEqual([expect.stringContaining('names an unknown step login')]);
  });

  it('reports a failure point without reason codes', () => {
    const source = withFailurePoints([...demoCatalog.workflow.failurePoints, fetchFails({ reasons: [] })]);

    expect(workflowProblems(source)).toEqual([expect.stringContaining('names no reason codes')]);
  });

  it('reports a decision that no hand-off reaches', () => {
    const source = withFailurePoints(
      demoCatalog.workflow.failurePoints.filter((p) => p.handling !== 'hand-off'),
    );

    expect(workflowProblems(source)).toEqual([
      'decision no-records is not reached by any hand-off',
      'decision invalid-records is not reached by any hand-off',
      'decision captcha is not reached by any hand-off',
      'decision login-required is not reached by any hand-off',
    ]);
  });

  it('reports a retried failure when the retry budget has no retries', () => {
    const source = { ...demoCatalog, retry: { delaysSeconds: [] } };

    expect(workflowProblems(source).join('\n')).toContain('is retried but the retry budget has no retries');
  });

  it('reports a definition without a workflow', () => {
    const source = { ...demoCatalog, workflow: undefined };

    expect(workflowProblems(source)).toEqual(['no workflow is defined']);
  });
});

describe('defineSource', () => {
  it('refuses a source whose workflow has a failure point with no handling', () => {
    const incomplete = withFailurePoints([
      { step: 'fetch', failure: 'the source answers 503', reasons: ['http-5xx'] } as unknown as FailurePoint,
    ]);

    expect(() => defineSource(incomplete)).toThrow(
      /demo-catalog: the workflow is incomplete: .*has no handling/,
    );
  });
});
