// Covers a worker thread the system refuses to create (injected through the fault-injection test
// build's NativePool option testFailReaderStart: the third reader's thread): startReaders() throws
// a JS error instead of ending the process, the readers started before it open their
// connections, and abort() (what open() calls when it fails half way) stops and joins them and
// the writer at once, without waiting for the readers that never ran. Skipped, with a message,
// when the fault-injection build is missing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const addon = fileURLToPath(new URL('../build-fault/build/Release/litepool.node', import.meta.url));
const built = existsSync(addon);
if (built) process.env.LITEPOOL_TEST_FAULT_ADDON = addon;
else console.warn(`skipping the reader start failure: ${addon} is missing (run scripts/build-fault-addon.sh)`);

// Imported after the variable is set (the addon is loaded on first use, not at import).
const { binding } = await import('../lib/native/binding.ts');
const { nativeConfig, resolveOptions } = await import('../lib/input/options.ts');
const { HEADER_CELLS } = await import('../lib/native/contract.ts');

const dir = mkdtempSync(join(tmpdir(), 'litepool-reader-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a reader thread that cannot be created', () => {
  it.skipIf(!built)('fails startReaders() with a JS error; abort() joins the threads that started without waiting for the others', async () => {
    const path = join(dir, 'start.db');
    const config = { ...nativeConfig(resolveOptions(path, { readers: 4 })), testFailReaderStart: 2 };
    let opened = 0;
    const native = new (binding().NativePool)(config, (_buffer, _capacity, _objects, length) => {
      // Every completion here is an Open: a record of HEADER_CELLS cells and no others.
      opened += length / HEADER_CELLS;
      setImmediate(() => native.poll());
    });
    native.startWriter();
    await expect.poll(() => opened, { timeout: 10_000 }).toBe(1);
    expect(() => native.startReaders()).toThrow(/^litepool: could not start a worker thread: pthread_create/);
    // The two readers started before the third open their connections.
    await expect.poll(() => opened, { timeout: 10_000 }).toBe(3);
    const started = performance.now();
    native.abort();
    const took = performance.now() - started;
    console.info(`abort took ${took.toFixed(1)} ms`);
    // The writer closes last, once the readers it waits for are gone (for at most 5 s).
    expect(took).toBeLessThan(2000);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });
});
