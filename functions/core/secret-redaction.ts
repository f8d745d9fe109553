/**
 * Secrets out of text that was made while using them.
 *
 * A password shows up in an error in more shapes than the one it was stored in: Playwright's call
 * log quotes the value it was typing as a JSON string (`\n` for a line break), splits a multi-line
 * value across log lines, and a form body or URL carries it encoded. Redacting only the exact
 * value misses all of those, so every shape is redacted, the longest first.
 */

export const REDACTED = '[redacted]';

/** Lines of a secret shorter than this are not redacted alone: they would blank ordinary words. */
const SHORTEST_REDACTED_LINE = 4;

/** Every shape in which `secret` can appear in text made from it. */
export function secretShapes(secret: string): string[] {
  if (secret.length === 0) return [];
  const whole = [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
  ];
  const lines = secret
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line.length >= SHORTEST_REDACTED_LINE);
  const shapes = [...whole, ...lines, ...lines.map((line) => JSON.stringify(line).slice(1, -1))];
  return [...new Set(shapes)].sort((a, b) => b.length - a.length);
}

/** `text` with every shape of every secret replaced by a marker. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const shapes = [...new Set(secrets.flatMap(secretShapes))].sort((a, b) => b.length - a.length);
  return shapes.reduce((redacted, shape) => redacted.split(shape).join(REDACTED), text);
}
