/**
 * Requirement 7: dollars per million jobs per source kind, from measured durations and item
 * sizes, the configured memory and architecture, and AWS list prices. Pure arithmetic: every
 * line keeps its formula so RESULTS.md can show the working.
 */

/**
 * AWS list prices, us-east-1, as published on the AWS pricing pages for Lambda, SQS, S3,
 * DynamoDB and CloudWatch (first pricing tier, no free tier, no savings plans). Written down on
 * PRICES_AS_OF from the published price lists; re-check them before quoting a figure.
 */
export const PRICES_AS_OF = '2026-11-27';
export const PRICES = {
  region: 'us-east-1',
  lambdaGbSecond: { arm64: 0.0000133334, x86_64: 0.0000166667 },
  lambdaPerMillionRequests: 0.2,
  sqsPerMillionRequests: 0.4,
  s3PutPerThousand: 0.005,
  s3GetPerThousand: 0.0004,
  s3StandardGbMonth: 0.023,
  dynamoPerMillionWriteUnits: 0.625,
  dynamoPerMillionReadUnits: 0.125,
  cloudWatchLogsIngestedPerGb: 0.5,
} as const;

export interface CostLine {
  readonly service: string;
  readonly item: string;
  /** How the per-job quantity was found, e.g. `2 (4 artifacts... )`. */
  readonly quantityPerJob: number;
  readonly unit: string;
  readonly formula: string;
  readonly dollarsPerMillionJobs: number;
}

export interface LambdaUsage {
  readonly memoryMB: number;
  readonly architecture: 'arm64' | 'x86_64';
  /** Billed milliseconds per job: the function's invocation time divided among its jobs. */
  readonly msPerJob: number;
  /** Invocations per job: 1 ÷ the average batch size. */
  readonly invocationsPerJob: number;
}

export function lambdaLines(stage: string, usage: LambdaUsage): CostLine[] {
  const gbSeconds = (usage.msPerJob / 1000) * (usage.memoryMB / 1024);
  const price = PRICES.lambdaGbSecond[usage.architecture];
  return [
    {
      service: 'Lambda',
      item: `${stage} compute (${usage.memoryMB} MB, ${usage.architecture})`,
      quantityPerJob: gbSeconds,
      unit: 'GB-s',
      formula: `${usage.msPerJob.toFixed(1)} ms × ${usage.memoryMB}/1024 GB = ${gbSeconds.toPrecision(4)} GB-s × $${price}/GB-s × 10⁶`,
      dollarsPerMillionJobs: gbSeconds * price * 1e6,
    },
    {
      service: 'Lambda',
      item: `${stage} requests`,
      quantityPerJob: usage.invocationsPerJob,
      unit: 'invocations',
      formula: `${usage.invocationsPerJob.toFixed(3)} invocations × $${PRICES.lambdaPerMillionRequests}/10⁶`,
      dollarsPerMillionJobs: usage.invocationsPerJob * PRICES.lambdaPerMillionRequests,
    },
  ];
}

export function sqsLine(item: string, requestsPerJob: number, formula: string): CostLine {
  return {
    service: 'SQS',
    item,
    quantityPerJob: requestsPerJob,
    unit: 'requests',
    formula: `${formula} = ${requestsPerJob.toFixed(3)} × $${PRICES.sqsPerMillionRequests}/10⁶`,
    dollarsPerMillionJobs: requestsPerJob * PRICES.sqsPerMillionRequests,
  };
}

export function s3Lines(putsPerJob: number, getsPerJob: number, bytesPerJob: number): CostLine[] {
  const gb = bytesPerJob / 1024 ** 3;
  return [
    {
      service: 'S3',
      item: 'PUT (artifacts + manifest)',
      quantityPerJob: putsPerJob,
      unit: 'PUT',
      formula: `${putsPerJob} × $${PRICES.s3PutPerThousand}/1000 × 10⁶`,
      dollarsPerMillionJobs: putsPerJob * PRICES.s3PutPerThousand * 1000,
    },
    {
      service: 'S3',
      item: 'GET (transform: manifest + primary artifact)',
      quantityPerJob: getsPerJob,
      unit: 'GET',
      formula: `${getsPerJob} × $${PRICES.s3GetPerThousand}/1000 × 10⁶`,
      dollarsPerMillionJobs: getsPerJob * PRICES.s3GetPerThousand * 1000,
    },
    {
      service: 'S3',
      item: 'storage, per month kept (not per job)',
      quantityPerJob: bytesPerJob,
      unit: 'bytes',
      formula: `${Math.round(bytesPerJob)} B = ${gb.toPrecision(3)} GB × $${PRICES.s3StandardGbMonth}/GB-month × 10⁶`,
      dollarsPerMillionJobs: gb * PRICES.s3StandardGbMonth * 1e6,
    },
  ];
}

/** Write units of one item write of `bytes`: 1 per started KB, doubled inside a transaction. */
export function writeUnits(bytes: number, transactional: boolean): number {
  if (!(bytes > 0)) throw new RangeError(`item size must be positive, got ${bytes}`);
  return Math.ceil(bytes / 1024) * (transactional ? 2 : 1);
}

export function dynamoLine(item: string, writeUnitsPerJob: number, formula: string): CostLine {
  return {
    service: 'DynamoDB',
    item,
    quantityPerJob: writeUnitsPerJob,
    unit: 'WRU',
    formula: `${formula} = ${writeUnitsPerJob} WRU × $${PRICES.dynamoPerMillionWriteUnits}/10⁶`,
    dollarsPerMillionJobs: writeUnitsPerJob * PRICES.dynamoPerMillionWriteUnits,
  };
}

export function logsLine(bytesPerJob: number): CostLine {
  const gb = bytesPerJob / 1024 ** 3;
  return {
    service: 'CloudWatch Logs',
    item: 'log ingestion (all stages)',
    quantityPerJob: bytesPerJob,
    unit: 'bytes',
    formula: `${Math.round(bytesPerJob)} B × $${PRICES.cloudWatchLogsIngestedPerGb}/GB × 10⁶`,
    dollarsPerMillionJobs: gb * PRICES.cloudWatchLogsIngestedPerGb * 1e6,
  };
}

/** The per-job total of the lines that recur with every job (storage is per month, kept apart). */
export function totalPerMillionJobs(lines: readonly CostLine[]): number {
  return lines
    .filter((l) => !l.item.startsWith('storage'))
    .reduce((sum, l) => sum + l.dollarsPerMillionJobs, 0);
}
