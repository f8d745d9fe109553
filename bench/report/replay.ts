/** ## 4: replay over more than 10,000 stored raw objects. */
import type { ReplayBenchResult } from '../replay.js';
import { formatSpread, formatNumber as n } from '../stats.js';
import { ms } from './markdown.js';

export function replaySection(r: ReplayBenchResult): string {
  return `## 4. Replay

What was measured: \`replayRawObjects\` in \`bench/replay-target.ts\`: Sluice's replay
(\`replayRange\` in \`functions/core/replay.ts\`, as \`npm run replay\` runs it) over one day of
\`demo-rates\`, with the real S3 catalogue listing and file checkpoints, as fast as it can send.
Only the transform queue is replaced: each manifest sent goes to ${r.concurrency} in-process workers that
run the transform's core (\`transformManifest\`) — read the manifest and its primary artifact (the
rendered DOM), parse, validate, upsert into a fresh records table — never fetching from the source.
SQS and the transform Lambda's polling are left out (the pipeline part measures those;
\`npm run bench:replay\` measures replay through them). The stored objects are browser observations
(response, rendered DOM, screenshot, console log, manifest: five per fetch), copied from real
collections of each board with the board renamed so every record is new, plus the browser part's
own collections of the same day.

| | |
| --- | --- |
| raw objects under the day's prefix | ${r.objectsInPrefix.toLocaleString('en-US')} (${r.manifests} manifests replayed) |
| wall time | ${n(r.wallMs / 1000)} s (of which replayRange listing and sending: ${ms(r.sendMs)}) |
| stored objects covered per second | ${n((r.objectsInPrefix / r.wallMs) * 1000)} |
| objects read per second (manifest + primary artifact) | ${n(r.objectsPerSecond)}; by tenth of the run ${formatSpread(r.objectsPerSecondByTenth)} |
| records upserted per second | ${n(r.recordsPerSecond)} (${r.records} records) |
| failures | ${r.failures}${r.firstFailure === undefined ? '' : ` (first: ${r.firstFailure})`} |

One long run, not repeated: the spread is across the ten tenths of the run.
`;
}
