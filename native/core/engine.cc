// Owns the native side of one pool: see engine.h.
#include "engine.h"

#include <chrono>
#include <string>

#if defined(__linux__)
#include <pthread.h>
#endif

#include "sqlite_init.h"

namespace litepool {

namespace {

// Any thread.
std::int64_t steadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Any thread: names the calling thread so profilers and debuggers show which worker is which.
void nameThisThread(const std::string& name) {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
#else
  (void)name;
#endif
}

}  // namespace

Engine::Engine(EngineConfig config, CompletionListener* listener)
    : config_(std::move(config)),
      listener_(listener),
      slots_(new Request[config_.slots]),
      readerRing_(config_.slots),
      writerRing_(config_.slots),
      completions_(config_.slots) {
  ensureSqliteInitialized();
  freeSlots_.reserve(config_.slots);
  for (std::uint32_t i = config_.slots; i > 0; --i) freeSlots_.push_back(i - 1);
}

Engine::~Engine() { abort(); }

// JS thread.
std::uint32_t Engine::acquireSlot() {
  if (freeSlots_.empty()) return UINT32_MAX;
  const std::uint32_t slot = freeSlots_.back();
  freeSlots_.pop_back();
  return slot;
}

// JS thread.
void Engine::releaseSlot(std::uint32_t slot) {
  slots_[slot].resetForReuse();
  freeSlots_.push_back(slot);
}

// JS thread.
std::uint32_t Engine::startWriter() {
  const std::uint32_t slot = acquireSlot();
  slots_[slot].op = Op::Open;
  writer_ = std::make_unique<Worker>(Role::Writer, config_, &abort_);
  writer_->thread = std::thread([this, slot] { writerMain(slot); });
  return slot;
}

// JS thread.
std::vector<std::uint32_t> Engine::startReaders() {
  std::vector<std::uint32_t> openSlots;
  // Every reader exists before the first one starts: readers read `readers_` (handOff), so it
  // must not change once a reader thread runs.
  for (int i = 0; i < config_.readers; ++i) {
    const std::uint32_t slot = acquireSlot();
    slots_[slot].op = Op::Open;
    openSlots.push_back(slot);
    readers_.push_back(std::make_unique<Worker>(Role::Reader, config_, &abort_));
    Worker* worker = readers_.back().get();
    worker->index = i;
    worker->pinnedRing = std::make_unique<SpscRing<std::uint32_t>>(config_.slots);
  }
  for (std::size_t i = 0; i < readers_.size(); ++i) {
    Worker* worker = readers_[i].get();
    const std::uint32_t slot = openSlots[i];
    worker->thread = std::thread([this, worker, slot] { readerMain(worker, slot); });
  }
  return openSlots;
}

// JS thread.
void Engine::submit(std::uint32_t slot, Target target, int reader) {
  if (target == Target::PinnedReader) {
    // lib/ only pins readers it was given by a Pin request, so the index is always valid.
    Worker& pinned = *readers_.at(static_cast<std::size_t>(reader));
    pinned.pinnedRing->tryPush(slot);
    pinned.parker.unpark();
    return;
  }
  if (target != Target::Readers || readers_.empty()) {
    writerRing_.tryPush(slot);
    if (writer_) writer_->parker.unpark();
    return;
  }
  readerRing_.tryPush(slot);
  // One parked, unpinned reader is enough for one request; a running one finds it by itself.
  // The fence pairs with the reader's seq_cst store of `pinned = false` followed by its fence
  // before it parks: either this thread sees the reader unpinned (and wakes it), or the reader
  // sees this request before it parks. It pairs likewise with the fence in waitForWork: a
  // registered poller takes this request, or a wake-up follows.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (spinningReaders_.load(std::memory_order_seq_cst) >= static_cast<int>(readerRing_.sizeApprox())) return;
  wakeReader();
}

// JS thread and reader threads: wakes one parked, unpinned reader, if there is one.
void Engine::wakeReader() noexcept {
  for (auto& candidate : readers_) {
    if (candidate->pinned.load(std::memory_order_seq_cst)) continue;
    if (candidate->parker.unpark()) return;
  }
}

// Reader threads: called by a reader that leaves the pollers (spinningReaders_) with a request
// in hand. submit() may have counted it as a poller for a request pushed after it took its own,
// and woken nobody: if such a request waits, another reader must take it. Without this, that
// request waited for this reader to finish its own, with the other readers parked; and for ever
// when its own was a Pin (the reader then serves only its lease's ring), so that a lease holder
// waiting on a plain read deadlocked the pool. The fence pairs with the one in submit(): either
// submit() saw this reader gone from the pollers (and woke one), or the check below sees its
// request.
void Engine::handOff() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!readerRing_.emptyApprox()) wakeReader();
}

// JS thread.
void Engine::cancel(std::uint32_t slot) noexcept { slots_[slot].cancelled.store(true, std::memory_order_relaxed); }

// Worker threads: publishes a finished request and wakes the JS thread when the ring was idle.
void Engine::complete(std::uint32_t slot) noexcept {
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

// Worker threads: records when the worker last finished work, then yields its core if its time
// slice is over (after the results were published, so nobody waits on them meanwhile).
void Engine::finishedWork(Worker& worker) noexcept {
  const auto now = Timeslice::Clock::now();
  worker.lastUsedMs.store(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count(),
                          std::memory_order_relaxed);
  worker.timeslice.check(now);
}

// Worker threads: runs one request. False when the worker must stop.
bool Engine::runOne(Worker& worker, std::uint32_t slot) {
  Request& request = slots_[slot];
  worker.busy.store(true, std::memory_order_relaxed);
  bool keepGoing = true;
  if (request.op == Op::Close) {
    worker.connection.close(&request);
    keepGoing = false;
  } else if (request.op == Op::Reopen) {
    // Runs even when cancelled: a replacement must finish. A reader stays pinned afterwards, so
    // that the connection hook runs before it serves the shared ring again.
    if (worker.connection.role() == Role::Reader) worker.pinned.store(true, std::memory_order_seq_cst);
    worker.connection.close(nullptr);
    worker.connection.open(request);
  } else if (request.op == Op::Pin) {
    worker.pinned.store(true, std::memory_order_seq_cst);
    request.status = Status::Done;
    request.changes = worker.index;
  } else if (request.op == Op::Unpin || request.op == Op::Reset) {
    // Runs even when cancelled: a lease must always give its connection back clean.
    request.changes = worker.connection.rollBackOpenTransaction() ? 1 : 0;
    request.status = Status::Done;
    if (request.op == Op::Unpin) worker.pinned.store(false, std::memory_order_seq_cst);
  } else if (request.op == Op::IterateEnd) {
    worker.connection.iterate(request);
  } else if (request.cancelled.load(std::memory_order_relaxed) || abort_.load(std::memory_order_relaxed)) {
    request.status = Status::Cancelled;
  } else if (request.op == Op::IterateStart || request.op == Op::IterateNext) {
    worker.connection.iterate(request);
  } else if (request.op == Op::Batch) {
    worker.connection.executeBatch(request);
  } else {
    worker.connection.execute(request);
  }
  request.worker = worker.index;
  worker.busy.store(false, std::memory_order_relaxed);
  worker.completed.fetch_add(1, std::memory_order_relaxed);
  complete(slot);
  finishedWork(worker);
  return keepGoing;
}

// Writer thread: the one read-write connection; runs writer-ring requests in FIFO order.
void Engine::writerMain(std::uint32_t openSlot) {
  nameThisThread("litepool-writer");
  Worker& self = *writer_;
  Request& open = slots_[openSlot];
  self.connection.open(open);
  self.lastUsedMs.store(steadyMillis(), std::memory_order_relaxed);
  const bool opened = open.status == Status::Done;
  complete(openSlot);
  if (!opened) return;
  const auto tryPop = [this](std::uint32_t& slot) { return writerRing_.tryPop(slot); };
  const auto hasWork = [this] { return !writerRing_.emptyApprox(); };
  std::uint32_t slot;
  while (waitForWork(self, tryPop, hasWork, slot, nullptr)) {
    Request& request = slots_[slot];
    if (config_.groupMaxBatch > 1 && request.op == Op::Run && !abort_.load(std::memory_order_relaxed) &&
        self.connection.canGroup(request)) {
      runGroupFrom(self, slot);
      continue;
    }
    if (!runOne(self, slot)) return;
  }
  self.connection.close(nullptr);
}

// Writer thread.
void Engine::runGroupFrom(Worker& writer, std::uint32_t first) {
  groupSlots_.assign(1, first);
  group_.assign(1, &slots_[first]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(config_.groupMaxDelayMicros);
  while (group_.size() < config_.groupMaxBatch) {
    std::uint32_t next;
    if (writerRing_.peek(next)) {
      if (!writer.connection.canGroup(slots_[next])) break;
      writerRing_.tryPop(next);
      groupSlots_.push_back(next);
      group_.push_back(&slots_[next]);
      continue;
    }
    if (config_.groupMaxDelayMicros == 0 || std::chrono::steady_clock::now() >= deadline) break;
    cpuRelax();
  }
  if (group_.size() == 1) {
    runOne(writer, first);
    return;
  }
  writer.busy.store(true, std::memory_order_relaxed);
  writer.connection.executeGroup(group_.data(), group_.size());
  writer.busy.store(false, std::memory_order_relaxed);
  const std::uint64_t groupNumber = groupCommits_.fetch_add(1, std::memory_order_relaxed) + 1;
  for (Request* member : group_) member->group = groupNumber;
  groupedWrites_.fetch_add(group_.size(), std::memory_order_relaxed);
  writer.completed.fetch_add(group_.size(), std::memory_order_relaxed);
  // Every promise of the group resolves only now, after COMMIT returned.
  for (std::uint32_t done : groupSlots_) complete(done);
  finishedWork(writer);
}

// Reader threads: one read-only connection each; they share the reader ring.
void Engine::readerMain(Worker* self, std::uint32_t openSlot) {
  nameThisThread("litepool-reader");
  Request& open = slots_[openSlot];
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

// JS thread.
void Engine::abort() {
  if (joined_) return;
  abort_.store(true, std::memory_order_release);
  for (std::uint32_t i = 0; i < config_.slots; ++i) slots_[i].cancelled.store(true, std::memory_order_relaxed);
  if (writer_) writer_->parker.wake();
  for (auto& reader : readers_) reader->parker.wake();
  join();
}

// JS thread.
void Engine::join() {
  if (joined_) return;
  if (writer_ && writer_->thread.joinable()) writer_->thread.join();
  for (auto& reader : readers_) {
    if (reader->thread.joinable()) reader->thread.join();
  }
  joined_ = true;
}

// JS thread.
std::vector<double> Engine::idleMillis() const {
  const std::int64_t now = steadyMillis();
  std::vector<double> idle;
  for (const auto& reader : readers_) idle.push_back(static_cast<double>(now - reader->lastUsedMs.load(std::memory_order_relaxed)));
  if (writer_) idle.push_back(static_cast<double>(now - writer_->lastUsedMs.load(std::memory_order_relaxed)));
  return idle;
}

// JS thread.
int Engine::pinnedReaders() const noexcept {
  int count = 0;
  for (const auto& reader : readers_) count += reader->pinned.load(std::memory_order_relaxed) ? 1 : 0;
  return count;
}

// JS thread.
EngineStats Engine::stats() const {
  EngineStats stats;
  stats.readers = static_cast<int>(readers_.size());
  for (const auto& reader : readers_) {
    if (reader->busy.load(std::memory_order_relaxed)) ++stats.readersBusy;
    stats.readerCompleted += reader->completed.load(std::memory_order_relaxed);
    stats.yields += reader->timeslice.yields();
  }
  if (writer_) {
    stats.writerBusy = writer_->busy.load(std::memory_order_relaxed);
    stats.writerCompleted = writer_->completed.load(std::memory_order_relaxed);
    stats.yields += writer_->timeslice.yields();
  }
  stats.readerRingDepth = readerRing_.sizeApprox();
  stats.writerRingDepth = writerRing_.sizeApprox();
  stats.completionRingDepth = completions_.sizeApprox();
  stats.slotsInUse = config_.slots - static_cast<std::uint32_t>(freeSlots_.size());
  stats.groupCommits = groupCommits_.load(std::memory_order_relaxed);
  stats.groupedWrites = groupedWrites_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace litepool
