/**
 * What the CLI shows an operator, from the data it reads: who resolved a hand-off task and what
 * they decided, and whose a poison message in a source's DLQ is.
 */
import { describe, expect, it } from 'vitest';
import { toDeadLetter } from '../../../cli/commands/dlq.js';
import { renderTasks } from '../../../cli/commands/tasks.js';
import type { StoredTask } from '../../../functions/adapters/handoff-tasks.js';
import { DeadLetterAttribute } from '../../../functions/adapters/work-queues.js';

const NOW = new Date('2026-12-02T12:00:00Z');

const resolved: StoredTask = {
  taskId: 'task#collect-id-42',
  status: 'resolved',
  stage: 'collect',
  jobKey: 'id-42',
  source: 'demo-catalog',
  traceId: 'trace-42',
  reason: 'captcha',
  message: 'the page showed a captcha',
  evidenceKeys: [],
  createdAt: '2026-12-02T10:00:00.000Z',
  resolvedAt: '2026-12-02T11:30:00.000Z',
  resolvedBy: 'ana',
  resolution: 'one-off; requeued as id-43',
};

describe('sluice tasks list --status resolved', () => {
  it('shows who resolved each task, when, and the note they left', () => {
    const text = renderTasks([resolved], 'resolved', NOW);

    expect(text).toContain('1 resolved hand-off task(s)');
    expect(text).toMatch(
      /task#collect-id-42\s+demo-catalog\s+captcha\s+30 min ago\s+ana\s+one-off; requeued as id-43/,
    );
    expect(text).toContain('resolved 2026-12-02T11:30:00.000Z by ana');
    expect(text).toContain('decision  one-off; requeued as id-43');
  });

  it('still lists open tasks by age, without resolution columns', () => {
    const open: StoredTask = { ...resolved, status: 'open', resolvedAt: undefined, resolvedBy: undefined };
    const text = renderTasks([open], 'open', NOW);

    expect(text).not.toContain(' by ');
    expect(text).toContain('task#collect-id-42');
  });
});

describe('sluice dlq show', () => {
  it("names the DLQ's source for a poison message whose body names none", () => {
    const letter = toDeadLetter(
      {
        MessageId: 'm-1',
        Body: 'this is not a job {',
        MessageAttributes: {
          [DeadLetterAttribute.Reason]: { DataType: 'String', StringValue: 'message-not-json' },
          // What the collector wrote before poison was attributed to its queue's source.
          [DeadLetterAttribute.Source]: { DataType: 'String', StringValue: 'unknown' },
        },
      },
      'demo-catalog',
    );

    expect(letter).toMatchObject({ source: 'demo-catalog', jobKey: 'msg-m-1', reason: 'message-not-json' });
  });

  it('keeps the source a message itself names', () => {
    const letter = toDeadLetter(
      { MessageId: 'm-2', Body: JSON.stringify({ jobId: 'j-2', source: 'demo-rates' }) },
      'demo-catalog',
    );

    expect(letter.source).toBe('demo-rates');
  });
});
