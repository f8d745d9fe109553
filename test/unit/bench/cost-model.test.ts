import { describe, expect, it } from 'vitest';
import {
  dynamoLine,
  lambdaLines,
  PRICES,
  s3Lines,
  sqsLine,
  totalPerMillionJobs,
  writeUnits,
} from '../../../bench/cost-model.js';

describe('the benchmark cost model', () => {
  it('prices a job that runs one GB-second on arm64 at the arm64 GB-second price per million jobs', () => {
    const [compute, requests] = lambdaLines('collect', {
      memoryMB: 1024,
      architecture: 'arm64',
      msPerJob: 1000,
      invocationsPerJob: 0.5,
    });

    expect(compute?.dollarsPerMillionJobs).toBeCloseTo(PRICES.lambdaGbSecond.arm64 * 1e6, 6);
    expect(requests?.dollarsPerMillionJobs).toBeCloseTo(0.1, 9);
  });

  it('charges x86_64 more than arm64 for the same duration and memory', () => {
    const usage = { memoryMB: 2048, msPerJob: 700, invocationsPerJob: 1 } as const;
    const arm = lambdaLines('b', { ...usage, architecture: 'arm64' })[0]?.dollarsPerMillionJobs ?? 0;
    const x86 = lambdaLines('b', { ...usage, architecture: 'x86_64' })[0]?.dollarsPerMillionJobs ?? 0;

    expect(x86).toBeGreaterThan(arm);
    expect(x86 / arm).toBeCloseTo(PRICES.lambdaGbSecond.x86_64 / PRICES.lambdaGbSecond.arm64, 6);
  });

  it('counts one write unit per started kilobyte, twice inside a transaction', () => {
    expect(writeUnits(1, false)).toBe(1);
    expect(writeUnits(1024, false)).toBe(1);
    expect(writeUnits(1025, false)).toBe(2);
    expect(writeUnits(1500, true)).toBe(4);
    expect(() => writeUnits(0, false)).toThrow(/item size must be positive, got 0/);
  });

  it('prices five S3 PUTs per job at $25 per million jobs and leaves storage out of the per-job total', () => {
    const lines = s3Lines(5, 2, 30_000);

    expect(lines[0]?.dollarsPerMillionJobs).toBeCloseTo(25, 9);
    expect(lines[1]?.dollarsPerMillionJobs).toBeCloseTo(0.8, 9);
    expect(totalPerMillionJobs(lines)).toBeCloseTo(25.8, 9);
  });

  it('adds SQS and DynamoDB lines into the total', () => {
    const lines = [
      sqsLine('collect queue', 2.5, 'send + receive + delete'),
      dynamoLine('records', 20, '20 × 1'),
    ];

    expect(totalPerMillionJobs(lines)).toBeCloseTo(2.5 * 0.4 + 20 * 0.625, 9);
  });
});
