// Owns what may refuse the pool's writes before they start and name the failures of those that
// ran (`replication: 'litefs'`: a replica node takes no writes). Runs on the JS thread.

/**
 * What may refuse the pool's writes before they start, and names the failures of those that ran
 * (`replication: 'litefs'`: a replica node takes no writes).
 */
export interface WriteGuard {
  /** Throws when this node must not write now. */
  checkWritable(): void;
  /** The error a failed write reports (the one given, or what it really means). */
  translate(error: unknown): unknown;
}
