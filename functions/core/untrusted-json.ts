/**
 * What an untrusted JSON text can carry that JSON.parse keeps but the rest of the pipeline would
 * lose or mangle without a word:
 *   - a `__proto__` key: JSON.parse makes it an own property, but copying the object (as zod
 *     does) sets the prototype instead, so the key vanishes before a strict schema can see it;
 *   - a NUL character, which C strings (and many tools an operator uses) cut the text at;
 *   - a lone surrogate: text that is not Unicode, so it has no UTF-8 form to store or log.
 * The walk is iterative, so a message nested thousands of levels deep cannot overflow the stack.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface Visit {
  readonly value: unknown;
  /** Where the value sits, as the path of keys from the root (built only when reported). */
  readonly at: PathLink | undefined;
}

interface PathLink {
  readonly key: string;
  readonly parent: PathLink | undefined;
}

function pathOf(link: PathLink | undefined): string {
  const keys: string[] = [];
  for (let current = link; current !== undefined; current = current.parent) keys.push(current.key);
  const path = keys.reverse().join('.');
  return path === '' ? '(root)' : path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

function textHazard(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a NUL character';
  if (LONE_SURROGATE.test(text)) return 'a lone surrogate (text that is not valid Unicode)';
  return undefined;
}

/** The first hazard in a value JSON.parse produced, said in words; undefined when there is none. */
export function jsonHazardIn(root: unknown): string | undefined {
  const pending: Visit[] = [{ value: root, at: undefined }];
  for (let visit = pending.pop(); visit !== undefined; visit = pending.pop()) {
    const { value, at } = visit;
    if (typeof value === 'string') {
      const hazard = textHazard(value);
      if (hazard !== undefined) return `${pathOf(at)} holds ${hazard}`;
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [String(index), item])
      : Object.keys(value).map((key) => [key, (value as { [key: string]: unknown })[key]]);
    for (const [key, item] of entries) {
      const link = { key, parent: at };
      if (!Array.isArray(value)) {
        if (key === '__proto__') return `${pathOf(link)} is a __proto__ key, which JavaScript objects drop`;
        const hazard = textHazard(key);
        if (hazard !== undefined) return `a key in ${pathOf(at)} holds ${hazard}`;
      }
      pending.push({ value: item, at: link });
    }
  }
  return undefined;
}
