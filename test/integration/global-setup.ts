/**
 * Synthesizes the CDK app once, bundles included, before any integration test: every test file
 * then runs the functions' real bundles from cdk.out against the template it just produced.
 */
import { synthesize } from '../../local/environment.js';

export default function setup(): void {
  synthesize();
}
