import { describe, expect, it } from 'vitest';
import { skuPrefix, withBoardSuffix, withSkuPrefix } from '../../../bench/raw-seed.js';
import { mapConcurrent, median, percentile, spread } from '../../../bench/stats.js';

describe('the benchmark statistics', () => {
  it('takes the median of an odd and of an even number of samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('uses nearest-rank percentiles', () => {
    const samples = Array.from({ length: 20 }, (_, i) => i + 1);

    expect(percentile(samples, 50)).toBe(10);
    expect(percentile(samples, 95)).toBe(19);
    expect(percentile(samples, 100)).toBe(20);
  });

  it('refuses to summarise no samples', () => {
    expect(() => median([])).toThrow(/median of no samples/);
    expect(() => percentile([], 50)).toThrow(/percentile of no samples/);
  });

  it('reports the spread of samples', () => {
    expect(spread([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, n: 3 });
  });

  it('keeps results in input order and never runs more than the concurrency at once', async () => {
    let running = 0;
    let most = 0;
    const results = await mapConcurrent([30, 10, 20, 5, 15], 2, async (delay, index) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, delay));
      running -= 1;
      return index;
    });

    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });
});

describe('the benchmark raw-storage seeding', () => {
  it('gives every observation index its own three-letter SKU prefix', () => {
    expect(skuPrefix(0)).toBe('AAA');
    expect(skuPrefix(27)).toBe('ABB');
    expect(skuPrefix(26 ** 3 - 1)).toBe('ZZZ');
    expect(() => skuPrefix(26 ** 3)).toThrow(/sku prefix index must be 0..17575, got 17576/);
  });

  it('moves every SKU of a catalogue page under the prefix, in attributes and links alike', () => {
    const page = Buffer.from('<li data-sku="TOO-0001"><a href="/catalog/tools/item/TOO-0001">x</a></li>');

    expect(withSkuPrefix(page, 'QRS').toString()).toBe(
      '<li data-sku="QRS-0001"><a href="/catalog/tools/item/QRS-0001">x</a></li>',
    );
  });

  it('renames the board of a rendered rates page', () => {
    const page = Buffer.from('<h1>Rates: <span id="board">majors</span></h1>');

    expect(withBoardSuffix(page, '17').toString()).toBe('<h1>Rates: <span id="board">majors-17</span></h1>');
  });
});
