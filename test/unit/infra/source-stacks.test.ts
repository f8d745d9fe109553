import { describe, expect, it } from 'vitest';
import {
  assignmentFile,
  assignSourceStacks,
  planSourceStacks,
  sourceStackName,
} from '../../../infra/source-stacks.js';
import { sources } from '../../../sources/registry.js';

const named = (...names: string[]) => names.map((name) => ({ name }));

describe('assignSourceStacks', () => {
  it('fills the first stack, then opens the next', () => {
    const assigned = assignSourceStacks(named('a', 'b', 'c', 'd', 'e'), {}, 2);

    expect(Object.fromEntries(assigned)).toEqual({ a: '01', b: '01', c: '02', d: '02', e: '03' });
  });

  it('keeps every pinned source where it is, whatever comes before it in the registry', () => {
    const pinned = { b: '01', d: '02' };

    const assigned = assignSourceStacks(named('new-first', 'b', 'd', 'new-last'), pinned, 2);

    expect(assigned.get('b')).toBe('01');
    expect(assigned.get('d')).toBe('02');
    // New sources fill the lowest stack with room.
    expect(assigned.get('new-first')).toBe('01');
    expect(assigned.get('new-last')).toBe('02');
  });

  it('frees the place of a source that is gone, and drops its pin', () => {
    const assigned = assignSourceStacks(named('a', 'c', 'new'), { a: '01', b: '01', c: '02' }, 2);

    expect(Object.fromEntries(assigned)).toEqual({ a: '01', c: '02', new: '01' });
  });

  it('leaves a stack someone pinned over capacity as it is: the limits check says if it fits', () => {
    const assigned = assignSourceStacks(named('a', 'b', 'c', 'd'), { a: '01', b: '01', c: '01' }, 2);

    expect(Object.fromEntries(assigned)).toEqual({ a: '01', b: '01', c: '01', d: '02' });
  });

  it('refuses a pin that is not a stack key', () => {
    expect(() => assignSourceStacks(named('a'), { a: 'one' })).toThrow(
      'infra/source-stacks.json gives a the stack "one"; expected 01..99',
    );
  });

  it('refuses a capacity that is not a positive whole number', () => {
    expect(() => assignSourceStacks(named('a'), {}, 0)).toThrow(
      'sluice:sourcesPerStack must be a positive whole number, got 0',
    );
  });
});

describe('planSourceStacks', () => {
  it('names each stack after the app and its key, with its sources in registry order', () => {
    const [first, ...rest] = planSourceStacks('Sluice', sources, new Map(sources.map((s) => [s.name, '01'])));

    expect(rest).toEqual([]);
    expect(first?.stackName).toBe(sourceStackName('Sluice', '01'));
    expect(first?.stackName).toBe('Sluice-Sources-01');
    expect(first?.sources).toEqual(sources);
  });
});

describe('assignmentFile', () => {
  it('lists sources by name, so adding one is a one-line diff', () => {
    expect(
      assignmentFile(
        new Map([
          ['b', '02'],
          ['a', '01'],
        ]),
      ),
    ).toBe('{\n  "a": "01",\n  "b": "02"\n}\n');
  });
});
