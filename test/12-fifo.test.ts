// Covers the FIFO the request path queues with (lib/request/fifo.ts): order, removal from the
// middle, compaction of a long-running queue, and an empty queue.

import { describe, expect, it } from 'vitest';
import { Fifo } from '../lib/request/fifo.ts';

describe('Fifo', () => {
  it('hands items back in the order they came', () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 5; i++) fifo.push(i);
    expect(fifo.length).toBe(5);
    expect(fifo.peek()).toBe(0);
    expect([fifo.shift(), fifo.shift(), fifo.shift()]).toEqual([0, 1, 2]);
    fifo.push(5);
    expect([fifo.shift(), fifo.shift(), fifo.shift()]).toEqual([3, 4, 5]);
    expect(fifo.length).toBe(0);
  });

  it('an empty queue shifts and peeks undefined and stays usable', () => {
    const fifo = new Fifo<string>();
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.peek()).toBeUndefined();
    expect(fifo.length).toBe(0);
    fifo.push('a');
    expect(fifo.length).toBe(1);
    expect(fifo.shift()).toBe('a');
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.length).toBe(0);
  });

  it('removes an item from the front, the middle or the end, and nothing else', () => {
    const items = ['a', 'b', 'c', 'd'].map((name) => ({ name }));
    const fifo = new Fifo<{ name: string }>();
    for (const item of items) fifo.push(item);
    expect(fifo.remove(items[1]!)).toBe(true);
    expect(fifo.remove(items[1]!)).toBe(false);
    expect(fifo.remove({ name: 'a' })).toBe(false);
    expect(fifo.remove(items[0]!)).toBe(true);
    expect(fifo.remove(items[3]!)).toBe(true);
    expect(fifo.length).toBe(1);
    expect(fifo.shift()).toBe(items[2]);
  });

  it('an item already shifted cannot be removed again', () => {
    const fifo = new Fifo<object>();
    const first = {};
    fifo.push(first);
    fifo.push({});
    fifo.shift();
    expect(fifo.remove(first)).toBe(false);
    expect(fifo.length).toBe(1);
  });

  it('keeps order across compactions of a queue that never empties (100,000 items, 3 waiting)', () => {
    const fifo = new Fifo<number>();
    let next = 0;
    let expected = 0;
    for (let i = 0; i < 3; i++) fifo.push(next++);
    for (let i = 0; i < 100_000; i++) {
      fifo.push(next++);
      expect(fifo.shift()).toBe(expected++);
      expect(fifo.length).toBe(3);
    }
    while (fifo.length > 0) expect(fifo.shift()).toBe(expected++);
    expect(expected).toBe(next);
  });

  it('drains a long backlog in order while new items keep coming', () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 5000; i++) fifo.push(i);
    const out: number[] = [];
    for (let i = 0; i < 4000; i++) out.push(fifo.shift()!);
    for (let i = 5000; i < 6000; i++) fifo.push(i);
    while (fifo.length > 0) out.push(fifo.shift()!);
    expect(out).toEqual(Array.from({ length: 6000 }, (_, i) => i));
  });
});
