/**
 * What a collector produces, independent of how it fetched (plain HTTP or a browser).
 */
import type { FollowUpRequest } from '../../sources/define.js';
import type { ArtifactRole } from './contracts.js';

export interface CollectedArtifact {
  readonly name: string;
  readonly role: ArtifactRole;
  readonly contentType: string;
  /** Exact bytes, as received or as captured. */
  readonly body: Buffer;
}

export interface Collection {
  readonly request: { readonly url: string; readonly method: 'GET' | 'POST' };
  readonly response: { readonly status: number; readonly finalUrl: string; readonly contentType?: string };
  /** When the response was received: the observation time of every record parsed from it. */
  readonly observedAt: Date;
  readonly artifacts: readonly CollectedArtifact[];
  readonly primaryArtifact: string;
  /** Which branch or fallback ran, in order, e.g. `http-get`, `followed-redirect`. */
  readonly branches: readonly string[];
  /** Jobs the collector saw it should ask for next (the source's `followUps.fromResponse`). @default - none */
  readonly followUps?: readonly FollowUpRequest[];
}

export interface CollectRequest<Input = unknown> {
  readonly input: Input;
  readonly traceId: string;
  readonly jobKey: string;
}
