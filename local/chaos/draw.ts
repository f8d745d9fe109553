/**
 * Seeded, stateless draws for the chaos run: the same seed and the same parts always give the
 * same number, whatever order requests arrive in. A fault decided by `draw(seed, traceId, path, n)`
 * therefore hits the same request of the same job in every run with that seed.
 */
import { createHash } from 'node:crypto';

/** A number in [0, 1) determined by the seed and the parts alone. */
export function draw(seed: string, ...parts: readonly (string | number)[]): number {
  const digest = createHash('sha256')
    .update([seed, ...parts].join('\u0000'))
    .digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/** An integer in [min, max], determined by the seed and the parts. */
export function drawInt(
  min: number,
  max: number,
  seed: string,
  ...parts: readonly (string | number)[]
): number {
  return min + Math.floor(draw(seed, ...parts) * (max - min + 1));
}

/** A UUID-shaped identifier determined by the seed and the parts (for trace IDs). */
export function drawUuid(seed: string, ...parts: readonly (string | number)[]): string {
  const hex = createHash('sha256')
    .update([seed, 'uuid', ...parts].join('\u0000'))
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Picks `ceil(rate * items.length)` items (none when the rate is 0), the same ones for the same
 * seed: a planned fault with a non-zero rate happens at least once, so a small run still has it.
 */
export function pickShare<T>(
  items: readonly T[],
  rate: number,
  seed: string,
  label: string,
  idOf: (item: T) => string,
): Set<T> {
  if (rate <= 0 || items.length === 0) return new Set();
  const count = Math.min(items.length, Math.ceil(rate * items.length));
  const ranked = [...items].sort((a, b) => draw(seed, label, idOf(a)) - draw(seed, label, idOf(b)));
  return new Set(ranked.slice(0, count));
}
