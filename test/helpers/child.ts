// Owns running Node scripts in child processes for tests: spawns `node <args>` (from the
// repository root unless told otherwise), collects stdout and stderr as text, kills the child with
// SIGKILL at an optional deadline (reported as timedOut), and waits for a line of its output. A
// child that misbehaves then fails its test instead of stalling the file.
import { spawn } from 'node:child_process';
import { root } from './paths.ts';

/** How a child ended, with everything it printed. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the deadline killed it. */
  timedOut: boolean;
}

export interface ChildOptions {
  /** Kill the child with SIGKILL after this many milliseconds (timedOut: true). Default: never. */
  bound?: number;
  /** Working directory; default: the repository root. */
  cwd?: string;
  /** 'pipe' keeps stdin open until endInput(); default 'ignore'. */
  stdin?: 'ignore' | 'pipe';
}

/** A running child. */
export interface NodeChild {
  /** Everything printed on stdout so far. */
  readonly stdout: string;
  /** Everything printed on stderr so far. */
  readonly stderr: string;
  /** Settles once the child has closed; rejects when it could not be started. */
  readonly closed: Promise<ChildResult>;
  /** Calls `listener` after each chunk of stdout (once `stdout` includes it). */
  onStdout(listener: () => void): void;
  /**
   * Resolves once `line` is a whole line of stdout; rejects after `bound` ms, or when the child
   * closes first. `name` names the child in the error.
   */
  waitForLine(line: string, bound: number, name: string): Promise<void>;
  /** Cancels the deadline. */
  disarm(): void;
  /** Closes the child's stdin (stdin: 'pipe'). */
  endInput(): void;
  /** Kills the child with SIGKILL unless it has already exited. */
  kill(): void;
}

/**
 * Starts `node <args>`.
 *
 * @example
 * const child = startNode([fixture('lock-holder.mjs'), file], { stdin: 'pipe' });
 * await child.waitForLine('locked', 20_000, 'lock-holder');
 * child.endInput();
 * const { code } = await child.closed;
 */
export function startNode(args: readonly string[], options: ChildOptions = {}): NodeChild {
  const child = spawn(process.execPath, [...args], { cwd: options.cwd ?? root, stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const listeners: (() => void)[] = [];
  // stdout and stderr are piped (the stdio option above), so never null.
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (options.bound !== undefined) {
    timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.bound);
  }
  const closed = new Promise<ChildResult>((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  // Whoever needs the outcome awaits `closed`; a child nobody awaits must not leave an unhandled rejection.
  closed.catch(() => undefined);
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    closed,
    onStdout: (listener) => void listeners.push(listener),
    waitForLine: (line, bound, name) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`${name} did not print '${line}' within ${bound} ms: ${stderr}`)), bound);
        const check = (): void => {
          if (stdout.split('\n').includes(line)) {
            clearTimeout(deadline);
            resolve();
          }
        };
        listeners.push(check);
        check();
        child.on('close', (code) => {
          check();
          clearTimeout(deadline);
          reject(new Error(`${name} exited (${code}) before printing '${line}': ${stderr}`));
        });
      }),
    disarm: () => clearTimeout(timer),
    endInput: () => void child.stdin?.end(),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Runs `node <args>` to its end (see startNode for the options). */
export function runNode(args: readonly string[], options: ChildOptions = {}): Promise<ChildResult> {
  return startNode(args, options).closed;
}
