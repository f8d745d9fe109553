/**
 * Secrets out of text that was made while using them.
 *
 * A password shows up in an error in more shapes than the one it was stored in: Playwright's call
 * log quotes the value it was typing as a JSON string (`\n` for a line break), splits a multi-line
 * value across log lines, a form body or URL carries it encoded, and a page's markup may write
 * any of its characters as an HTML character reference. Redacting only the exact value misses
 * all of those. So the common shapes are redacted as they are, the longest first; then the text
 * is read back the way each format would decode it (HTML references, percent-encoding, form
 * encoding, JSON escapes), and every stretch that decodes to a secret is redacted too, however
 * its characters were spelled.
 */

export const REDACTED = '[redacted]';

/** Lines of a secret shorter than this are not redacted alone: they would blank ordinary words. */
const SHORTEST_REDACTED_LINE = 4;

/** The lines of a secret that are redacted on their own: trimmed, long enough. */
function linesOf(secret: string): string[] {
  return secret
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line.length >= SHORTEST_REDACTED_LINE);
}

/** Every shape in which `secret` commonly appears in text made from it. */
export function secretShapes(secret: string): string[] {
  if (secret.length === 0) return [];
  const whole = [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
  ];
  const lines = linesOf(secret);
  const shapes = [...whole, ...lines, ...lines.map((line) => JSON.stringify(line).slice(1, -1))];
  return [...new Set(shapes)].sort((a, b) => b.length - a.length);
}

/** A stretch of text one escape spells: where it is, and what it stands for. */
interface Escape {
  readonly index: number;
  readonly length: number;
  readonly decoded: string;
}

/** How one format escapes characters: what a stretch looks like, and what it stands for. */
interface Decoding {
  /** Whether the text can hold an escape of this format at all (a cheap check first). */
  readonly marker: RegExp;
  readonly escape: RegExp;
  decode(match: RegExpExecArray): string;
}

const NAMED_REFERENCES: { readonly [name: string]: string } = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
};

function codePoint(value: number): string {
  return value <= 0x10ffff ? String.fromCodePoint(value) : '\ufffd';
}

const percentRun = (run: string) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8');

const JSON_ESCAPES: { readonly [c: string]: string } = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

const htmlReference = ([, decimal, hexadecimal, name]: RegExpExecArray) =>
  decimal !== undefined
    ? codePoint(Number(decimal))
    : hexadecimal !== undefined
      ? codePoint(Number.parseInt(hexadecimal, 16))
      : (NAMED_REFERENCES[name ?? ''] ?? '');

/** HTML character references, with the final semicolon required or (as browsers read them) optional. */
const htmlReferences = (semicolon: ';' | ';?'): Decoding => ({
  marker: /&/,
  escape: new RegExp(`&(?:#(\\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos|nbsp))${semicolon}`, 'g'),
  decode: htmlReference,
});

const DECODINGS: readonly Decoding[] = [
  htmlReferences(';?'),
  // Read strictly too, as XML and many unescapers do: a `&#` with no semicolon before the secret
  // (`&#` + `0>&#64;…`) is text there, so the secret's first character is not swallowed.
  htmlReferences(';'),
  // Percent-encoding, one run of bytes at a time (a character can take several).
  { marker: /%/, escape: /(?:%[0-9a-fA-F]{2})+/g, decode: ([run]) => percentRun(run ?? '') },
  // Form encoding: the same, with `+` for a space.
  {
    marker: /\+/,
    escape: /\+|(?:%[0-9a-fA-F]{2})+/g,
    decode: ([run]) => (run === '+' ? ' ' : percentRun(run ?? '')),
  },
  {
    marker: /\\/,
    escape: /\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))/g,
    decode: ([, unit, short]) =>
      unit !== undefined ? String.fromCharCode(Number.parseInt(unit, 16)) : (JSON_ESCAPES[short ?? ''] ?? ''),
  },
];

/**
 * `text` read back through one decoding, with a way to map a decoded stretch to the stretch of
 * `text` it came from (an escape maps whole: a secret that starts or ends inside one takes it).
 */
function decodedView(
  text: string,
  decoding: Decoding,
): { view: string; rawSpan(start: number, end: number): [number, number] } {
  const escapes: (Escape & { readonly viewIndex: number })[] = [];
  const pieces: string[] = [];
  let rawAt = 0;
  let viewAt = 0;
  for (const match of text.matchAll(decoding.escape)) {
    const index = match.index ?? 0;
    pieces.push(text.slice(rawAt, index));
    viewAt += index - rawAt;
    const decoded = decoding.decode(match as RegExpExecArray);
    escapes.push({ index, length: match[0].length, decoded, viewIndex: viewAt });
    pieces.push(decoded);
    viewAt += decoded.length;
    rawAt = index + match[0].length;
  }
  pieces.push(text.slice(rawAt));
  /** The raw offset of view offset `at`; inside an escape, its start (`edge` 'start') or end. */
  const toRaw = (at: number, edge: 'start' | 'end'): number => {
    // The last escape that starts at or before `at` in the view (escapes are in order).
    let low = 0;
    let high = escapes.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((escapes[middle]?.viewIndex ?? 0) <= at) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    const spelled = escapes[found];
    if (spelled === undefined) return at;
    const viewEnd = spelled.viewIndex + spelled.decoded.length;
    if (at < viewEnd) return edge === 'start' ? spelled.index : spelled.index + spelled.length;
    return spelled.index + spelled.length + (at - viewEnd);
  };
  return {
    view: pieces.join(''),
    rawSpan: (start, end) => [
      toRaw(start, 'start'),
      end <= start ? toRaw(start, 'start') : toRaw(end - 1, 'end'),
    ],
  };
}

/** Stretches of `text` that decode (through `decoding`) to one of `needles`. */
function encodedStretches(text: string, needles: readonly string[], decoding: Decoding): [number, number][] {
  if (!decoding.marker.test(text)) return [];
  const { view, rawSpan } = decodedView(text, decoding);
  const stretches: [number, number][] = [];
  for (const needle of needles) {
    for (let at = view.indexOf(needle); at !== -1; at = view.indexOf(needle, at + 1)) {
      stretches.push(rawSpan(at, at + needle.length));
    }
  }
  return stretches;
}

/** `text` with the given stretches (in any order, overlapping or not) replaced by the marker. */
function replaceStretches(text: string, stretches: [number, number][]): string {
  if (stretches.length === 0) return text;
  const sorted = [...stretches].sort(([a], [b]) => a - b);
  const pieces: string[] = [];
  let at = 0;
  for (const [start, end] of sorted) {
    if (end <= at) continue;
    if (start >= at) pieces.push(text.slice(at, start), REDACTED);
    at = end;
  }
  pieces.push(text.slice(at));
  return pieces.join('');
}

/** `text` with every shape and every encoding of every secret replaced by a marker. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const present = secrets.filter((secret) => secret.length > 0);
  if (present.length === 0) return text;
  const shapes = [...new Set(present.flatMap(secretShapes))].sort((a, b) => b.length - a.length);
  const needles = [...new Set(present.flatMap((secret) => [secret, ...linesOf(secret)]))];
  return DECODINGS.reduce(
    (redacted, decoding) => replaceStretches(redacted, encodedStretches(redacted, needles, decoding)),
    shapes.reduce((redacted, shape) => redacted.split(shape).join(REDACTED), text),
  );
}

/** `error` with every secret replaced in its text: message and stack, its own and its causes'. */
export function redactError(error: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return error;
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth += 1) {
    current.message = redactSecrets(current.message, secrets);
    if (current.stack !== undefined) current.stack = redactSecrets(current.stack, secrets);
    current = current.cause;
  }
  return error;
}

/**
 * The response as received, unless it shows a secret: raw storage keeps exact bytes, but never a
 * credential. A text body that holds one is answered redacted (`redacted`: the manifest says so).
 */
export function redactBody(
  body: Buffer,
  contentType: string,
  secrets: readonly string[],
): { readonly body: Buffer; readonly redacted: boolean } {
  if (
    secrets.length === 0 ||
    !/^(text\/|application\/(json|xml|xhtml|javascript))|\+(json|xml)\b/i.test(contentType)
  )
    return { body, redacted: false };
  const text = body.toString('utf8');
  const clean = redactSecrets(text, secrets);
  if (clean === text) return { body, redacted: false };
  return { body: Buffer.from(clean, 'utf8'), redacted: true };
}
