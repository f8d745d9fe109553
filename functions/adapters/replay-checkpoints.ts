/**
 * Replay checkpoints in local files (one JSON file per source and range), so an interrupted
 * replay run from an operator's machine resumes where it stopped.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ReplayCheckpoint, ReplayCheckpointStore } from '../core/ports.js';

const Checkpoint = z
  .object({
    source: z.string(),
    from: z.string(),
    to: z.string(),
    days: z.record(
      z.string(),
      z
        .object({ lastKey: z.string().optional(), sent: z.number().int().nonnegative(), done: z.boolean() })
        .strict(),
    ),
  })
  .strict();

export class FileReplayCheckpoints implements ReplayCheckpointStore {
  constructor(private readonly directory: string) {}

  private path(id: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new Error(`checkpoint id must be file-name safe, got ${id}`);
    return join(this.directory, `${id}.json`);
  }

  async load(id: string): Promise<ReplayCheckpoint | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(id), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const parsed = Checkpoint.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new Error(
        `replay checkpoint ${this.path(id)} is not a checkpoint (${parsed.error.message}); delete it or run with --fresh`,
      );
    }
    return parsed.data;
  }

  async save(id: string, checkpoint: ReplayCheckpoint): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const path = this.path(id);
    // Write then rename: a crash mid-write never leaves half a checkpoint behind.
    await writeFile(`${path}.tmp`, `${JSON.stringify(checkpoint, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
  }

  async clear(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }
}
