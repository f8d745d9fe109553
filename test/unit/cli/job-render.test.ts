import { describe, expect, it } from 'vitest';
import { type JobHistory, renderJobs } from '../../../cli/commands/job.js';
import type { RawManifest } from '../../../functions/core/contracts.js';

const prefix = 'raw/source=acme-invoices/dt=2026-12-02/id-1/20261202T141422841Z-0a4db078';
const artifact = (name: string, role: string, contentType: string) => ({
  name,
  key: `${prefix}/${name}`,
  role,
  contentType,
  size: 70,
  sha256: 'a'.repeat(64),
});

/** A browser source whose artifact is a download: the CSV keeps the site's file name. */
const manifest = {
  primaryArtifact: 'invoices.csv',
  artifacts: [
    artifact('invoices.csv', 'body', 'text/csv'),
    artifact('response.html', 'rendered-dom', 'text/html'),
    artifact('screenshot.png', 'screenshot', 'image/png'),
  ],
} as unknown as RawManifest;

function history(manifestOfJob: RawManifest | undefined): JobHistory {
  return {
    jobKey: 'id-1',
    summary: { source: 'acme-invoices', status: 'transformed' },
    attempts: [
      {
        stage: 'collect',
        attempt: 1,
        outcome: 'collected',
        artifactKeys: ['invoices.csv', 'response.html', 'screenshot.png'].map((n) => `${prefix}/${n}`),
      },
    ],
    notes: [],
    tasks: [],
    manifest: manifestOfJob,
    followUps: [],
  };
}

const labelOf = (text: string, name: string) =>
  new RegExp(`(raw|snapshot)\\s+\\S+/${name.replace('.', '\\.')}`).exec(text)?.[1];

describe('renderJobs', () => {
  it("labels a download's file as the raw artifact and the rendered page as a snapshot", () => {
    // Without the manifest fields it would fall back to the name: response.html as raw.
    const text = renderJobs([{ ...history(undefined), manifest: { ...manifest, ...pick() } as RawManifest }]);

    expect(labelOf(text, 'invoices.csv')).toBe('raw');
    expect(labelOf(text, 'response.html')).toBe('snapshot');
    expect(labelOf(text, 'screenshot.png')).toBe('snapshot');
  });

  it('falls back to response.<ext> for an attempt no manifest describes', () => {
    const text = renderJobs([history(undefined)]);

    expect(labelOf(text, 'response.html')).toBe('raw');
    expect(labelOf(text, 'invoices.csv')).toBe('snapshot');
  });
});

/** The fields renderJobs prints from a manifest besides its artifacts. */
function pick() {
  return {
    job: { input: {} },
    request: { method: 'GET', url: 'http://127.0.0.1:8123/billing' },
    response: { status: 200, finalUrl: 'http://127.0.0.1:8123/billing/invoices.csv' },
    observedAt: '2026-12-02T14:14:22.841Z',
    branches: ['downloaded'],
  };
}
