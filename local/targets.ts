/**
 * Your own site, locally: where the local profile collects each source from. The bundled demo
 * site serves every `*.demo.sluice.example` origin; `npm start -- --target <source>=<url>`
 * (repeatable) and `.sluice/targets.json` (`{"<source>": "<url>"}`, git-ignored) send a source's
 * origin to a site on this machine or its network instead. All of it becomes the functions'
 * SLUICE_ORIGIN_OVERRIDES, which only the local environment sets; the deployed stack never has it.
 * An override already set in the shell is merged, never silently replaced: the same origin sent
 * to two places is refused with both named.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { localOriginProblem, type OriginOverrides } from '../functions/core/egress.js';
import type { SourceDefinition } from '../sources/define.js';
import { SCRATCH_DIR } from './paths.js';

/** The git-ignored file of local targets. */
export const TARGETS_FILE = join(SCRATCH_DIR, 'targets.json');

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

const TargetsFile = z.record(z.string(), z.string());

/** A source's local target, and where it was given. */
export interface LocalTarget {
  readonly source: string;
  readonly origin: string;
  readonly url: string;
  readonly from: string;
}

function targetOf(
  name: string,
  url: string,
  from: string,
  findSource: (name: string) => SourceDefinition | undefined,
): LocalTarget {
  const source = findSource(name);
  if (source === undefined) throw new TargetError(`${from}: there is no source ${JSON.stringify(name)}`);
  const problem = localOriginProblem(url);
  if (problem !== undefined) throw new TargetError(`${from}: ${name}: ${problem}`);
  return { source: name, origin: source.origin, url: new URL(url).origin, from };
}

/**
 * The targets of `.sluice/targets.json` and of `--target <source>=<url>` flags; a flag wins over
 * the file for the same source (it is the more explicit of the two).
 */
export function readTargets(
  flags: readonly string[],
  findSource: (name: string) => SourceDefinition | undefined,
  file: string = TARGETS_FILE,
): LocalTarget[] {
  const bySource = new Map<string, LocalTarget>();
  if (existsSync(file)) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new TargetError(`${file} is not JSON: ${(error as Error).message}`);
    }
    const parsed = TargetsFile.safeParse(json);
    if (!parsed.success)
      throw new TargetError(
        `${file} must map source names to URLs, like {"acme-prices": "http://127.0.0.1:8123"}`,
      );
    for (const [name, url] of Object.entries(parsed.data))
      bySource.set(name, targetOf(name, url, file, findSource));
  }
  for (const flag of flags) {
    const at = flag.indexOf('=');
    if (at <= 0) throw new TargetError(`--target must be <source>=<url>, got ${JSON.stringify(flag)}`);
    const name = flag.slice(0, at);
    bySource.set(name, targetOf(name, flag.slice(at + 1), `--target ${flag}`, findSource));
  }
  return [...bySource.values()];
}

const ShellOverrides = z.record(z.string(), z.string());

/**
 * The overrides the functions get: the demo site's, then SLUICE_ORIGIN_OVERRIDES from the shell
 * (which may move a demo origin elsewhere), then the targets. Refuses an origin that the shell
 * and a target send to different places, and a shell value that is not an override at all.
 */
export function mergeOriginOverrides(
  demo: OriginOverrides,
  shell: string | undefined,
  targets: readonly LocalTarget[],
): OriginOverrides {
  const merged: { [origin: string]: string } = { ...demo };
  let fromShell: OriginOverrides = {};
  if (shell !== undefined && shell.trim() !== '') {
    let json: unknown;
    try {
      json = JSON.parse(shell);
    } catch {
      throw new TargetError(
        `SLUICE_ORIGIN_OVERRIDES in your shell is not JSON; it must map origins to local URLs, like {"https://prices.acme.example":"http://127.0.0.1:8123"} (or use --target)`,
      );
    }
    const parsed = ShellOverrides.safeParse(json);
    if (!parsed.success)
      throw new TargetError('SLUICE_ORIGIN_OVERRIDES in your shell must map origins to local URLs');
    fromShell = parsed.data;
    for (const [origin, url] of Object.entries(fromShell)) {
      const problem = localOriginProblem(url);
      if (problem !== undefined)
        throw new TargetError(`SLUICE_ORIGIN_OVERRIDES in your shell: ${origin}: ${problem}`);
      merged[origin] = url;
    }
  }
  for (const target of targets) {
    const shellUrl = fromShell[target.origin];
    if (shellUrl !== undefined && new URL(shellUrl).origin !== target.url) {
      throw new TargetError(
        `${target.origin} (${target.source}) is sent to ${shellUrl} by SLUICE_ORIGIN_OVERRIDES in your shell and to ${target.url} by ${target.from}: unset one of them`,
      );
    }
    merged[target.origin] = target.url;
  }
  return merged;
}

/** `demo-*,acme-prices` → a test of source names (`*` any run of characters, `?` one). */
export function sourceGlob(pattern: string): (name: string) => boolean {
  const parts = pattern
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) throw new TargetError('--sources needs a glob, like demo-* or acme-prices');
  const regexes = parts.map(
    (part) =>
      new RegExp(
        `^${part
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ),
  );
  return (name) => regexes.some((r) => r.test(name));
}
