// Owns the `litepool` executable's stdout and stderr: what the command prints goes through here,
// and a stream that cannot be written is handled instead of crashing the process with an
// unhandled 'error' event and a stack trace. Decides the exit code together with the command:
// - EPIPE (the reader went away: `litepool status | head -1`): that stream's output stops
//   quietly, and the exit code stays the command's own (the work was done; the reader chose not
//   to read the rest).
// - any other write error (ENOSPC: `litepool migrate > /dev/full`): one line on stderr (while it
//   can be written), `litepool: cannot write to stdout: <message> (<code>)`, and exit code 1 when
//   the command had succeeded (its result did not reach its reader; what it did, a migration
//   applied, stays done); a command that had failed keeps its own code.
// Nothing here ends the process: it exits when its event loop is empty, after the writes to a
// pipe still queued have been flushed, so a long JSON result is never cut short.

import type { Streams } from './commands.ts';

/** What is needed of process.stdout and process.stderr. */
export interface Sink {
  write(text: string): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface GuardedOutput {
  /** The streams to give the command: a write to a stream that failed is dropped. */
  readonly streams: Streams;
  /** Records the command's exit code; the exit code to use goes to `setExitCode`, now and upon a later write error. */
  finish(code: number): void;
}

export function guardOutput(stdout: Sink, stderr: Sink, setExitCode: (code: number) => void): GuardedOutput {
  const broken = new Set<Sink>();
  let writeFailed = false;
  let result: number | undefined;
  const settle = () => {
    if (result !== undefined) setExitCode(writeFailed && result === 0 ? 1 : result);
  };
  const write = (sink: Sink, text: string) => {
    if (broken.has(sink)) return;
    try {
      sink.write(text);
    } catch (error) {
      failed(sink, error);
    }
  };
  const failed = (sink: Sink, error: unknown) => {
    if (broken.has(sink)) return; // the error of a later write, or a second one of the same
    broken.add(sink);
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'EPIPE') return;
    writeFailed = true;
    const message = error instanceof Error ? error.message : String(error);
    const name = sink === stdout ? 'stdout' : 'stderr';
    write(stderr, `litepool: cannot write to ${name}: ${message.replace(/\s*\n\s*/g, ' | ')}${typeof code === 'string' ? ` (${code})` : ''}\n`);
    settle();
  };
  stdout.on('error', (error) => failed(stdout, error));
  stderr.on('error', (error) => failed(stderr, error));
  return {
    streams: { stdout: { write: (text: string) => write(stdout, text) }, stderr: { write: (text: string) => write(stderr, text) } },
    finish(code: number) {
      result = code;
      settle();
    },
  };
}
