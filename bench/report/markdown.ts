/** Markdown building blocks and units shared by every section of RESULTS.md. */
import { formatNumber as n, type Spread } from '../stats.js';

export const kb = (bytes: number) => `${n(bytes / 1024)} KiB`;
export const mb = (bytes: number) => `${n(bytes / 1024 ** 2)} MiB`;
export const ms = (value: number) => `${n(value)} ms`;
/** A latency that may be missing (no job finished). */
export const msOrDash = (value: number | undefined) => (value === undefined ? '—' : ms(value));
export const ratio = (s: Spread) => `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
