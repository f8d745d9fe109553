/** The project's Markdown documents, the README and everything under docs/ and runbooks/, for the tests that read them all. */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function markdownUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** Paths relative to the project root, sorted. */
export const DOCUMENTS = ['README.md', ...markdownUnder('docs'), ...markdownUnder('runbooks')].sort();
