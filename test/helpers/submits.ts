// Records every submit() of the pools a test file opens while recording is on: the addon's
// NativePool is replaced (open() takes it at open time) by a subclass that wraps each pool's own
// submit function (the addon defines it on the object, not on the prototype) to note the call's
// op, flags and chunk rows before passing it on. Call recordSubmits() at the top of a test file.
import { afterAll, beforeAll } from 'vitest';
import { binding } from '../../lib/native/binding.ts';

/** One submit() of the addon. */
export interface Submitted {
  op: number;
  flags: number;
  chunkRows: number;
}

type Submit = (...args: unknown[]) => number;
type Addon = { NativePool: new (...args: never[]) => { submit: Submit } };

/** The submits of pools opened from now until the file's end, oldest first (clear it with `.length = 0`). */
export function recordSubmits(): Submitted[] {
  const submitted: Submitted[] = [];
  const addon = binding() as unknown as Addon;
  const OriginalPool = addon.NativePool;
  beforeAll(() => {
    addon.NativePool = class RecordingPool extends OriginalPool {
      constructor(...args: never[]) {
        super(...args);
        const submit = this.submit;
        this.submit = (...submitArgs: unknown[]): number => {
          submitted.push({ op: submitArgs[1] as number, flags: submitArgs[2] as number, chunkRows: (submitArgs[7] as number | undefined) ?? 0 });
          return submit(...submitArgs);
        };
      }
    };
  });
  afterAll(() => {
    addon.NativePool = OriginalPool;
  });
  return submitted;
}
