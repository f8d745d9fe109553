/**
 * The chaos checker, fed facts by hand: a clean run passes, and each broken promise the issue
 * names (a lost job, a second collection, a duplicate or stale record write, a retry past the
 * budget, poison outside its DLQ) is counted — so a green chaos run means something.
 */
import { describe, expect, it } from 'vitest';
import type { PublishedChange } from '../../../cli/change-log.js';
import type { RecordItem } from '../../../functions/core/contracts.js';
import { followUpJob } from '../../../functions/core/follow-ups.js';
import { followUpJobKey } from '../../../functions/core/job-key.js';
import type { RecordChangedDetail } from '../../../functions/core/record-changes.js';
import { contentHashOf } from '../../../functions/core/record-upsert.js';
import { checkChaosRun, type HarnessLog, type InvariantName } from '../../../local/chaos/checker.js';
import type { ChaosFacts, ManifestFacts } from '../../../local/chaos/facts.js';
import { type ChaosPlan, DEFAULT_CHAOS_RATES, planChaosRun } from '../../../local/chaos/plan.js';
import { followUpsSentBy } from '../../../local/chaos/scenario.js';
import { catalogPage } from '../../../local/demo-site/data.js';

const NO_FAULTS = {
  ...DEFAULT_CHAOS_RATES,
  layoutChanged: 0,
  duplicateJobMessage: 0,
  collectorCrash: 0,
  poison: 0,
};
/** One catalogue job (tools, page 1): the first job the plan makes. */
const plan: ChaosPlan = planChaosRun({ jobs: 1, seed: 'checker', rates: NO_FAULTS });
const job = plan.jobs[0] as ChaosPlan['jobs'][number];
const quiet: HarnessLog = {
  duplicateDeliveries: new Map(),
  crashes: new Map(),
  redeliveredAfterCrash: new Map(),
};

const products = catalogPage('tools', 1).slice(0, 2);
const entityData = (p: (typeof products)[number]) => ({
  sku: p.sku,
  name: p.name,
  category: 'tools',
  priceCents: p.priceCents,
  currency: p.currency,
  inStock: p.inStock,
  url: `https://catalog.demo.sluice.example/catalog/tools/item/${p.sku}`,
});

function manifest(fetchId: string, observedAt: string): ManifestFacts {
  return {
    key: `raw/source=demo-catalog/dt=2026-11-27/${job.jobKey}/${fetchId}/manifest.json`,
    source: 'demo-catalog',
    jobKey: job.jobKey,
    fetchId,
    observedAt,
    traceId: job.job.traceId,
    followUps: [],
    parserRevision: 1,
    entities: products.map((p) => ({
      entityId: p.sku,
      data: entityData(p),
      contentHash: contentHashOf(entityData(p)),
    })),
  };
}

function record(m: ManifestFacts, index: number, overrides: Partial<RecordItem> = {}): RecordItem {
  const entity = m.entities[index] as ManifestFacts['entities'][number];
  return {
    pk: `demo-catalog#${entity.entityId}`,
    source: 'demo-catalog',
    entityId: entity.entityId,
    data: { ...entity.data },
    observedAt: m.observedAt,
    observationId: m.fetchId,
    parserRevision: 1,
    contentHash: entity.contentHash,
    rawKey: m.key.replace('manifest.json', 'response.html'),
    traceId: job.job.traceId,
    version: 1,
    firstSeenAt: m.observedAt,
    lastSeenAt: m.observedAt,
    lastObservationId: m.fetchId,
    lastParserRevision: 1,
    ...overrides,
  };
}

const first = manifest('20261127T080000000Z-aaaaaaaa', '2026-11-27T08:00:00.000Z');

/** The RecordChanged event the change feed publishes for a record just created. */
function created(r: RecordItem, loggedAt = 1): PublishedChange {
  const detail: RecordChangedDetail = {
    eventId: `${r.source}#${r.entityId}#${r.version}`,
    source: r.source,
    entityId: r.entityId,
    version: r.version,
    previousVersion: r.version - 1,
    change: r.version === 1 ? 'created' : 'updated',
    observedAt: r.observedAt,
    observationId: r.observationId,
    traceId: r.traceId,
    rawKey: r.rawKey,
    data: r.data,
    previousData: null,
    changes: Object.entries(r.data).map(([field, after]) => ({ field, after })),
    meaningful: true,
    priority: 'normal',
  };
  return { publicationId: `p-${loggedAt}`, time: r.observedAt, loggedAt, detail };
}

function cleanFacts(): ChaosFacts {
  return {
    attempts: [
      { jobKey: job.jobKey, stage: 'collect', attempt: 1, outcome: 'collected', manifestKey: first.key },
      { jobKey: job.jobKey, stage: 'transform', attempt: 1, outcome: 'transformed', manifestKey: first.key },
    ],
    records: [record(first, 0), record(first, 1)],
    changeEvents: [created(record(first, 0), 1), created(record(first, 1), 2)],
    malformedRecords: [],
    tasks: [],
    deadLetters: [],
    manifests: [first],
    portalSubmissions: [],
    portalReferences: new Map(),
  };
}

function counts(facts: ChaosFacts, chaosPlan: ChaosPlan = plan, log: HarnessLog = quiet) {
  const check = checkChaosRun(chaosPlan, log, facts);
  return Object.fromEntries(check.invariants.map((i) => [i.name, i.count])) as {
    [name in InvariantName]: number;
  };
}

describe('checkChaosRun', () => {
  it('passes a run where the job was collected once and its records hold the newest observation', () => {
    const check = checkChaosRun(plan, quiet, cleanFacts());

    expect(check.invariants.filter((i) => i.count > 0)).toEqual([]);
    expect(check.ok).toBe(true);
    expect(check.outcomes).toMatchObject({ records: 1, lost: 0 });
  });

  it('counts a job with no records, no DLQ entry and no task as lost', () => {
    const facts = { ...cleanFacts(), attempts: [], records: [], manifests: [] };

    expect(counts(facts).jobsLost).toBe(1);
  });

  it('accounts for a job by a DLQ entry only when the entry says why', () => {
    const dead = (reason: string | undefined) => ({
      ...cleanFacts(),
      manifests: [],
      records: [],
      deadLetters: [{ queue: 'demo-catalog', body: JSON.stringify(job.job), reason, jobKey: job.jobKey }],
    });

    expect(counts(dead('retries-exhausted')).jobsLost).toBe(0);
    expect(counts(dead(undefined))).toMatchObject({ jobsLost: 1, deadLettersWithoutReason: 1 });
  });

  it('counts a second collection of the job inside its dedupe window', () => {
    const second = manifest('20261127T080100000Z-bbbbbbbb', '2026-11-27T08:01:00.000Z');
    const facts = {
      ...cleanFacts(),
      manifests: [first, second],
      records: [
        record(second, 0, { observedAt: first.observedAt, observationId: first.fetchId }),
        record(second, 1, { observedAt: first.observedAt, observationId: first.fetchId }),
      ],
    };

    expect(counts(facts).duplicateCollections).toBe(1);
  });

  it('counts a record whose version exceeds the distinct contents it was observed with', () => {
    const facts = { ...cleanFacts(), records: [record(first, 0, { version: 2 }), record(first, 1)] };

    expect(counts(facts).duplicateWrites).toBe(1);
  });

  it('counts a record that kept an older observation when a newer one was transformed', () => {
    const newer = manifest('20261127T080500000Z-cccccccc', '2026-11-27T08:05:00.000Z');
    const facts = {
      ...cleanFacts(),
      manifests: [
        first,
        { ...newer, jobKey: 'id-other-job', key: newer.key.replace(job.jobKey, 'id-other-job') },
      ],
      attempts: [
        ...cleanFacts().attempts,
        {
          jobKey: 'id-other-job',
          stage: 'transform' as const,
          attempt: 1,
          outcome: 'transformed',
          manifestKey: newer.key.replace(job.jobKey, 'id-other-job'),
        },
      ],
    };

    expect(counts(facts).staleWrites).toBe(2);
  });

  it('counts a record whose data is not its newest observation’s', () => {
    const facts = {
      ...cleanFacts(),
      records: [
        record(first, 0, { data: { ...first.entities[0]?.data, name: 'Old Name' } }),
        record(first, 1),
      ],
    };

    expect(counts(facts)).toMatchObject({ staleWrites: 1, recordsNotMatchingSite: 1 });
  });

  it('counts fetch attempts beyond the source’s budget, and a retry scheduled after the last attempt', () => {
    const attempt = (n: number, outcome: string) => ({
      jobKey: job.jobKey,
      stage: 'collect' as const,
      attempt: n,
      outcome,
    });
    const facts = {
      ...cleanFacts(),
      attempts: [
        ...[1, 2, 3, 4].map((n) => attempt(n, 'retrying')),
        attempt(5, 'collected'),
        ...cleanFacts().attempts.filter((a) => a.stage === 'transform'),
      ],
    };

    // demo-catalog retries 3 times: 4 attempts; the 5th is one too many, and so is retrying after the 4th.
    expect(counts(facts).retriesBeyondBudget).toBe(2);
  });

  it('gives each delivery of a job its own budget', () => {
    const facts = {
      ...cleanFacts(),
      attempts: [
        ...[1, 2, 3].map((n) => ({
          jobKey: job.jobKey,
          stage: 'collect' as const,
          attempt: n,
          outcome: 'retrying',
        })),
        ...[1, 2, 3].map((n) => ({
          jobKey: job.jobKey,
          stage: 'collect' as const,
          attempt: n,
          outcome: 'retrying',
        })),
        ...cleanFacts().attempts,
      ],
    };
    const duplicated: HarnessLog = { ...quiet, duplicateDeliveries: new Map([[job.jobKey, 1]]) };

    expect(counts(facts, plan, duplicated).retriesBeyondBudget).toBe(0);
    expect(counts(facts).retriesBeyondBudget).toBe(3);
  });

  it('gives a message that came back because a batch-mate’s container was killed one more delivery', () => {
    const poisonKey = 'msg-6a9538f6';
    const facts = {
      ...cleanFacts(),
      attempts: [
        ...cleanFacts().attempts,
        ...[1, 1].map((n) => ({
          jobKey: poisonKey,
          stage: 'collect' as const,
          attempt: n,
          outcome: 'dead-lettered',
        })),
      ],
    };
    const killedWithIt: HarnessLog = { ...quiet, redeliveredAfterCrash: new Map([[poisonKey, 1]]) };

    expect(counts(facts, plan, killedWithIt).retriesBeyondBudget).toBe(0);
    expect(counts(facts).retriesBeyondBudget).toBe(1);
  });

  it('counts poison that is not in its DLQ, and poison dead-lettered with another reason', () => {
    const withPoison = planChaosRun({ jobs: 1, seed: 'checker', rates: { ...NO_FAULTS, poison: 0.01 } });
    const [notJson, notAJob] = withPoison.poison;
    const facts = {
      ...cleanFacts(),
      deadLetters: [
        {
          queue: notAJob?.queue.stage === 'collect' ? notAJob.queue.source : 'transform',
          body: notAJob?.body ?? '',
          reason: 'unexpected',
          jobKey: 'msg-1',
        },
      ],
    };

    const found = counts(facts, withPoison);

    expect(notJson?.kind).toBe('not-json');
    expect(found.poisonOutsideDlq).toBe(withPoison.poison.length - 1);
    expect(found.poisonWrongReason).toBe(1);
  });

  it('counts a portal request submitted twice', () => {
    const facts = {
      ...cleanFacts(),
      portalSubmissions: [{ account: 'acme-1', period: '2026-01', count: 2 }],
    };

    expect(counts(facts).duplicateSubmissions).toBe(1);
  });

  describe('follow-ups', () => {
    const parentKey = 'id-shipments-1';
    const page1: ManifestFacts = {
      key: `raw/source=demo-shipments/dt=2026-11-27/${parentKey}/20261127T080000000Z-bbbbbbbb/manifest.json`,
      source: 'demo-shipments',
      jobKey: parentKey,
      fetchId: '20261127T080000000Z-bbbbbbbb',
      observedAt: '2026-11-27T08:00:00.000Z',
      traceId: 'trace-shipments-1',
      parserRevision: 1,
      entities: [],
      followUps: [{ source: 'demo-shipments', input: { page: 2 } }],
    };
    const childKey = followUpJobKey(parentKey, 'demo-shipments', { page: 2 });
    const withPage1 = (extra: Partial<ChaosFacts> = {}): ChaosFacts => {
      const clean = cleanFacts();
      return {
        ...clean,
        attempts: [
          ...clean.attempts,
          {
            jobKey: parentKey,
            stage: 'transform',
            attempt: 1,
            outcome: 'transformed',
            manifestKey: page1.key,
          },
        ],
        manifests: [...clean.manifests, page1],
        ...extra,
      };
    };
    const noSuchPage = {
      queue: 'demo-shipments',
      body: '{}',
      reason: 'no-such-page',
      jobKey: childKey,
    };

    it('passes when the next page a transformed raw object links to ended', () => {
      const check = checkChaosRun(plan, quiet, withPage1({ deadLetters: [noSuchPage] }));

      expect(check.invariants.filter((i) => i.count > 0)).toEqual([]);
      expect(check.followUps).toEqual({ expected: 1, records: 0, 'hand-off': 0, 'dead-letter': 1 });
    });

    it('gives a follow-up its parent sent twice a budget per message', () => {
      // The first message is between retries when the second arrives: both fetch, 6 in all,
      // within 2 × 4 attempts but past one message's 4.
      const fetch = (attempt: number, outcome: string) => ({
        jobKey: childKey,
        source: 'demo-shipments',
        stage: 'collect' as const,
        attempt,
        outcome,
      });
      const facts = withPage1({
        deadLetters: [noSuchPage],
        attempts: [
          ...withPage1().attempts,
          fetch(1, 'retrying'),
          fetch(2, 'retrying'),
          fetch(1, 'retrying'),
          fetch(2, 'retrying'),
          fetch(3, 'retrying'),
          fetch(3, 'dead-lettered'),
          fetch(4, 'duplicate'),
        ],
      });
      const sentTwice: HarnessLog = { ...quiet, followUpSends: new Map([[childKey, 2]]) };

      expect(counts(facts, plan, sentTwice).retriesBeyondBudget).toBe(0);
      expect(counts(facts).retriesBeyondBudget).toBe(2);
    });

    it('reads the follow-ups an SQS send carried from the request the emulator applied', () => {
      const parent = { jobKey: parentKey, traceId: 'trace-shipments-1', followUpOf: undefined };
      const child = followUpJob(parent, 'demo-shipments', { page: 2 }, 1, new Date()).job;
      const call = (status: number, entries: readonly object[]) => ({
        service: 'sqs',
        operation: 'POST',
        key: '',
        status,
        requestBody: Buffer.from(
          JSON.stringify({
            QueueUrl: 'http://127.0.0.1/q',
            Entries: entries.map((e, i) => ({ Id: String(i), MessageBody: JSON.stringify(e) })),
          }),
        ),
      });

      const { followUpOf: _, ...upstreamJob } = { ...child, jobId: 'upstream-1' };

      expect(followUpsSentBy(call(200, [child, upstreamJob]))).toEqual([childKey]);
      expect(followUpsSentBy(call(400, [child]))).toEqual([]);
      expect(followUpsSentBy({ ...call(200, [child]), service: 'dynamodb' })).toEqual([]);
    });

    it('counts a next page that was asked for and never ended as lost', () => {
      expect(counts(withPage1()).followUpsLostOrDuplicated).toBe(1);
    });

    it('counts a follow-up no raw object asked for, and one collected twice, as duplicated', () => {
      const stray = {
        jobKey: 'fu-stray',
        source: 'demo-shipments',
        status: 'transformed',
        parentJobKey: parentKey,
      };
      const again = (fetchId: string): ManifestFacts => ({
        ...page1,
        key: `raw/source=demo-shipments/dt=2026-11-27/${childKey}/${fetchId}/manifest.json`,
        jobKey: childKey,
        fetchId,
        followUps: [],
      });
      const facts = withPage1({
        deadLetters: [noSuchPage],
        jobs: [stray],
        manifests: [...withPage1().manifests, again('a'), again('b')],
      });

      expect(counts(facts).followUpsLostOrDuplicated).toBe(2);
    });
  });

  describe('change events', () => {
    it('counts a version of a record that was never published', () => {
      const facts = { ...cleanFacts(), changeEvents: [created(record(first, 0))] };

      expect(counts(facts).changeEventsWrong).toBe(1);
    });

    it('counts an event for a version no record reached, and an update that changed nothing', () => {
      const r = record(first, 0);
      const phantom = created({ ...r, version: 2 }, 3);
      const nothing = created({ ...r, version: 2 }, 3);
      const unchanged: PublishedChange = {
        ...nothing,
        detail: { ...nothing.detail, change: 'updated', previousData: r.data, changes: [] },
      };
      const atVersion2 = { ...cleanFacts(), records: [{ ...r, version: 2 }, record(first, 1)] };

      expect(
        counts({ ...cleanFacts(), changeEvents: [...(cleanFacts().changeEvents ?? []), phantom] })
          .changeEventsWrong,
      ).toBe(1);
      expect(
        counts({ ...atVersion2, changeEvents: [...(cleanFacts().changeEvents ?? []), unchanged] })
          .changeEventsWrong,
      ).toBe(1);
    });

    it('counts an entity whose versions were published out of order', () => {
      const r = { ...record(first, 0), version: 2 };
      const v1 = created({ ...r, version: 1 }, 5);
      const v2 = created(r, 4);
      const facts = {
        ...cleanFacts(),
        records: [r, record(first, 1)],
        changeEvents: [v2, v1, created(record(first, 1), 6)],
      };

      expect(counts(facts)).toMatchObject({ changeEventsOutOfOrder: 1, changeEventsWrong: 0 });
    });
  });

  describe('a job planned to succeed that ends without records', () => {
    const ended = (end: { task?: string; deadLetter?: string }) => ({
      ...cleanFacts(),
      records: [],
      manifests: [],
      tasks: end.task === undefined ? [] : [{ jobKey: job.jobKey, stage: 'collect', reason: end.task }],
      deadLetters:
        end.deadLetter === undefined
          ? []
          : [
              {
                queue: 'demo-catalog',
                body: JSON.stringify(job.job),
                reason: end.deadLetter,
                jobKey: job.jobKey,
              },
            ],
    });
    const served: HarnessLog = { ...quiet, captchaServed: new Set([job.job.traceId]) };

    it('is explained by a captcha the site served it, handed off as a captcha', () => {
      expect(counts(ended({ task: 'captcha' }), plan, served).unexplainedEnds).toBe(0);
    });

    it('is explained by a budget spent on transient faults', () => {
      expect(counts(ended({ deadLetter: 'retries-exhausted' })).unexplainedEnds).toBe(0);
    });

    it('is counted when a captcha page is handed off as a page without records', () => {
      const check = checkChaosRun(plan, served, ended({ task: 'no-records' }));

      expect(check.invariants.find((i) => i.name === 'unexplainedEnds')).toMatchObject({
        count: 1,
        examples: [`${job.jobKey} (demo-catalog): hand-off no-records`],
      });
    });

    it('is counted when handed off as a captcha nobody served, or dead-lettered for a permanent reason', () => {
      expect(counts(ended({ task: 'captcha' })).unexplainedEnds).toBe(1);
      expect(counts(ended({ deadLetter: 'selector-missing' })).unexplainedEnds).toBe(1);
    });
  });
});
