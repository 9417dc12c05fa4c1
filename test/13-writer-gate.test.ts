// Covers the writer gate (lib/connections/writer-gate.ts) on its own: one session at a time,
// writes and sessions that wait get the writer in the order they asked, a waiter that times out
// or is aborted leaves the line, releasing twice changes nothing, and places (hold()/leave()):
// at the front its writes pass and everything else waits, in line its writes wait in it, and one
// given up goes (after passing the writes parked in it).

import { describe, expect, it } from 'vitest';
import { WriterGate } from '../lib/connections/writer-gate.ts';
import { AcquireTimeoutError } from '../lib/errors.ts';

interface Write {
  id: string;
}

function gate(): { gate: WriterGate<Write>; passed: string[] } {
  const passed: string[] = [];
  return { gate: new WriterGate<Write>((write) => passed.push(write.id)), passed };
}

const settled = async <T>(promise: Promise<T>): Promise<'pending' | 'resolved' | 'rejected'> => {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
};

describe('WriterGate', () => {
  it('a free gate grants a session at once; writes wait while it is held', async () => {
    const { gate: g } = gate();
    expect(g.closedFor(undefined)).toBe(false);
    const session = await g.acquire(undefined, undefined);
    expect(g.held).toBe(true);
    expect(g.closedFor(undefined)).toBe(true);
    g.release(session);
    expect(g.held).toBe(false);
    expect(g.closedFor(undefined)).toBe(false);
  });

  it('writes and sessions get the writer in the order they asked', async () => {
    const { gate: g, passed } = gate();
    const first = await g.acquire(undefined, undefined);
    g.park({ id: 'w1' });
    g.park({ id: 'w2' });
    const second = g.acquire(undefined, undefined);
    g.park({ id: 'w3' });
    expect(g.waiting).toBe(4);
    expect(g.sessionsWaiting).toBe(1);
    g.release(first);
    // w1 and w2 pass, then the second session holds the writer: w3 waits behind it.
    expect(passed).toEqual(['w1', 'w2']);
    const granted = await second;
    expect(g.held).toBe(true);
    expect(g.waiting).toBe(1);
    expect(g.sessionsWaiting).toBe(0);
    g.release(granted);
    expect(passed).toEqual(['w1', 'w2', 'w3']);
    expect(g.closedFor(undefined)).toBe(false);
  });

  it('while writes wait, a new session queues behind them even with the writer free', async () => {
    const { gate: g, passed } = gate();
    const held = await g.acquire(undefined, undefined);
    g.park({ id: 'w1' });
    const next = g.acquire(undefined, undefined);
    expect(await settled(next)).toBe('pending');
    g.release(held);
    expect(passed).toEqual(['w1']);
    expect(await settled(next)).toBe('resolved');
  });

  it('a session that times out leaves the line and the next one gets the writer', async () => {
    const { gate: g, passed } = gate();
    const held = await g.acquire(undefined, undefined);
    const timedOut = g.acquire(5, undefined);
    const patient = g.acquire(undefined, undefined);
    g.park({ id: 'w1' });
    await expect(timedOut).rejects.toBeInstanceOf(AcquireTimeoutError);
    expect(g.sessionsWaiting).toBe(1);
    expect(g.waiting).toBe(2);
    g.release(held);
    const granted = await patient;
    expect(passed).toEqual([]);
    g.release(granted);
    expect(passed).toEqual(['w1']);
  });

  it('an aborted session rejects with the signal reason and leaves the line', async () => {
    const { gate: g } = gate();
    const held = await g.acquire(undefined, undefined);
    const controller = new AbortController();
    const aborted = g.acquire(undefined, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(g.waiting).toBe(0);
    g.release(held);
    expect(g.held).toBe(false);
  });

  it('an already aborted signal never joins the line', async () => {
    const { gate: g } = gate();
    const held = await g.acquire(undefined, undefined);
    const reason = new Error('already');
    await expect(g.acquire(undefined, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(g.waiting).toBe(0);
    g.release(held);
  });

  it('releasing a session twice, or a stale one, changes nothing', async () => {
    const { gate: g, passed } = gate();
    const first = await g.acquire(undefined, undefined);
    g.release(first);
    const second = await g.acquire(undefined, undefined);
    g.park({ id: 'w1' });
    g.release(first);
    expect(g.held).toBe(true);
    expect(passed).toEqual([]);
    g.release(second);
    g.release(second);
    expect(passed).toEqual(['w1']);
  });

  it('a cancelled write is taken out of line and never passes', async () => {
    const { gate: g, passed } = gate();
    const held = await g.acquire(undefined, undefined);
    const cancelled = { id: 'cancelled' };
    g.park({ id: 'w1' });
    g.park(cancelled);
    g.park({ id: 'w2' });
    expect(g.unpark(cancelled)).toBe(true);
    expect(g.unpark(cancelled)).toBe(false);
    g.release(held);
    expect(passed).toEqual(['w1', 'w2']);
  });
  it('a place taken on a free gate is at the front at once: its writes pass, the rest waits until it is given up', async () => {
    const { gate: g, passed } = gate();
    const place = g.hold();
    expect(place.state).toBe('front');
    expect(g.closedFor(place)).toBe(false);
    expect(g.closedFor(undefined)).toBe(true);
    g.park({ id: 'other' });
    const session = g.acquire(undefined, undefined);
    expect(await settled(session)).toBe('pending');
    g.leave(place);
    expect(place.state).toBe('gone');
    expect(passed).toEqual(['other']);
    g.release(await session);
    expect(g.free).toBe(true);
  });

  it('a place in line keeps its turn: writes made with it wait in it and pass in order when it reaches the front', async () => {
    const { gate: g, passed } = gate();
    const held = await g.acquire(undefined, undefined);
    g.park({ id: 'w1' });
    const fronts: string[] = [];
    const followers: string[] = [];
    const place = g.hold(() => fronts.push('front'), () => followers.push('followed'));
    expect(place.state).toBe('waiting');
    expect(followers).toEqual([]);
    const session = g.acquire(undefined, undefined);
    g.park({ id: 'w2' });
    // Told once, when the first thing got in line behind it.
    expect(followers).toEqual(['followed']);
    expect(g.closedFor(place)).toBe(true);
    g.park({ id: 'p1' }, place);
    g.park({ id: 'p2' }, place);
    expect(g.waiting).toBe(5);
    g.release(held);
    // w1, then the place's writes; the place stays at the front (held) and the session waits.
    expect(passed).toEqual(['w1', 'p1', 'p2']);
    expect(fronts).toEqual(['front']);
    expect(g.closedFor(place)).toBe(false);
    expect(await settled(session)).toBe('pending');
    g.leave(place);
    const granted = await session;
    expect(passed).toEqual(['w1', 'p1', 'p2']);
    g.release(granted);
    expect(passed).toEqual(['w1', 'p1', 'p2', 'w2']);
  });

  it('a place given up before its turn leaves the line, or passes the writes parked in it when its turn comes', async () => {
    const { gate: g, passed } = gate();
    const held = await g.acquire(undefined, undefined);
    const empty = g.hold();
    const withWrites = g.hold();
    withWrites.retain();
    g.park({ id: 'p1' }, withWrites);
    g.park({ id: 'w1' });
    g.leave(empty);
    expect(empty.state).toBe('gone');
    g.leave(withWrites);
    expect(withWrites.state).toBe('waiting'); // one holder left
    g.leave(withWrites);
    expect(g.unpark({ id: 'nothing' }, withWrites)).toBe(false);
    g.release(held);
    expect(passed).toEqual(['p1', 'w1']);
    expect(withWrites.state).toBe('gone');
    expect(g.free).toBe(true);
    // Gone: its writes are plain writes now.
    expect(g.closedFor(withWrites)).toBe(false);
  });
});
