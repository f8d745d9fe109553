/** Plain-text output for people reading it at 3 a.m.: aligned tables, short durations. */

export function duration(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) {
    const hours = ms / 3_600_000;
    return Number.isInteger(hours) ? `${hours} h` : `${hours.toFixed(1)} h`;
  }
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

export function age(seconds: number | undefined): string {
  return seconds === undefined ? '—' : duration(seconds * 1000);
}

export function percent(value: number | undefined): string {
  return value === undefined ? '—' : `${value.toFixed(1)} %`;
}

/** Left-aligned columns separated by two spaces; the header is underlined by nothing but spacing. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function truncate(text: string, length: number): string {
  const single = text.replace(/\s+/g, ' ');
  return single.length <= length ? single : `${single.slice(0, length - 1)}…`;
}
