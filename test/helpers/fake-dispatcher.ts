// A Dispatcher over the fake addon (test/helpers/fake-native.ts), with its writer gate, for the
// tests of the request path that need no native threads.
import { WriterGate } from '../../lib/connections/writer-gate.ts';
import { Dispatcher } from '../../lib/request/dispatcher.ts';
import type { Job } from '../../lib/request/job.ts';
import { FakeNative } from './fake-native.ts';

/** A dispatcher over a fake addon of `slots` slots (`sharedMax`: the dispatcher's own default when left out). */
export function fakeDispatcher(slots = 8, sharedMax?: number): { native: FakeNative; gate: WriterGate<Job>; dispatcher: Dispatcher } {
  const native = new FakeNative(slots);
  let dispatcher: Dispatcher;
  const gate = new WriterGate<Job>((job) => dispatcher.writerTurn(job));
  dispatcher = sharedMax === undefined ? new Dispatcher(native, gate, false, true) : new Dispatcher(native, gate, false, true, sharedMax);
  native.attach(dispatcher.onBatch);
  return { native, gate, dispatcher };
}
