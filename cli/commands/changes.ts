/**
 * `sluice changes [--source <s>] [--limit <n>]`: the RecordChanged events the change feed
 * published, newest last, from the change log (every event on the bus is copied there by a rule;
 * cli/change-log.ts). A change published twice (at-least-once) is shown once, with its count.
 */
import { changeLogGroupName } from '../../functions/core/resource-names.js';
import { type PublishedChange, readChangeLog } from '../change-log.js';
import { CliError, type SluiceTarget } from '../target.js';

export interface ChangeListing {
  readonly logGroup: string;
  /** Distinct changes (by event ID), oldest first, at most `limit` of the newest. */
  readonly changes: readonly (PublishedChange & { readonly publications: number })[];
  /** Publications read, duplicates included. */
  readonly publications: number;
}

export async function listChanges(
  target: SluiceTarget,
  options: { readonly source?: string; readonly limit: number },
): Promise<ChangeListing> {
  if (options.source !== undefined && !target.resources.sourceQueues.has(options.source)) {
    throw new CliError(
      `no source ${JSON.stringify(options.source)}; known sources: ${[...target.resources.sourceQueues.keys()].join(', ')}`,
      2,
    );
  }
  const logGroup = changeLogGroupName(target.resources.appName);
  let published: PublishedChange[];
  try {
    published = await readChangeLog(target.clients.logs, logGroup, {
      ...(options.source === undefined ? {} : { source: options.source }),
    });
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') {
      throw new CliError(`the change log ${logGroup} does not exist: is the core stack deployed?`);
    }
    throw error;
  }
  const byEvent = new Map<string, PublishedChange & { publications: number }>();
  for (const change of published) {
    const seen = byEvent.get(change.detail.eventId);
    if (seen === undefined) byEvent.set(change.detail.eventId, { ...change, publications: 1 });
    else seen.publications += 1;
  }
  return { logGroup, changes: [...byEvent.values()].slice(-options.limit), publications: published.length };
}

function value(v: unknown): string {
  return v === undefined ? '—' : JSON.stringify(v);
}

export function renderChanges(listing: ChangeListing, source: string | undefined): string {
  if (listing.changes.length === 0) {
    return `no RecordChanged events${source === undefined ? '' : ` for ${source}`} in ${listing.logGroup}`;
  }
  const lines = [
    `${listing.changes.length} change(s)${source === undefined ? '' : ` of ${source}`} (from ${listing.publications} publication(s) in ${listing.logGroup}), oldest first:`,
  ];
  for (const { detail, time, publications } of listing.changes) {
    const flags = [
      detail.meaningful ? 'meaningful' : 'not meaningful',
      detail.priority === 'high' ? 'HIGH priority' : undefined,
      publications > 1 ? `published ${publications}×` : undefined,
      detail.truncated === true ? 'data truncated' : undefined,
    ].filter((f) => f !== undefined);
    lines.push(
      `${time}  ${detail.eventId}  ${detail.change} v${detail.previousVersion}→v${detail.version}  ${flags.join(', ')}`,
      `    observed ${detail.observedAt}, trace ${detail.traceId}`,
    );
    if (detail.change === 'updated') {
      for (const c of detail.changes.slice(0, 8))
        lines.push(`    ${c.field}: ${value(c.before)} → ${value(c.after)}`);
      if (detail.changes.length > 8) lines.push(`    … and ${detail.changes.length - 8} more field(s)`);
    }
  }
  return lines.join('\n');
}
