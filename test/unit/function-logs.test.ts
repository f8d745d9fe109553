/**
 * test/support/function-logs.ts (a setup file of this project): function output reaches the
 * console, where vitest shows it only for a failing test, instead of going straight to stdout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger, MetricName, publishMetric } from '../../functions/observability.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('function output in tests', () => {
  it('reaches the console: log lines to console.log or console.error by level, metrics to console.log', () => {
    const logged: string[] = [];
    const errors: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => logged.push(line));
    vi.spyOn(console, 'error').mockImplementation((line: string) => errors.push(line));

    logger.info('collected', { jobKey: 'job-1' });
    logger.error('dead-lettered', { jobKey: 'job-2' });
    publishMetric('demo-catalog', MetricName.DataAge, 60);

    expect(logged.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 'INFO', message: 'collected', jobKey: 'job-1' }),
      expect.objectContaining({ _aws: expect.anything(), source: 'demo-catalog', DataAge: 60 }),
    ]);
    expect(errors.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 'ERROR', message: 'dead-lettered', jobKey: 'job-2' }),
    ]);
  });
});
