import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { addJobLogKeys, logger, withJobLogKeys } from '../../functions/observability.js';

let lines: { [key: string]: unknown }[];

beforeEach(() => {
  lines = [];
  // Powertools writes INFO to stdout and WARN/ERROR to stderr.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const line of String(chunk)
        .split('\n')
        .filter((l) => l.startsWith('{')))
        lines.push(JSON.parse(line));
      return true;
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('job log keys', () => {
  it('tag every line of a job with its own keys while jobs of one batch run in parallel', async () => {
    const job = (n: number, delayMs: number) =>
      withJobLogKeys({ messageId: `m${n}` }, async () => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        addJobLogKeys({ traceId: `trace-${n}`, jobKey: `job-${n}`, source: 'demo-catalog' });
        await new Promise((resolve) => setTimeout(resolve, 1));
        logger.info('fetching', { step: n });
      });

    await Promise.all([job(1, 5), job(2, 1)]);

    expect(lines.map((l) => [l.step, l.messageId, l.traceId, l.jobKey])).toEqual([
      [2, 'm2', 'trace-2', 'job-2'],
      [1, 'm1', 'trace-1', 'job-1'],
    ]);
  });

  it('leave keys a line sets itself alone', async () => {
    await withJobLogKeys({ messageId: 'm1', source: 'unknown' }, async () => {
      logger.warn('parsed', { source: 'demo-rates' });
    });

    expect(lines[0]).toMatchObject({ messageId: 'm1', source: 'demo-rates' });
  });

  it('tag nothing outside a job', () => {
    logger.info('cold start');

    expect(lines[0]).not.toHaveProperty('traceId');
    expect(lines[0]).not.toHaveProperty('messageId');
  });
});
