// Covers the reader pins (lib/connections/reader-pins.ts) against a fake request runner: one
// reader always stays in the shared ring, pins beyond that wait in order, a released pin goes to
// the next waiter, a failed pin gives its capacity back, and whenFree() waits for the release.

import { describe, expect, it } from 'vitest';
import { ReaderPins } from '../lib/connections/reader-pins.ts';
import { AcquireTimeoutError } from '../lib/errors.ts';
import { Op } from '../lib/native/contract.ts';
import type { Request, RequestRunner } from '../lib/request/requests.ts';

/** Pins readers 0, 1, 2... in turn; records every request; can be told to fail the next pin. */
class FakeRunner implements RequestRunner {
  readonly requests: Request[] = [];
  #next = 0;
  failNextPin: Error | undefined;
  run(request: Request): Promise<any> {
    this.requests.push(request);
    if (request.op === Op.Pin) {
      const failure = this.failNextPin;
      this.failNextPin = undefined;
      return failure ? Promise.reject(failure) : Promise.resolve(this.#next++);
    }
    return Promise.resolve(undefined);
  }
}

const state = async (promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> => {
  let result: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (result = 'resolved'),
    () => (result = 'rejected'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return result;
};

describe('ReaderPins', () => {
  it('leases may pin all readers but one (one reader: that one; none: none)', () => {
    const runner = new FakeRunner();
    expect(new ReaderPins(runner, 4).max).toBe(3);
    expect(new ReaderPins(runner, 2).max).toBe(1);
    expect(new ReaderPins(runner, 1).max).toBe(1);
    expect(new ReaderPins(runner, 0).max).toBe(0);
  });

  it('pins beyond the limit wait, and get the released capacity in order', async () => {
    const runner = new FakeRunner();
    const pins = new ReaderPins(runner, 3);
    const a = await pins.acquire(undefined, undefined);
    const b = await pins.acquire(undefined, undefined);
    expect([a, b]).toEqual([0, 1]);
    expect(pins.isLeased(a) && pins.isLeased(b)).toBe(true);
    const third = pins.acquire(undefined, undefined);
    const fourth = pins.acquire(undefined, undefined);
    expect(await state(third)).toBe('pending');
    expect(pins.waiting).toBe(2);
    await pins.release(a);
    expect(pins.isLeased(a)).toBe(false);
    expect(await state(third)).toBe('resolved');
    expect(await state(fourth)).toBe('pending');
    await pins.release(b);
    expect(await state(fourth)).toBe('resolved');
    expect(pins.waiting).toBe(0);
    // Every release sent an Unpin to the reader it let go.
    const unpins = runner.requests.filter((r) => r.op === Op.Unpin).map((r) => r.route.reader);
    expect(unpins).toEqual([a, b]);
  });

  it('a waiter that times out leaves the line; the capacity goes to the next one', async () => {
    const runner = new FakeRunner();
    const pins = new ReaderPins(runner, 2);
    const held = await pins.acquire(undefined, undefined);
    const impatient = pins.acquire(5, undefined);
    const patient = pins.acquire(undefined, undefined);
    await expect(impatient).rejects.toBeInstanceOf(AcquireTimeoutError);
    expect(pins.waiting).toBe(1);
    await pins.release(held);
    expect(await state(patient)).toBe('resolved');
  });

  it('a pin that fails gives its capacity back', async () => {
    const runner = new FakeRunner();
    const pins = new ReaderPins(runner, 2);
    const boom = new Error('pin failed');
    runner.failNextPin = boom;
    await expect(pins.acquire(undefined, undefined)).rejects.toBe(boom);
    // The one pin allowed is free again.
    expect(await state(pins.acquire(undefined, undefined))).toBe('resolved');
  });

  it('whenFree() resolves at once for a free reader, and on release for a leased one', async () => {
    const pins = new ReaderPins(new FakeRunner(), 3);
    expect(await state(pins.whenFree(2))).toBe('resolved');
    const reader = await pins.acquire(undefined, undefined);
    const free = pins.whenFree(reader);
    expect(await state(free)).toBe('pending');
    await pins.release(reader);
    expect(await state(free)).toBe('resolved');
  });
});
