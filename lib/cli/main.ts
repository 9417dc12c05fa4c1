#!/usr/bin/env node
// Owns the `litepool` executable (package.json "bin"): runs the command line with the process's
// arguments and streams, and exits with its code (0 ok, 1 failure, 2 usage; 1 also for a command
// that can never finish, see run()). The streams are guarded (output.ts): a reader that went away
// (EPIPE) or a full disk (ENOSPC) is no crash with a stack trace. The process is not ended by
// hand: it exits once what was written is flushed.

import { run } from './commands.ts';
import { guardOutput } from './output.ts';

const output = guardOutput(process.stdout, process.stderr, (code) => {
  process.exitCode = code;
});
// 'beforeExit': the event loop is empty; a command still waiting then can never finish (run() stops it).
const onExit = (listener: () => void) => {
  process.on('beforeExit', listener);
  return () => void process.off('beforeExit', listener);
};
output.finish(await run(process.argv.slice(2), output.streams, onExit));
