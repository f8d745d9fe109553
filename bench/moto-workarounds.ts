/**
 * What the benchmark does differently because the AWS side is moto, not AWS — measured and
 * reported, never hidden.
 *
 * moto 5.2's TransactWriteItems deep-copies every table it touches, once per item, and keeps the
 * copies: its memory grows with the square of the number of transactions, and two transactions at
 * once can fail with HTTP 500 ("dictionary changed size during iteration"). The job ledger writes
 * one transaction per attempt, so a 1,000-job local run ends with moto killed by the kernel's OOM
 * killer. Every moto the benchmark starts therefore loads bench/moto-patch/sitecustomize.py, which
 * skips the table copy; `measureTransactionMemory` measures both motos so the reason stays on
 * record in every run. (The local emulator itself runs one DynamoDB request at a time.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../local/emulator.js';
import type { AwsStage } from './aws-stage.js';

export const MOTO_PATCH_DIR = join(import.meta.dirname, 'moto-patch');

/** Makes every moto this process starts load the patch (PYTHONPATH is inherited by the child). */
export function usePatchedMoto(): void {
  const current = process.env.PYTHONPATH;
  process.env.PYTHONPATH =
    current === undefined || current === '' ? MOTO_PATCH_DIR : `${MOTO_PATCH_DIR}:${current}`;
}

/** Resident memory of the moto server listening on `endpoint`'s port, in MiB. */
export function motoResidentMiB(endpoint: string): number {
  const port = new URL(endpoint).port;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      // local/emulator.ts runs `python -c <launcher importing moto.server> -H host -p port`.
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const portArgument = commandLine[commandLine.indexOf('-p') + 1];
      if (!commandLine.some((arg) => arg.includes('moto.server')) || portArgument !== port) continue;
      const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (rss !== undefined) return Number(rss) / 1024;
    } catch {
      // the process ended, or is not readable
    }
  }
  throw new Error(`no moto server found listening on port ${port}`);
}

export interface TransactionMemory {
  readonly transactions: number;
  readonly unpatched: { readonly beforeMiB: number; readonly afterMiB: number; readonly ms: number };
  readonly patched: { readonly beforeMiB: number; readonly afterMiB: number; readonly ms: number };
}

/**
 * Resident memory of a fresh moto before and after `transactions` ledger transactions, without
 * and with the patch. `run` gets a stage-like view of each moto and does the writes.
 */
export async function measureTransactionMemory(
  transactions: number,
  logDir: string,
  run: (endpoint: string, count: number) => Promise<void>,
): Promise<TransactionMemory> {
  const measure = async (patched: boolean) => {
    const saved = process.env.PYTHONPATH;
    if (!patched) delete process.env.PYTHONPATH;
    const emulator = await startEmulator({
      logFile: join(logDir, `moto-memory-${patched ? 'patched' : 'unpatched'}.log`),
    });
    if (saved !== undefined) process.env.PYTHONPATH = saved;
    try {
      const beforeMiB = motoResidentMiB(emulator.endpoint);
      const started = performance.now();
      await run(emulator.endpoint, transactions);
      const ms = performance.now() - started;
      return { beforeMiB, afterMiB: motoResidentMiB(emulator.endpoint), ms };
    } finally {
      await emulator.stop();
    }
  };
  return { transactions, unpatched: await measure(false), patched: await measure(true) };
}

export type { AwsStage };
