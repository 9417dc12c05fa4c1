// Covers the turn budget of completion batches (lib/request/pacer.ts): batches follow each other
// as microtasks while the turn is young, and wait for the next event-loop turn once the turn has
// taken TURN_BUDGET_MS or TURN_BUDGET_COMPLETIONS. A fake clock and a fake poll stand in for the
// addon, so the test counts and orders, never times.

import { describe, expect, it } from 'vitest';
import { Pacer, TURN_BUDGET_COMPLETIONS, TURN_BUDGET_MS } from '../lib/request/pacer.ts';

const microtasks = () => new Promise<void>((resolve) => queueMicrotask(resolve));
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Pacer', () => {
  it('polls as a microtask after a small batch early in the turn', async () => {
    let polls = 0;
    const pacer = new Pacer(() => polls++, () => 100);
    pacer.afterBatch(10);
    expect(polls).toBe(0);
    await microtasks();
    expect(polls).toBe(1);
  });

  it('one poll per batch however often afterBatch is told before it runs', async () => {
    let polls = 0;
    const pacer = new Pacer(() => polls++, () => 100);
    pacer.afterBatch(1);
    pacer.afterBatch(1);
    pacer.afterBatch(1);
    await nextTurn();
    expect(polls).toBe(1);
  });

  it(`waits for the next turn once a turn has taken ${TURN_BUDGET_COMPLETIONS} completions`, async () => {
    let polls = 0;
    let pacer: Pacer;
    // Every poll delivers another batch of 256 at once, as the addon does when more are waiting.
    pacer = new Pacer(() => {
      polls++;
      pacer.afterBatch(256);
    }, () => 100);
    pacer.afterBatch(256);
    for (let i = 0; i < 10; i++) await microtasks();
    // 256 * 4 = 1024 reaches the budget: polls 1-3 came as microtasks, the 4th waits for setImmediate.
    expect(polls).toBe(3);
    await nextTurn();
    expect(polls).toBeGreaterThanOrEqual(4);
  });

  it(`waits for the next turn once a turn has lasted ${TURN_BUDGET_MS} ms`, async () => {
    let now = 1000;
    let polls = 0;
    let pacer: Pacer;
    pacer = new Pacer(() => {
      polls++;
      now += TURN_BUDGET_MS / 2 + 0.01; // each batch takes a bit more than half the budget
      pacer.afterBatch(1);
    }, () => now);
    pacer.afterBatch(1);
    for (let i = 0; i < 10; i++) await microtasks();
    // Poll 1 at t=0 (+0.26 ms), poll 2 at +0.26 (then +0.52 >= 0.5): the third waits.
    expect(polls).toBe(2);
    await nextTurn();
    expect(polls).toBeGreaterThanOrEqual(3);
  });

  it('a poll that finds nothing ends the turn: the next batch starts a fresh budget', async () => {
    let now = 1000;
    let polls = 0;
    const pacer = new Pacer(() => polls++, () => now);
    pacer.afterBatch(TURN_BUDGET_COMPLETIONS - 1);
    await microtasks();
    expect(polls).toBe(1);
    // The turn ended when that poll delivered nothing: 1023 more completions still fit.
    now += TURN_BUDGET_MS / 4;
    pacer.afterBatch(TURN_BUDGET_COMPLETIONS - 1);
    await microtasks();
    expect(polls).toBe(2);
  });
});
