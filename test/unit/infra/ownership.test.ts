import { describe, expect, it } from 'vitest';
import { MAX_TAG_VALUE_LENGTH, ownersTagValue } from '../../../infra/ownership.js';

const teams = (count: number) =>
  Array.from({ length: count }, (_, i) => `team-${String(i).padStart(3, '0')}`);

describe('ownersTagValue', () => {
  it('names every owner, space-separated, while they fit in a tag value', () => {
    expect(ownersTagValue(['team-a', 'team-b'])).toBe('team-a team-b');
  });

  it('keeps a list of exactly the longest length AWS accepts', () => {
    const owners = ['a'.repeat(MAX_TAG_VALUE_LENGTH - 2), 'b'];

    expect(ownersTagValue(owners)).toHaveLength(MAX_TAG_VALUE_LENGTH);
  });

  it('says how many teams and where they are listed once the list is too long, instead of cutting it', () => {
    // 40 teams of 8 characters: 359 characters joined, which CloudFormation would refuse.
    const value = ownersTagValue(teams(40));

    expect(teams(40).join(' ').length).toBeGreaterThan(MAX_TAG_VALUE_LENGTH);
    expect(value).toBe('40 teams: see runbooks/OWNERS.md');
    expect(value.length).toBeLessThanOrEqual(MAX_TAG_VALUE_LENGTH);
  });
});
