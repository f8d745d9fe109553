/**
 * How long things live: job ledger items expire after a configurable retention (TTL on the
 * `expiresAt` every ledger write sets), other tables keep their items; a retention that would let
 * a claim expire inside a dedupe window, or before SQS gives up a message, is refused at synth.
 * Tables can be protected from deletion once the app has deployed.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LEDGER_EXPIRY_ATTRIBUTE } from '../../functions/adapters/job-ledger.js';
import { DEFAULT_LEDGER_RETENTION_DAYS } from '../../infra/core-stack.js';
import { defineSource } from '../../sources/define.js';
import { demoCatalog } from '../../sources/demo-catalog/source.js';
import { sluiceApp, synthesizeSluice } from './sluice-template.js';

type Resource = { Properties: { [key: string]: unknown } };

function tableTagged(template: Template, role: string): Resource {
  const tables = Object.values(template.findResources('AWS::DynamoDB::GlobalTable')) as Resource[];
  const found = tables.find((table) =>
    JSON.stringify(table.Properties.Replicas).includes(`{"Key":"sluice:role","Value":"${role}"}`),
  );
  if (found === undefined) throw new Error(`no table tagged sluice:role=${role}`);
  return found;
}

/** LEDGER_RETENTION_DAYS of every function that has it, in every stack. */
function retentionOfFunctions(context: { [key: string]: unknown } = {}): string[] {
  return synthesizeSluice({ context }).stacks.flatMap(({ template }) =>
    (Object.values(template.findResources('AWS::Lambda::Function')) as Resource[]).flatMap((fn) => {
      const variables = (fn.Properties.Environment as { Variables?: { [name: string]: unknown } } | undefined)
        ?.Variables;
      const days = variables?.LEDGER_RETENTION_DAYS;
      return typeof days === 'string' ? [days] : [];
    }),
  );
}

describe('the job ledger', () => {
  const { template } = synthesizeSluice().core;

  it('lets DynamoDB expire items by the expiresAt every ledger write sets', () => {
    expect(tableTagged(template, 'ledger').Properties.TimeToLiveSpecification).toEqual({
      AttributeName: LEDGER_EXPIRY_ATTRIBUTE,
      Enabled: true,
    });
  });

  it('is the only table whose items expire: records and hand-off tasks stay', () => {
    for (const role of ['records', 'tasks']) {
      expect(tableTagged(template, role).Properties.TimeToLiveSpecification, role).toBeUndefined();
    }
  });

  it(`keeps items ${DEFAULT_LEDGER_RETENTION_DAYS} days unless configured, in every function that writes it`, () => {
    const days = retentionOfFunctions();

    // The transform and the registry's two collectors.
    expect(days.length).toBeGreaterThanOrEqual(3);
    expect(new Set(days)).toEqual(new Set([String(DEFAULT_LEDGER_RETENTION_DAYS)]));
  });

  it('takes the retention from context sluice:ledgerRetentionDays', () => {
    expect(new Set(retentionOfFunctions({ 'sluice:ledgerRetentionDays': 90 }))).toEqual(new Set(['90']));
  });

  it('refuses a retention shorter than SQS can hold a message', () => {
    expect(() => sluiceApp({ context: { 'sluice:ledgerRetentionDays': 7 } })).toThrow(
      /sluice:ledgerRetentionDays must be longer than every dedupe window and than SQS keeps a message \(14 days\), got 7/,
    );
  });

  it("refuses a retention shorter than a source's dedupe window", () => {
    const slow = defineSource({ ...demoCatalog, name: 'monthly-report', dedupeWindowSeconds: 31 * 86_400 });

    expect(() => sluiceApp({ extraSources: [slow], context: { 'sluice:ledgerRetentionDays': 30 } })).toThrow(
      /\(31 days\), got 30/,
    );
  });
});

describe('table deletion protection', () => {
  const protection = (context: { [key: string]: unknown }) => {
    const { template } = synthesizeSluice({ context }).core;
    return ['records', 'ledger', 'tasks'].map(
      (role) =>
        (tableTagged(template, role).Properties.Replicas as { DeletionProtectionEnabled?: boolean }[])[0]
          ?.DeletionProtectionEnabled,
    );
  };

  it('is off by default, so a failed first deploy can delete the tables it made', () => {
    expect(protection({})).toEqual([false, false, false]);
  });

  it('is on with context sluice:tableDeletionProtection, for an app that has deployed', () => {
    expect(protection({ 'sluice:tableDeletionProtection': true })).toEqual([true, true, true]);
  });
});
