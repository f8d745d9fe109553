/**
 * Dollars per million jobs per source kind, from a run's figures and bench/cost-model.ts, and the
 * section of RESULTS.md that shows the working.
 */
import {
  type CostLine,
  dynamoLine,
  lambdaLines,
  logsLine,
  PRICES,
  PRICES_AS_OF,
  s3Lines,
  sqsLine,
  totalPerMillionJobs,
  writeUnits,
} from '../cost-model.js';
import { formatNumber as n } from '../stats.js';
import { table } from './markdown.js';
import type { BenchRun } from './run-file.js';

/** A claim item (job key, source, trace ID, lease, collectedAt, manifest key) stays under 1 KiB. */
const CLAIM_ITEM_BYTES = 1024;

/** Cost lines per source kind, from the pipeline's measured durations and the other parts' counts. */
export function costBySource(run: BenchRun): Map<string, CostLine[]> | undefined {
  const { pipeline, browser, http, transform, replay } = run;
  if (pipeline === undefined || browser === undefined || http === undefined) return undefined;
  if (transform === undefined || replay === undefined) return undefined;
  const config = run.functionConfig ?? run.coldStart?.functions;
  if (config === undefined) return undefined;
  const arch = (entry: string) => config.find((f) => f.entry === entry)?.architecture ?? 'x86_64';
  const fn = (entry: string) => {
    const usage = pipeline.functions.find((f) => f.entry === entry);
    if (usage === undefined || usage.messages === 0) throw new Error(`the pipeline ran no ${entry}`);
    return usage;
  };
  const transformFn = fn('functions/transform/handler.ts');
  const transformStages = pipeline.stages.filter((s) => s.stage === 'transform');
  const transformTotal = transformStages.reduce((sum, s) => sum + s.totalMs, 0);
  const calls = pipeline.sqsCalls;
  const received = Math.max(1, pipeline.sqsMessagesReceived);
  const receivesPerMessage = (calls.ReceiveMessageCommand ?? 0) / received;
  const deletesPerMessage =
    ((calls.DeleteMessageBatchCommand ?? 0) + (calls.DeleteMessageCommand ?? 0)) / received;
  const totalLogBytes = pipeline.functions.reduce((sum, f) => sum + f.logBytes, 0);
  const summaryBytes = pipeline.ledgerSummaryItemBytes;
  // Write units per record of a first load, the transform as it runs (part 3): refused
  // conditional writes included, since DynamoDB bills them too.
  const writesPerRecord = transform.variants[0]?.phases.firstLoad.writeUnitsPerRecord ?? 1;

  const result = new Map<string, CostLine[]>();
  const kinds = [
    {
      source: http.source,
      collection: http,
      entry: 'functions/collector/http-handler.ts',
      recordsPerJob: transform.recordsPerRepeat / transform.manifestsPerRepeat,
    },
    {
      source: browser.source,
      collection: browser,
      entry: 'functions/collector/browser-handler.ts',
      recordsPerJob: replay.records / Math.max(1, replay.manifests),
    },
  ];
  for (const kind of kinds) {
    const collector = fn(kind.entry);
    const stage = (name: string) => pipeline.stages.find((s) => s.source === kind.source && s.stage === name);
    const collect = stage('collect');
    const transformStage = stage('transform');
    if (collect === undefined || transformStage === undefined) continue;
    const transformShare = transformStage.totalMs / Math.max(1, transformTotal);
    const transformMsPerJob = (transformFn.totalDurationMs * transformShare) / transformStage.attempts;
    const recordBytes = pipeline.recordItemBytes[kind.source];
    const ledgerWrites = (attemptBytes: number) =>
      writeUnits(attemptBytes, true) +
      writeUnits(summaryBytes, true) +
      writeUnits(attemptBytes, false) +
      writeUnits(summaryBytes, false);
    const lines: CostLine[] = [
      ...lambdaLines('collector', {
        memoryMB: collector.memoryMB,
        architecture: arch(kind.entry),
        msPerJob: collector.totalDurationMs / collector.messages,
        invocationsPerJob: collector.invocations / collector.messages,
      }),
      ...lambdaLines('transform', {
        memoryMB: transformFn.memoryMB,
        architecture: arch('functions/transform/handler.ts'),
        msPerJob: transformMsPerJob,
        invocationsPerJob: transformFn.invocations / transformFn.messages,
      }),
      sqsLine(
        'jobs queue + transform queue',
        2 + 2 * (receivesPerMessage + deletesPerMessage),
        `(1 send by upstream + 1 send by the S3 notification) + 2 messages × (${receivesPerMessage.toFixed(3)} receives + ${deletesPerMessage.toFixed(3)} batch deletes per message, measured)`,
      ),
      ...s3Lines(kind.collection.sluicePutsPerPage, 2, kind.collection.sluiceBytesPerPage),
      dynamoLine(
        'job ledger (collect + transform attempts, with byTrace index)',
        ledgerWrites(collect.attemptItemBytes) + ledgerWrites(transformStage.attemptItemBytes),
        `2 attempts × [transaction: attempt item (${collect.attemptItemBytes} / ${transformStage.attemptItemBytes} B) ×2 + summary item (${summaryBytes} B) ×2; index copies ×1]`,
      ),
      dynamoLine(
        "collection claim (the job's claim item, with byTrace index)",
        writeUnits(CLAIM_ITEM_BYTES, false) * 2 + writeUnits(CLAIM_ITEM_BYTES, true) + 1,
        `claim (a conditional UpdateItem, ${CLAIM_ITEM_BYTES} B or less) ×1 + index copy ×1; collectedAt set and the claim released in the collect transaction ×2 + index copy ×1 (a failed attempt releases it with a conditional UpdateItem of its own, 2 more)`,
      ),
      dynamoLine(
        'records (conditional upserts)',
        Math.round(kind.recordsPerJob) * writeUnits(recordBytes ?? 1, false) * writesPerRecord,
        `${Math.round(kind.recordsPerJob)} records × ${writeUnits(recordBytes ?? 1, false)} WRU (${
          recordBytes === undefined
            ? 'size not sampled in this run; under 1 KB assumed'
            : `${recordBytes} B each`
        }) × ${writesPerRecord.toFixed(2)} writes per record (measured in part 3, a first load; a refused conditional write is billed too)`,
      ),
      logsLine(totalLogBytes / Math.max(1, pipeline.succeeded)),
    ];
    result.set(kind.source, lines);
  }
  return result;
}

/** Lambda compute (priced by measured duration) and everything priced per request or byte. */
export function splitCost(lines: readonly CostLine[]): { compute: number; requests: number } {
  const compute = lines.filter((l) => l.unit === 'GB-s').reduce((sum, l) => sum + l.dollarsPerMillionJobs, 0);
  return { compute, requests: totalPerMillionJobs(lines) - compute };
}

/** ## 7: the cost arithmetic, line by line; undefined when the run lacks a part it needs. */
export function costSection(run: BenchRun): string | undefined {
  const cost = costBySource(run);
  if (cost === undefined) return undefined;
  {
    const sections = [...cost].map(
      ([source, lines]) => `### ${source}: $${n(totalPerMillionJobs(lines))} per million jobs

Lambda compute $${n(splitCost(lines).compute)}, priced from durations measured here (an upper bound:
every call to S3 and DynamoDB went to moto, one DynamoDB request at a time, on two shared cores);
everything priced per request or per byte $${n(splitCost(lines).requests)} (exact counts, independent of speed).

${table(
  ['service', 'item', 'per job', 'working', '$ / million jobs'],
  lines.map((l) => [
    l.service,
    l.item,
    `${l.quantityPerJob.toPrecision(3)} ${l.unit}`,
    l.formula,
    `$${n(l.dollarsPerMillionJobs)}`,
  ]),
)}
`,
    );
    return `## 7. Cost per million jobs

List prices, region ${PRICES.region}, written down on ${PRICES_AS_OF} (first tier, no free tier;
DynamoDB on-demand at the rates in force since AWS halved them in November 2024). They are not fetched
by the benchmark — this machine reaches no AWS price list — so check them against AWS's pricing
pages before quoting a figure:
Lambda $${PRICES.lambdaGbSecond.arm64}/GB-s arm64 and $${PRICES.lambdaGbSecond.x86_64}/GB-s x86_64, $${PRICES.lambdaPerMillionRequests} per million requests;
SQS standard $${PRICES.sqsPerMillionRequests} per million requests (each 64 KiB of payload is one request);
S3 Standard $${PRICES.s3PutPerThousand} per 1,000 PUTs, $${PRICES.s3GetPerThousand} per 1,000 GETs, $${PRICES.s3StandardGbMonth} per GB-month;
DynamoDB on-demand $${PRICES.dynamoPerMillionWriteUnits} per million write request units (a transactional write costs two per KB);
CloudWatch Logs $${PRICES.cloudWatchLogsIngestedPerGb} per GB ingested.

Durations are the pipeline run's (part 6): each function's invocation time, cold starts and
their initialisation included (Lambda bills INIT), divided among the messages it processed; the
transform's time is split between sources by their share of transform attempt time in the
ledger. Memory and architecture come from the synthesized template. Item sizes are computed from
the items read back from the ledger and records tables. Requests per message are the pollers'
measured ones. Not included: the idle long-polling of event source mappings (a fixed cost per
queue, not per job), X-Ray traces, CloudWatch metrics and alarms (per metric-month), KMS calls of
the AWS-managed table keys, data transfer.

${sections.join('\n')}`;
  }
}
