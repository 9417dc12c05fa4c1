// Owns the worker threads' side of one pool's engine: the writer's and the readers' loops,
// waiting for work (poll, then park), running one request or a group commit, and publishing what
// finished to the completion ring. Every function here runs on a worker thread, never on the JS
// thread; each says which. The JS thread's side is engine.cc; see engine.h and native/README.md.
#include <chrono>
#include <thread>
#include <string>

#if defined(__linux__)
#include <pthread.h>
#endif

#include "engine.h"

namespace litepool {

namespace {

// Worker threads: names the calling thread so profilers and debuggers show which worker is which.
void nameThisThread(const std::string& name) {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
#else
  (void)name;
#endif
}

}  // namespace

// Worker threads: publishes a finished request and wakes the JS thread when the ring was idle.
void Engine::complete(std::uint32_t slot) noexcept {
  // Cannot fail: the only consumer is the JS thread, so while it holds an entry mid-pop nobody
  // else pops, and the slots still in flight (fewer than the ring's capacity) are all the
  // entries the workers can push past it.
  completions_.tryPush(slot);
  if (!notifyPending_.exchange(true, std::memory_order_acq_rel)) listener_->onCompletionsReady();
}

// Worker threads: spins briefly, then parks until work arrives. False when aborting.
template <typename TryPop, typename HasWork>
bool Engine::waitForWork(Worker& worker, TryPop tryPop, HasWork hasWork, std::uint32_t& slot,
                         std::atomic<int>* spinners) {
  // At most one poller per shared ring: more would only take cores from the threads doing work.
  // Every worker registers in `spinners` while it decides, so that submit() never counts on a
  // worker that has already looked at the ring for the last time.
  bool polling = config_.spinMicros > 0;
  if (spinners != nullptr && spinners->fetch_add(1, std::memory_order_seq_cst) != 0) polling = false;
  bool found = false;
  if (polling) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(config_.spinMicros);
    for (std::uint32_t spin = 1;; ++spin) {
      found = tryPop(slot);
      if (found || ((spin & 31) == 0 && std::chrono::steady_clock::now() >= until)) break;
      cpuRelax();
    }
  }
  if (found && config_.testPauseAfterTakeMicros > 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(config_.testPauseAfterTakeMicros));
  }
  if (spinners != nullptr) spinners->fetch_sub(1, std::memory_order_seq_cst);
  if (found) {
    if (spinners != nullptr) handOff();
    return true;
  }
  // Pairs with the fence in submit(): either submit() sees this worker no longer registered (and
  // wakes a parked reader), or the check below sees its request.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (;;) {
    if (abort_.load(std::memory_order_acquire)) return false;
    if (tryPop(slot)) {
      if (spinners != nullptr) handOff();
      return true;
    }
    worker.parker.park([&] { return hasWork() || abort_.load(std::memory_order_acquire); });
    // Parked means the core was given up: the worker starts a fresh time slice.
    worker.timeslice.restart();
  }
}

// Writer thread, before it publishes a result: what the WAL index says now (stats() reads it, so
// a write's effect on the WAL is there once its promise resolves).
void Engine::noteWal(Worker& writer) noexcept {
  WalIndex wal;
  if (!writer.connection.walIndex(wal)) return;
  walFrames_.store(wal.frames, std::memory_order_relaxed);
  walBackfilled_.store(wal.backfilled, std::memory_order_relaxed);
  walPageSize_.store(wal.pageSize, std::memory_order_relaxed);
}

// Worker threads: records when the worker last finished work, then yields its core if its time
// slice is over (after the results were published, so nobody waits on them meanwhile).
void Engine::finishedWork(Worker& worker) noexcept {
  const auto now = Timeslice::Clock::now();
  worker.lastUsedMs.store(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count(),
                          std::memory_order_relaxed);
  worker.timeslice.check(now);
}

namespace {

// Worker threads: microseconds from `from` to `to` on the steady clock.
double micros(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::micro>(to - from).count();
}

}  // namespace

// Worker threads: runs one request. False when the worker must stop.
bool Engine::runOne(Worker& worker, std::uint32_t slot) {
  Request& request = this->request(slot);
  const auto started = std::chrono::steady_clock::now();
  worker.busy.store(true, std::memory_order_relaxed);
  bool keepGoing = true;
  if (request.op == Op::Close) {
    worker.connection.close(&request);
    keepGoing = false;
  } else if (request.op == Op::Reopen) {
    const bool reader = worker.connection.role() == Role::Reader;
    if (reader && worker.pinned.load(std::memory_order_relaxed) && !worker.pinnedForReopen) {
      // A lease's Pin or an iteration (holdForIteration) took this reader from the shared ring
      // after lib/ sent the Reopen: the connection and its open statement or transaction are
      // theirs. Nothing is replaced (changes 0); lib/ tries again once they let the reader go.
      request.status = Status::Done;
      request.changes = 0;
    } else {
      // Runs even when cancelled: a replacement must finish. A reader stays pinned afterwards, so
      // that the connection hook runs before it serves the shared ring again (the keeper's Unpin).
      if (reader) {
        worker.pinned.store(true, std::memory_order_seq_cst);
        worker.pinnedForReopen = true;
      }
      worker.connection.close(nullptr);
      worker.connection.open(request);
      if (request.status == Status::Done) request.changes = 1;
    }
  } else if (request.op == Op::Pin) {
    worker.pinned.store(true, std::memory_order_seq_cst);
    request.status = Status::Done;
    request.changes = worker.index;
  } else if (request.op == Op::Unpin || request.op == Op::Reset) {
    // Runs even when cancelled: a lease must always give its connection back clean.
    request.changes = worker.connection.rollBackOpenTransaction() ? 1 : 0;
    request.status = Status::Done;
    if (request.op == Op::Unpin) {
      worker.pinnedForReopen = false;
      worker.pinned.store(false, std::memory_order_seq_cst);
    }
  } else if (request.op == Op::IterateEnd) {
    worker.connection.iterate(request);
    holdForIteration(worker, request);
  } else if (request.op == Op::BackupEnd) {
    // Runs even when cancelled: an abandoned backup must release its file.
    worker.connection.backup(request);
  } else if (request.cancelled.load(std::memory_order_relaxed) || abort_.load(std::memory_order_relaxed)) {
    request.status = Status::Cancelled;
  } else if (!worker.connection.isOpen()) {
    // Its reopen failed (lib/ holds it out of service and retries): nothing may reach SQLite
    // through a closed handle.
    request.status = Status::SqliteFailed;
    request.errcode = SQLITE_CANTOPEN;
    request.message = "the connection is closed: replacing it failed, and it is retried";
  } else if (request.op == Op::IterateStart || request.op == Op::IterateNext) {
    worker.connection.iterate(request);
    holdForIteration(worker, request);
  } else if (request.op == Op::Batch) {
    worker.connection.executeBatch(request);
  } else if (request.op == Op::InsertRows) {
    worker.connection.insertRows(request);
  } else if (request.op == Op::Checkpoint) {
    worker.connection.checkpoint(request);
  } else if (request.op == Op::BackupStart || request.op == Op::BackupStep) {
    worker.connection.backup(request);
  } else {
    worker.connection.execute(request);
  }
  request.worker = worker.index;
  const auto finished = std::chrono::steady_clock::now();
  request.queuedMicros = micros(request.submittedAt, started);
  request.execMicros = micros(started, finished);
  worker.transactionSinceMs.store(worker.connection.noteTransactionState(), std::memory_order_relaxed);
  worker.busy.store(false, std::memory_order_relaxed);
  worker.completed.fetch_add(1, std::memory_order_relaxed);
  if (worker.index == WRITER_WORKER) noteWal(worker);
  complete(slot);
  finishedWork(worker);
  return keepGoing;
}

// Worker threads (a no-op on the writer). An iteration started from the shared ring with
// RequestFlag::HoldReader keeps its reader while rows remain: the reader pins itself as a Pin
// would (it leaves the shared ring; its own ring brings the iteration's next chunks) and serves
// the shared ring again once the iteration ends, by its last chunk (Status::Rows) or by
// IterateEnd. A chunk that failed or was cancelled leaves it pinned: lib/ then sends IterateEnd
// to this reader's own ring. So an iteration that fits its first chunk costs one round trip and
// never pins anything. With RequestFlag::FirstChunkOnly instead (lib/ had no reader to spare),
// rows remaining end the statement after the first chunk and the reader stays in the shared ring.
void Engine::holdForIteration(Worker& worker, const Request& request) noexcept {
  if (worker.index == WRITER_WORKER) return;
  if (request.op == Op::IterateStart && (request.flags & RequestFlag::FirstChunkOnly)) {
    if (request.status == Status::RowsMore) worker.connection.endIteration();
    return;
  }
  if (request.op == Op::IterateStart && (request.flags & RequestFlag::HoldReader)) {
    if (request.status != Status::RowsMore) return;
    if (!reachesJs(request)) {
      // The completion will fail (IntegerOverflow, SQLITE_TOOBIG), and lib/ will not know a
      // reader to end the iteration on: it ends here, and the reader stays in the shared ring.
      worker.connection.endIteration();
      return;
    }
    worker.heldByIteration = true;
    worker.pinned.store(true, std::memory_order_seq_cst);
    return;
  }
  if (worker.heldByIteration && (request.op == Op::IterateEnd || request.status == Status::Rows)) {
    worker.heldByIteration = false;
    // seq_cst, like Unpin: pairs with the fence in submit() (see Engine::submit).
    worker.pinned.store(false, std::memory_order_seq_cst);
  }
}

// Writer thread: the one read-write connection; runs writer-ring requests in FIFO order.
void Engine::writerMain(std::uint32_t openSlot) {
  nameThisThread("litepool-writer");
  Worker& self = *writer_;
  self.timeslice.restart();  // its CPU clock is this thread's from here on
  Request& open = request(openSlot);
  self.connection.open(open);
  self.lastUsedMs.store(steadyMillis(), std::memory_order_relaxed);
  const bool opened = open.status == Status::Done;
  complete(openSlot);
  if (!opened) return;
  const auto tryPop = [this](std::uint32_t& slot) { return writerRing_.tryPop(slot); };
  const auto hasWork = [this] { return !writerRing_.emptyApprox(); };
  std::uint32_t slot;
  while (waitForWork(self, tryPop, hasWork, slot, nullptr)) {
    Request& request = this->request(slot);
    if (config_.groupMaxBatch > 1 && request.op == Op::Run && !abort_.load(std::memory_order_relaxed) &&
        self.connection.canGroup(request)) {
      runGroupFrom(self, slot);
      continue;
    }
    if (!runOne(self, slot)) return;
  }
  waitForReadersGone();
  self.connection.close(nullptr);
}

// Writer thread, stopped by abort() (the environment's cleanup, a process exit): the readers were
// told to stop too and close their connections; the writer closes its own after theirs (see
// readersRunning_). Bounded: a reader that takes longer does not keep the writer open.
void Engine::waitForReadersGone() noexcept {
  constexpr int kMaxWaitMs = 5000;
  for (int waited = 0; readersRunning_.load(std::memory_order_acquire) > 0 && waited < kMaxWaitMs; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Writer thread.
void Engine::runGroupFrom(Worker& writer, std::uint32_t first) {
  groupSlots_.assign(1, first);
  group_.assign(1, &request(first));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(config_.groupMaxDelayMicros);
  // Once two writes are in, more are likely on their way (the JS thread submits in bursts, one
  // write every few microseconds): the group keeps collecting while they keep coming, and closes
  // once none has arrived for kBurstGap. A lone write never waits.
  constexpr auto kBurstGap = std::chrono::microseconds(5);
  auto lastArrival = std::chrono::steady_clock::now();
  while (group_.size() < config_.groupMaxBatch) {
    std::uint32_t next;
    if (writerRing_.peek(next)) {
      if (!writer.connection.canGroup(request(next))) break;
      writerRing_.tryPop(next);
      groupSlots_.push_back(next);
      group_.push_back(&request(next));
      if (config_.groupMaxDelayMicros == 0) lastArrival = std::chrono::steady_clock::now();
      continue;
    }
    if (config_.groupMaxDelayMicros == 0) {
      if (group_.size() < 2 || abort_.load(std::memory_order_relaxed) || std::chrono::steady_clock::now() - lastArrival >= kBurstGap) break;
    } else if (std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    cpuRelax();
  }
  if (group_.size() == 1) {
    runOne(writer, first);
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  writer.busy.store(true, std::memory_order_relaxed);
  const bool committed = writer.connection.executeGroup(group_.data(), group_.size());
  writer.busy.store(false, std::memory_order_relaxed);
  const auto finished = std::chrono::steady_clock::now();
  // Only the members the COMMIT made durable were committed together: not one that failed (its
  // savepoint rolled back) or was cancelled, and none of a group that did not commit (its members
  // failed, or each ran and committed alone after the group rolled back). stats() counts a group,
  // and its committed members report its number (a write queue counts its commits by them) and
  // size, only when two or more committed: one committed write is no group commit. Every other
  // member reports group 0, size 0 (a committed one then counts as a commit of its own).
  const auto committedMember = [committed](const Request& member) {
    return committed && (member.status == Status::Done || member.status == Status::Rows);  // Rows: RETURNING
  };
  std::uint32_t committedInGroup = 0;
  for (const Request* member : group_) committedInGroup += committedMember(*member) ? 1 : 0;
  const bool together = committedInGroup >= 2;
  const std::uint64_t groupNumber = together ? ++lastGroupNumber_ : 0;
  if (together) {
    groupCommits_.fetch_add(1, std::memory_order_relaxed);
    groupedWrites_.fetch_add(committedInGroup, std::memory_order_relaxed);
  }
  for (Request* member : group_) {
    const bool inGroup = together && committedMember(*member);
    member->group = inGroup ? groupNumber : 0;
    member->groupSize = inGroup ? committedInGroup : 0;
    member->queuedMicros = micros(member->submittedAt, started);
    member->execMicros = micros(started, finished);
  }
  writer.completed.fetch_add(group_.size(), std::memory_order_relaxed);
  noteWal(writer);
  // Every promise of the group resolves only now, after COMMIT returned.
  for (std::uint32_t done : groupSlots_) complete(done);
  finishedWork(writer);
}

// Reader threads: one read-only connection each; they share the reader ring.
void Engine::readerMain(Worker* self, std::uint32_t openSlot) {
  nameThisThread("litepool-reader");
  // However this thread ends, its connection is closed by then (see readersRunning_).
  struct Gone {
    std::atomic<int>& running;
    ~Gone() { running.fetch_sub(1, std::memory_order_release); }
  } gone{readersRunning_};
  self->timeslice.restart();  // its CPU clock is this thread's from here on
  Request& open = request(openSlot);
  self->connection.open(open);
  self->lastUsedMs.store(steadyMillis(), std::memory_order_relaxed);
  const bool opened = open.status == Status::Done;
  complete(openSlot);
  if (!opened) return;
  // A pinned reader serves only its own ring; an unpinned one serves the shared ring (and its own
  // ring, which is empty then, since only a lease pushes there).
  SpscRing<std::uint32_t>& own = *self->pinnedRing;
  const auto tryPop = [this, self, &own](std::uint32_t& slot) {
    if (own.tryPop(slot)) return true;
    return !self->pinned.load(std::memory_order_relaxed) && readerRing_.tryPop(slot);
  };
  const auto hasWork = [this, self, &own] {
    return !own.emptyApprox() || (!self->pinned.load(std::memory_order_relaxed) && !readerRing_.emptyApprox());
  };
  std::uint32_t slot;
  // A pinned reader polls its own ring only: it does not count as a poller of the shared one.
  const auto spinners = [this, self] {
    return self->pinned.load(std::memory_order_relaxed) ? nullptr : &spinningReaders_;
  };
  while (waitForWork(*self, tryPop, hasWork, slot, spinners())) {
    if (!runOne(*self, slot)) return;
  }
  self->connection.close(nullptr);
}

}  // namespace litepool
