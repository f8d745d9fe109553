/**
 * The chaos run's checker: holds what the emulator holds after the drain (ChaosFacts) to what
 * the harness sent and planned (ChaosPlan, HarnessLog), and counts every broken promise. Pure,
 * so its own tests can feed it a lost job or a stale record and see it counted.
 */
import { planFollowUps } from '../../functions/core/follow-ups.js';
import { canonicalJson } from '../../functions/core/job-key.js';
import { TRANSFORM_RETRY_BUDGET } from '../../functions/core/transform-budget.js';
import { findSource } from '../../sources/registry.js';
import { CATALOG_PAGES, catalogPage, PRODUCTS_PER_PAGE, RATES_AS_OF, rateBoard } from '../demo-site/data.js';
import { inventoryRows } from '../demo-site/exports.js';
import type { ChaosFacts, ManifestFacts } from './facts.js';
import type { ChaosPlan, CrashPoint, PlannedJob } from './plan.js';

/** What the harness itself did during the run, beyond the plan. */
export interface HarnessLog {
  /**
   * Extra deliveries the local event source mapping made of each message, by the job key its
   * collector gives it (`id-<jobId>`, or `msg-<messageId>` for a message without a job ID).
   */
  readonly duplicateDeliveries: ReadonlyMap<string, number>;
  /** Jobs whose collector was killed, by job key, and where. */
  readonly crashes: ReadonlyMap<string, CrashPoint>;
  /**
   * Messages that were in a killed container's batch, by job key: each came back once more per
   * kill, and a collector cannot know whether the run that died recorded its attempt.
   */
  readonly redeliveredAfterCrash: ReadonlyMap<string, number>;
  /**
   * How many times each follow-up job was sent to its jobs queue, by job key, as the emulator
   * applied the sends. A parent handled twice (its S3 event delivered again, a delivery that
   * recovered its collection) or a send retried after a lost answer sends the same job again:
   * each message has its own budget, and a copy that arrives while the first is between retries
   * spends it. @default - each follow-up sent once
   */
  readonly followUpSends?: ReadonlyMap<string, number>;
  /**
   * The trace IDs of jobs the demo site served a captcha page (a fault the site draws per
   * request): the one reason a job planned to succeed may end with a person. @default - none
   */
  readonly captchaServed?: ReadonlySet<string>;
}

/**
 * Why a job planned to succeed may end without records, the chaos having caused it: a captcha
 * page the site served it (a hand-off with reason `captcha`), or transient faults on every attempt
 * its budget allows (a dead letter with reason `retries-exhausted`). Any other ending of such a
 * job — a hand-off for no records or a parse failure, a dead letter for a missing selector — is
 * Sluice misreading what happened, and is counted.
 */
export const EXPLAINED_ENDS = { 'hand-off': ['captcha'], 'dead-letter': ['retries-exhausted'] } as const;

export const INVARIANTS = {
  jobsLost: 'jobs lost',
  duplicateCollections: 'duplicate collections within the dedupe window',
  duplicateWrites: 'duplicate record writes',
  staleWrites: 'stale record writes',
  retriesBeyondBudget: 'retries beyond budget',
  poisonOutsideDlq: 'poison messages outside the DLQ',
  poisonWrongReason: 'poison messages dead-lettered with another reason',
  unexplainedEnds: 'jobs planned to succeed that ended otherwise, for no injected cause',
  deadLettersWithoutReason: 'DLQ messages without a reason',
  duplicateSubmissions: 'duplicate portal submissions',
  recordsNotMatchingSite: "records that differ from the demo site's data",
  recordsAgainstPlan: 'records from pages planned to fail',
  malformedRecords: 'records breaking the Record contract',
  followUpsLostOrDuplicated: 'follow-up jobs lost or duplicated',
  changeEventsWrong: 'change events missing or emitted for an unchanged record',
  changeEventsOutOfOrder: 'change events out of version order for an entity',
} as const;
export type InvariantName = keyof typeof INVARIANTS;

export interface InvariantCount {
  readonly name: InvariantName;
  readonly label: string;
  readonly count: number;
  /** A few offending keys, to start an investigation from. */
  readonly examples: readonly string[];
}

export type JobEnd = 'records' | 'hand-off' | 'dead-letter';

export interface ChaosCheck {
  readonly invariants: readonly InvariantCount[];
  /** Jobs by how they ended (a job can end more than one way, e.g. records and a hand-off). */
  readonly outcomes: { readonly [end in JobEnd | 'lost']: number };
  readonly deadLetterReasons: { readonly [reason: string]: number };
  readonly handoffReasons: { readonly [reason: string]: number };
  /** Jobs whose plan said records but which ended otherwise (transient faults past the budget, captchas). */
  readonly unplannedEnds: { readonly [end: string]: number };
  readonly collections: number;
  readonly records: number;
  readonly manifestsWithoutRecords: number;
  /** Follow-up jobs the transformed raw objects asked for, and how they ended (a job can end more than one way). */
  readonly followUps: { readonly expected: number } & { readonly [end in JobEnd]: number };
  /** RecordChanged events: distinct changes, publications (duplicates included), meaningful ones. */
  readonly changeEvents: {
    readonly distinct: number;
    readonly publications: number;
    readonly meaningful: number;
  };
  readonly ok: boolean;
}

interface ObservationKey {
  readonly observedAt: string;
  readonly observationId: string;
  readonly parserRevision: number;
}

function compareKeys(a: ObservationKey, b: ObservationKey): number {
  if (a.observedAt !== b.observedAt) return a.observedAt < b.observedAt ? -1 : 1;
  if (a.observationId !== b.observationId) return a.observationId < b.observationId ? -1 : 1;
  return a.parserRevision - b.parserRevision;
}

function keyOf(manifest: ManifestFacts): ObservationKey {
  return {
    observedAt: manifest.observedAt,
    observationId: manifest.fetchId,
    parserRevision: manifest.parserRevision,
  };
}

class Tally {
  readonly counts = new Map<InvariantName, { count: number; examples: string[] }>();
  add(name: InvariantName, example: string, by = 1): void {
    if (by <= 0) return;
    const entry = this.counts.get(name) ?? { count: 0, examples: [] };
    entry.count += by;
    if (entry.examples.length < 5) entry.examples.push(example);
    this.counts.set(name, entry);
  }
  result(): InvariantCount[] {
    return (Object.keys(INVARIANTS) as InvariantName[]).map((name) => ({
      name,
      label: INVARIANTS[name],
      count: this.counts.get(name)?.count ?? 0,
      examples: this.counts.get(name)?.examples ?? [],
    }));
  }
}

function increment(map: { [key: string]: number }, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function groupBy<T>(items: readonly T[], keyOfItem: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOfItem(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

/** What the demo site's own data says a record must hold, for the sources whose data needs no rules to read. */
function siteDataMismatch(
  source: string,
  entityId: string,
  data: { readonly [key: string]: unknown },
  portalReferences: ReadonlyMap<string, string>,
): string | undefined {
  switch (source) {
    case 'demo-catalog': {
      const number = Number(/-(\d{4})$/.exec(entityId)?.[1] ?? Number.NaN);
      const page = Math.ceil(number / PRODUCTS_PER_PAGE);
      if (!(page >= 1 && page <= CATALOG_PAGES)) return `no catalogue page holds ${entityId}`;
      const product = catalogPage(String(data.category), page).find((p) => p.sku === entityId);
      if (product === undefined) return `the catalogue has no ${entityId} in ${String(data.category)}`;
      const expected = {
        name: product.name,
        priceCents: product.priceCents,
        currency: product.currency,
        inStock: product.inStock,
      };
      const actual = {
        name: data.name,
        priceCents: data.priceCents,
        currency: data.currency,
        inStock: data.inStock,
      };
      return canonicalJson(expected) === canonicalJson(actual)
        ? undefined
        : `${canonicalJson(actual)} ≠ ${canonicalJson(expected)}`;
    }
    case 'demo-rates': {
      const [board = '', pair = ''] = entityId.split(':');
      const rate = rateBoard(board).find((r) => r.pair === pair);
      if (rate === undefined) return `board ${board} has no ${pair}`;
      return data.rate === Number(rate.displayRate) && data.asOf === RATES_AS_OF
        ? undefined
        : `rate ${String(data.rate)} as of ${String(data.asOf)} ≠ ${rate.displayRate} as of ${RATES_AS_OF}`;
    }
    case 'demo-inventory': {
      const [warehouse = '', sku = ''] = entityId.split(':');
      const row = inventoryRows(warehouse).find((r) => r.sku === sku);
      if (row === undefined) return `warehouse ${warehouse} has no ${sku}`;
      const expected = {
        onHand: row.onHand,
        reserved: row.reserved,
        reorderPoint: row.reorderPoint,
        unitCostCents: row.unitCostCents,
      };
      const actual = {
        onHand: data.onHand,
        reserved: data.reserved,
        reorderPoint: data.reorderPoint,
        unitCostCents: data.unitCostCents,
      };
      return canonicalJson(expected) === canonicalJson(actual)
        ? undefined
        : `${canonicalJson(actual)} ≠ ${canonicalJson(expected)}`;
    }
    case 'demo-portal': {
      const [account = '', period = ''] = entityId.split(':');
      const reference = portalReferences.get(`${account}|${period}`);
      return reference === data.reference && data.status === 'requested'
        ? undefined
        : `reference ${String(data.reference)} (${String(data.status)}) ≠ the portal's ${String(reference)}`;
    }
    default:
      return undefined;
  }
}

/** The job or object a dead-lettered body is about, to start an investigation from. */
function whatItNames(body: string): string {
  const named = /"jobId":"([^"]+)"/.exec(body)?.[1] ?? /"key":"([^"]+)"/.exec(body)?.[1];
  return named ?? body.slice(0, 80);
}

export function checkChaosRun(plan: ChaosPlan, log: HarnessLog, facts: ChaosFacts): ChaosCheck {
  const tally = new Tally();
  const attemptsByJob = groupBy(facts.attempts, (a) => a.jobKey);
  const manifestsByJob = groupBy(facts.manifests, (m) => m.jobKey);
  const transformed = new Set(
    facts.attempts
      .filter((a) => a.stage === 'transform' && a.outcome === 'transformed')
      .map((a) => a.manifestKey ?? ''),
  );
  const recordsByPk = new Map(facts.records.map((r) => [r.pk, r]));
  const tasksByJob = groupBy(facts.tasks, (t) => t.jobKey);
  const deadLettersByJob = groupBy(
    facts.deadLetters.filter((d) => d.jobKey !== undefined),
    (d) => d.jobKey ?? '',
  );

  // ---- Every job accounted for: records, a DLQ entry with its reason, or a hand-off task -------
  const outcomes = { records: 0, 'hand-off': 0, 'dead-letter': 0, lost: 0 };
  const deadLetterReasons: { [reason: string]: number } = {};
  const handoffReasons: { [reason: string]: number } = {};
  const unplannedEnds: { [end: string]: number } = {};
  /** How a job ended: records that reflect one of its transformed manifests, a hand-off task, a DLQ entry with a reason. */
  const endsOf = (jobKey: string): Set<JobEnd> => {
    const ends = new Set<JobEnd>();
    for (const manifest of manifestsByJob.get(jobKey) ?? []) {
      if (manifest.entities.length === 0 || !transformed.has(manifest.key)) continue;
      const reflected = manifest.entities.every((entity) => {
        const record = recordsByPk.get(`${manifest.source}#${entity.entityId}`);
        return (
          record !== undefined &&
          compareKeys(
            {
              observedAt: record.lastSeenAt,
              observationId: record.lastObservationId,
              parserRevision: record.lastParserRevision,
            },
            keyOf(manifest),
          ) >= 0
        );
      });
      if (reflected) ends.add('records');
    }
    if ((tasksByJob.get(jobKey) ?? []).length > 0) ends.add('hand-off');
    if ((deadLettersByJob.get(jobKey) ?? []).some((d) => (d.reason ?? '') !== '')) ends.add('dead-letter');
    return ends;
  };
  for (const planned of plan.jobs) {
    const ends = endsOf(planned.jobKey);
    const tasks = tasksByJob.get(planned.jobKey) ?? [];
    for (const task of tasks) increment(handoffReasons, task.reason);
    const deadLetters = (deadLettersByJob.get(planned.jobKey) ?? []).filter((d) => (d.reason ?? '') !== '');
    if (deadLetters.length > 0) increment(deadLetterReasons, deadLetters[0]?.reason ?? '');
    if (ends.size === 0) {
      outcomes.lost += 1;
      tally.add('jobsLost', `${planned.jobKey} (${planned.source})`);
    }
    for (const end of ends) outcomes[end] += 1;
    if (planned.permanent !== undefined && ends.has('records')) {
      tally.add('recordsAgainstPlan', `${planned.jobKey}: ${planned.permanent.why}`);
    }
    if (planned.permanent === undefined && !ends.has('records') && ends.size > 0) {
      increment(unplannedEnds, [...ends].join('+'));
      const captcha = log.captchaServed?.has(planned.job.traceId) === true;
      const unexplained = [
        ...tasks
          .filter((t) => !(t.reason === 'captcha' && captcha))
          .map((t) => `hand-off ${t.reason}${t.reason === 'captcha' ? ' (no captcha was served)' : ''}`),
        ...deadLetters
          .filter((d) => !(EXPLAINED_ENDS['dead-letter'] as readonly string[]).includes(d.reason ?? ''))
          .map((d) => `dead-letter ${d.reason}`),
      ];
      for (const why of unexplained)
        tally.add('unexplainedEnds', `${planned.jobKey} (${planned.source}): ${why}`);
    }
  }

  // ---- One collection per job inside its dedupe window -----------------------------------------
  for (const [jobKey, manifests] of manifestsByJob) {
    const source = findSource(manifests[0]?.source ?? '');
    const windowMs = (source?.dedupeWindowSeconds ?? 0) * 1000;
    const times = manifests.map((m) => Date.parse(m.observedAt)).sort((a, b) => a - b);
    let windowStart = times[0] ?? 0;
    for (const time of times.slice(1)) {
      if (time - windowStart < windowMs) tally.add('duplicateCollections', jobKey);
      else windowStart = time;
    }
  }
  for (const [jobKey, attempts] of attemptsByJob) {
    // The ledger's view too: two collections recorded where raw storage may hold only one.
    const collected = attempts.filter((a) => a.stage === 'collect' && a.outcome === 'collected').length;
    const stored = manifestsByJob.get(jobKey)?.length ?? 0;
    if (collected > Math.max(1, stored))
      tally.add('duplicateCollections', `${jobKey} (ledger)`, collected - Math.max(1, stored));
  }

  // ---- Records: written once per content, never older over newer, lineage that exists ---------
  const observationsByPk = new Map<
    string,
    { manifest: ManifestFacts; contentHash: string; data: unknown }[]
  >();
  for (const manifest of facts.manifests) {
    for (const entity of manifest.entities) {
      const pk = `${manifest.source}#${entity.entityId}`;
      observationsByPk.set(pk, [
        ...(observationsByPk.get(pk) ?? []),
        { manifest, contentHash: entity.contentHash, data: entity.data },
      ]);
    }
  }
  const plannedToFail = new Set(plan.jobs.filter((j) => j.permanent !== undefined).map((j) => j.jobKey));
  for (const record of facts.records) {
    const observations = observationsByPk.get(record.pk) ?? [];
    const distinct = new Set(observations.map((o) => o.contentHash)).size;
    if (record.version > distinct) {
      tally.add(
        'duplicateWrites',
        `${record.pk}: version ${record.version}, ${distinct} distinct content(s)`,
        record.version - Math.max(distinct, 1),
      );
    }
    const lastSeen = observations.find(
      (o) => o.manifest.fetchId === record.lastObservationId && o.manifest.observedAt === record.lastSeenAt,
    );
    const current = observations.find((o) => o.manifest.fetchId === record.observationId);
    const lastSeenKey = {
      observedAt: record.lastSeenAt,
      observationId: record.lastObservationId,
      parserRevision: record.lastParserRevision,
    };
    const newerTransformed = observations.find(
      (o) => transformed.has(o.manifest.key) && compareKeys(keyOf(o.manifest), lastSeenKey) > 0,
    );
    if (lastSeen === undefined) {
      tally.add(
        'staleWrites',
        `${record.pk}: last seen ${record.lastObservationId}, which no manifest holds`,
      );
    } else if (newerTransformed !== undefined) {
      tally.add(
        'staleWrites',
        `${record.pk}: last seen ${record.lastObservationId}, ${newerTransformed.manifest.fetchId} is newer`,
      );
    } else if (canonicalJson(record.data) !== canonicalJson(lastSeen.data)) {
      tally.add(
        'staleWrites',
        `${record.pk}: data is not that of its newest observation ${record.lastObservationId}`,
      );
    } else if (current === undefined || canonicalJson(current.data) !== canonicalJson(record.data)) {
      tally.add('staleWrites', `${record.pk}: lineage ${record.observationId} does not hold its data`);
    }
    const mismatch = siteDataMismatch(record.source, record.entityId, record.data, facts.portalReferences);
    if (mismatch !== undefined) tally.add('recordsNotMatchingSite', `${record.pk}: ${mismatch}`);
    if (observations.length > 0 && observations.every((o) => plannedToFail.has(o.manifest.jobKey))) {
      tally.add('recordsAgainstPlan', `${record.pk}: only pages planned to fail hold it`);
    }
  }
  for (const pk of facts.malformedRecords) tally.add('malformedRecords', pk);

  // ---- Retries within budget -----------------------------------------------------------------
  const resent = new Set(plan.jobs.filter((j) => j.resendAfterSeconds !== undefined).map((j) => j.jobKey));
  const plannedByKey = new Map(plan.jobs.map((j) => [j.jobKey, j]));
  for (const [jobKey, attempts] of attemptsByJob) {
    const planned: PlannedJob | undefined = plannedByKey.get(jobKey);
    const source = findSource(planned?.source ?? attempts[0]?.source ?? '');
    const collectRetries = source?.retry.delaysSeconds.length ?? 0;
    const fetches = attempts.filter(
      (a) => a.stage === 'collect' && a.outcome !== 'duplicate' && a.outcome !== 'deferred',
    );
    // Each delivery of the job (upstream's resend, a follow-up sent again, the mapping's
    // duplicates) has its own budget.
    const deliveries =
      1 +
      Math.max(0, (log.followUpSends?.get(jobKey) ?? 0) - 1) +
      (resent.has(jobKey) ? 1 : 0) +
      (log.duplicateDeliveries.get(jobKey) ?? 0) +
      (log.redeliveredAfterCrash.get(jobKey) ?? 0);
    const allowance = (collectRetries + 1) * deliveries;
    if (fetches.length > allowance) {
      tally.add(
        'retriesBeyondBudget',
        `${jobKey}: ${fetches.length} attempts, budget ${allowance}`,
        fetches.length - allowance,
      );
    }
    for (const attempt of attempts) {
      const retries =
        attempt.stage === 'collect' ? collectRetries : TRANSFORM_RETRY_BUDGET.delaysSeconds.length;
      if (attempt.outcome === 'retrying' && attempt.attempt > retries) {
        tally.add(
          'retriesBeyondBudget',
          `${jobKey}: ${attempt.stage} retry scheduled after attempt ${attempt.attempt}`,
        );
      }
    }
  }

  // ---- Poison: every message in its DLQ, with the reason that explains it ----------------------
  for (const poison of plan.poison) {
    const queue = poison.queue.stage === 'transform' ? 'transform' : poison.queue.source;
    const entries = facts.deadLetters.filter((d) => d.body === poison.body && d.queue === queue);
    if (entries.length === 0) {
      tally.add('poisonOutsideDlq', `${poison.id} (${poison.kind})`);
    } else if (!entries.some((d) => d.reason === poison.expectedReason)) {
      tally.add(
        'poisonWrongReason',
        `${poison.id} (${poison.kind}): ${entries.map((d) => d.reason).join(', ')}`,
      );
    }
    if (poison.jobKey !== undefined) {
      if ((tasksByJob.get(poison.jobKey) ?? []).length > 0)
        tally.add('poisonOutsideDlq', `${poison.id}: a hand-off task`);
      if ((manifestsByJob.get(poison.jobKey) ?? []).length > 0)
        tally.add('poisonOutsideDlq', `${poison.id}: collected`);
    }
  }
  for (const entry of facts.deadLetters) {
    if ((entry.reason ?? '') === '')
      tally.add('deadLettersWithoutReason', `${entry.queue}: ${whatItNames(entry.body)}`);
  }

  // ---- The portal's own count: one submitted form per account and period -----------------------
  for (const { account, period, count } of facts.portalSubmissions) {
    if (count > 1) tally.add('duplicateSubmissions', `${account} ${period}: ${count} forms`, count - 1);
  }

  const followUps = checkFollowUps(facts, transformed, manifestsByJob, endsOf, tally);
  const changeEvents = checkChangeEvents(facts, tally);

  const invariants = tally.result();
  return {
    followUps,
    changeEvents,
    invariants,
    outcomes,
    deadLetterReasons,
    handoffReasons,
    unplannedEnds,
    collections: facts.manifests.length,
    records: facts.records.length,
    manifestsWithoutRecords: facts.manifests.filter((m) => m.entities.length === 0).length,
    ok: invariants.every((i) => i.count === 0),
  };
}

/**
 * No follow-up lost or duplicated. What each transformed raw object asks for is read again from
 * the raw object (its parser's follow-ups, within its source's bounds): each such job must end
 * (records, a hand-off, a DLQ entry with its reason); no job in the ledger may claim a parent
 * whose raw objects never asked for it; and none is collected twice (its key deduplicates it).
 */
function checkFollowUps(
  facts: ChaosFacts,
  transformed: ReadonlySet<string>,
  manifestsByJob: ReadonlyMap<string, readonly ManifestFacts[]>,
  endsOf: (jobKey: string) => ReadonlySet<JobEnd>,
  tally: Tally,
): ChaosCheck['followUps'] {
  const askedFor = new Set<string>();
  const expected = new Set<string>();
  for (const manifest of facts.manifests) {
    const source = findSource(manifest.source);
    if (source === undefined || manifest.followUps.length === 0) continue;
    const plan = planFollowUps(
      { jobKey: manifest.jobKey, traceId: manifest.traceId, source, followUpOf: manifest.followUpOf },
      manifest.followUps,
      findSource,
      new Date(manifest.observedAt),
    );
    for (const { jobKey } of plan.accepted) {
      askedFor.add(jobKey);
      if (transformed.has(manifest.key)) expected.add(jobKey);
    }
  }
  const ended = { records: 0, 'hand-off': 0, 'dead-letter': 0 };
  for (const jobKey of expected) {
    const ends = endsOf(jobKey);
    if (ends.size === 0) tally.add('followUpsLostOrDuplicated', `${jobKey}: asked for, never ended`);
    for (const end of ends) ended[end] += 1;
  }
  for (const job of facts.jobs ?? []) {
    if (typeof job.parentJobKey !== 'string' || askedFor.has(job.jobKey)) continue;
    tally.add(
      'followUpsLostOrDuplicated',
      `${job.jobKey}: a follow-up of ${job.parentJobKey} no raw object asked for`,
    );
  }
  for (const jobKey of askedFor) {
    const collections = manifestsByJob.get(jobKey)?.length ?? 0;
    if (collections > 1) {
      tally.add('followUpsLostOrDuplicated', `${jobKey}: collected ${collections} times`, collections - 1);
    }
  }
  return { expected: expected.size, ...ended };
}

/**
 * No change event missing, none for an unchanged record, in version order per entity. Each write
 * of new content moves a record's version by one, so a record at version v must have had the
 * events <source>#<entityId>#1..v, the last carrying its data; an event for a version no record
 * reached, or an update that changed nothing, was emitted for an unchanged record.
 */
function checkChangeEvents(facts: ChaosFacts, tally: Tally): ChaosCheck['changeEvents'] {
  const published = facts.changeEvents ?? [];
  const firstPublication = new Map<string, (typeof published)[number]>();
  for (const change of published) {
    if (!firstPublication.has(change.detail.eventId)) firstPublication.set(change.detail.eventId, change);
  }
  const records = new Map(facts.records.map((r) => [`${r.source}#${r.entityId}`, r]));
  for (const record of facts.records) {
    for (let version = 1; version <= record.version; version += 1) {
      const eventId = `${record.source}#${record.entityId}#${version}`;
      if (!firstPublication.has(eventId)) tally.add('changeEventsWrong', `${eventId}: never published`);
    }
    const last = firstPublication.get(`${record.source}#${record.entityId}#${record.version}`);
    if (last !== undefined && canonicalJson(last.detail.data) !== canonicalJson(record.data)) {
      tally.add('changeEventsWrong', `${last.detail.eventId}: its data is not the record's`);
    }
  }
  const byEntity = new Map<string, number[]>();
  for (const { detail } of firstPublication.values()) {
    const record = records.get(`${detail.source}#${detail.entityId}`);
    if (record === undefined || detail.version > record.version) {
      tally.add('changeEventsWrong', `${detail.eventId}: no record reached this version`);
    } else if (
      detail.previousVersion !== detail.version - 1 ||
      (detail.change === 'updated' &&
        (detail.changes.length === 0 || canonicalJson(detail.data) === canonicalJson(detail.previousData)))
    ) {
      tally.add(
        'changeEventsWrong',
        `${detail.eventId}: nothing changed from version ${detail.previousVersion}`,
      );
    }
    const key = `${detail.source}#${detail.entityId}`;
    byEntity.set(key, [...(byEntity.get(key) ?? []), detail.version]);
  }
  // The change log lists publications in the order the bus received them.
  for (const [entity, versions] of byEntity) {
    for (let i = 1; i < versions.length; i += 1) {
      if ((versions[i] ?? 0) < (versions[i - 1] ?? 0)) {
        tally.add('changeEventsOutOfOrder', `${entity}: version ${versions[i]} after ${versions[i - 1]}`);
      }
    }
  }
  return {
    distinct: firstPublication.size,
    publications: published.length,
    meaningful: [...firstPublication.values()].filter((c) => c.detail.meaningful).length,
  };
}
