import { describe, expect, it } from 'vitest';
import { type RunbookDescriptionProps, runbookDescription, runbookUrlIn } from '../../infra/runbook-links.js';

const props: RunbookDescriptionProps = {
  summary: 'Messages are waiting in the demo-catalog jobs dead-letter queue.',
  owner: 'team-collection',
  runbook: 'dlq-messages',
  baseUrl: 'https://example.com/runbooks',
};

/** The description's length for a summary of `n` characters, everything else as in `props`. */
function lengthWithSummaryOf(n: number): number {
  return runbookDescription({ ...props, summary: 'x'.repeat(n) }).length;
}

describe('runbook links in alarm descriptions', () => {
  it('round-trips the runbook URL through the description', () => {
    const description = runbookDescription(props);

    expect(runbookUrlIn(description)).toBe('https://example.com/runbooks/dlq-messages.md');
  });

  it('joins the base URL and the runbook with exactly one slash', () => {
    const description = runbookDescription({ ...props, baseUrl: 'https://example.com/runbooks//' });

    expect(runbookUrlIn(description)).toBe('https://example.com/runbooks/dlq-messages.md');
  });

  it('names the owner on its own line after the summary', () => {
    const description = runbookDescription(props);

    expect(description.split('\n')).toEqual([
      props.summary,
      'Owner: team-collection',
      'Runbook: https://example.com/runbooks/dlq-messages.md',
    ]);
  });

  it('finds no runbook URL in a description without a runbook line', () => {
    expect(runbookUrlIn('Something broke.\nOwner: team-collection')).toBeUndefined();
  });

  it("accepts a description of exactly 1024 characters, CloudWatch's limit", () => {
    const overhead = lengthWithSummaryOf(0);

    const description = runbookDescription({ ...props, summary: 'x'.repeat(1024 - overhead) });

    expect(description).toHaveLength(1024);
    expect(runbookUrlIn(description)).toBe('https://example.com/runbooks/dlq-messages.md');
  });

  it('throws for a description one character over the 1024-character limit', () => {
    const overhead = lengthWithSummaryOf(0);

    expect(() => runbookDescription({ ...props, summary: 'x'.repeat(1025 - overhead) })).toThrow(
      'alarm description is 1025 characters; the limit is 1024',
    );
  });
});
