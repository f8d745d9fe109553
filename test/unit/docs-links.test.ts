/**
 * Every relative link in the README, docs/ and runbooks/ leads somewhere: to a file or folder of
 * the repository, and, when it names a heading (`#...`), to a heading of that Markdown file, by
 * the anchors GitHub makes. Links with a scheme (https:, mailto:) are not checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCUMENTS, ROOT } from '../support/documents.js';

/** The text outside fenced code blocks and inline code spans, line by line. */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line.replace(/`[^`]*`/g, (code) => code.replace(/[[\]()]/g, ' '));
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const slug = (heading[1] ?? '')
      .replace(/`/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

interface Link {
  readonly document: string;
  readonly line: number;
  readonly target: string;
}

function relativeLinks(document: string): Link[] {
  const links: Link[] = [];
  proseLines(readFileSync(join(ROOT, document), 'utf8')).forEach((text, index) => {
    for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      links.push({ document, line: index + 1, target });
    }
  });
  return links;
}

/** Why `link` leads nowhere, or undefined when it leads somewhere. */
function brokenBecause(link: Link): string | undefined {
  const [path = '', anchor] = link.target.split('#', 2);
  const file = path === '' ? join(ROOT, link.document) : resolve(dirname(join(ROOT, link.document)), path);
  if (!file.startsWith(ROOT)) return 'leads outside the repository';
  if (!existsSync(file)) return `${relative(ROOT, file)} does not exist`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!file.endsWith('.md')) return undefined;
  const anchors = headingAnchors(readFileSync(file, 'utf8'));
  return anchors.has(decodeURIComponent(anchor))
    ? undefined
    : `${relative(ROOT, file)} has no heading #${anchor}`;
}

describe('relative links in the documentation', () => {
  it('are found: the README, docs/ and runbooks/ link to one another', () => {
    expect(DOCUMENTS).toEqual(expect.arrayContaining(['README.md', 'docs/DESIGN.md', 'runbooks/README.md']));
    expect(DOCUMENTS.flatMap(relativeLinks).length).toBeGreaterThan(50);
  });

  it.each(DOCUMENTS)('%s links only to files and headings that exist', (document) => {
    const broken = relativeLinks(document).flatMap((link) => {
      const reason = brokenBecause(link);
      return reason === undefined ? [] : [`${document}:${link.line} (${link.target}): ${reason}`];
    });

    expect(broken).toEqual([]);
  });
});

describe('headingAnchors', () => {
  it('makes the anchors GitHub makes', () => {
    const markdown = [
      '# Records and replay',
      '## Raw storage is append-only in fact',
      '## What `npm start` does',
      '## Idempotency: one claim per job',
      '```',
      '# not a heading',
      '```',
      '## Notes',
      '## Notes',
    ].join('\n');

    expect([...headingAnchors(markdown)]).toEqual([
      'records-and-replay',
      'raw-storage-is-append-only-in-fact',
      'what-npm-start-does',
      'idempotency-one-claim-per-job',
      'notes',
      'notes-1',
    ]);
  });
});
