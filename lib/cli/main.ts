#!/usr/bin/env node
// Owns the `litepool` executable (package.json "bin"): runs the command line with the process's
// arguments and streams, and exits with its code (0 ok, 1 failure, 2 usage).

import { run } from './commands.ts';

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
