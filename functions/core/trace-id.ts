import { createHash } from 'node:crypto';

/** A trace ID for a message that brought none: derived from the message ID, so redeliveries share it. */
export function traceIdForMessage(messageId: string): string {
  const hex = createHash('sha256').update(`sluice-trace:${messageId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
