// Owns the JS thread's side of one pool's engine: the slots, handing requests to the workers,
// cancelling them, starting, aborting and joining the threads, and statistics. Every function
// here runs on the JS thread (the one that constructed the engine; debug builds assert it). The
// worker threads' side is worker.cc; see engine.h.
#include "engine.h"

#include <cassert>
#include <cerrno>
#include <system_error>
#include <thread>

#include "sqlite_init.h"

namespace litepool {

namespace {

// Any thread: log2 of a power of two.
std::uint32_t log2Of(std::uint32_t n) noexcept {
  std::uint32_t shift = 0;
  while ((std::uint32_t{1} << shift) < n) ++shift;
  return shift;
}

}  // namespace

Engine::Engine(EngineConfig config, CompletionListener* listener)
    : config_(std::move(config)),
      listener_(listener),
      chunkSlots_(config_.slots < kChunkSlots ? config_.slots : kChunkSlots),
      chunkShift_(log2Of(chunkSlots_)),
      chunkMask_(chunkSlots_ - 1),
      readerRing_(config_.readers > 0 ? config_.slots : 2),
      writerRing_(config_.slots),
      completions_(config_.slots) {
  ensureSqliteInitialized();
  // The rings above refused a slot count that is not a power of two, so chunks divide it.
  chunks_ = std::make_unique<std::unique_ptr<Request[]>[]>(config_.slots / chunkSlots_);
}

// JS thread.
Engine::~Engine() { abort(); }

// JS thread. Reuses the most recently released slot (its buffers are warm), else creates the
// next one, making its chunk first when it starts one.
std::uint32_t Engine::acquireSlot() {
  assertJsThread();
  if (!freeSlots_.empty()) {
    const std::uint32_t slot = freeSlots_.back();
    freeSlots_.pop_back();
    return slot;
  }
  if (createdSlots_ == config_.slots) return UINT32_MAX;
  const std::uint32_t slot = createdSlots_;
  if ((slot & chunkMask_) == 0) chunks_[slot >> chunkShift_] = std::make_unique<Request[]>(chunkSlots_);
  ++createdSlots_;
  return slot;
}

// JS thread.
void Engine::releaseSlot(std::uint32_t slot) {
  assertJsThread();
  request(slot).resetForReuse();
  freeSlots_.push_back(slot);
}

// JS thread.
std::uint32_t Engine::startWriter() {
  assertJsThread();
  const std::uint32_t slot = acquireSlot();
  request(slot).op = Op::Open;
  writer_ = std::make_unique<Worker>(Role::Writer, config_, &abort_);
  writer_->thread.start([this, slot] { writerMain(slot); });
  return slot;
}

// JS thread.
std::vector<std::uint32_t> Engine::startReaders() {
  assertJsThread();
  std::vector<std::uint32_t> openSlots;
  // Every reader exists before the first one starts: readers read `readers_` (handOff), so it
  // must not change once a reader thread runs.
  for (int i = 0; i < config_.readers; ++i) {
    const std::uint32_t slot = acquireSlot();
    request(slot).op = Op::Open;
    openSlots.push_back(slot);
    readers_.push_back(std::make_unique<Worker>(Role::Reader, config_, &abort_));
    Worker* worker = readers_.back().get();
    worker->index = i;
    worker->pinnedRing = std::make_unique<SpscRing<std::uint32_t>>(config_.slots);
  }
  for (std::size_t i = 0; i < readers_.size(); ++i) {
    Worker* worker = readers_[i].get();
    const std::uint32_t slot = openSlots[i];
    // Counted before its thread exists (the thread uncounts itself when it ends, see readerMain),
    // and uncounted when the thread could not be created: a reader that never ran must not keep
    // the writer waiting for it (waitForReadersGone). The readers started before it run on, and
    // abort() or the destructor joins them; the Open slot of one that never ran is never
    // completed and goes with the engine.
    readersRunning_.fetch_add(1, std::memory_order_relaxed);
    try {
      if (static_cast<int>(i) == config_.testFailReaderStart) {
        throw std::system_error(EAGAIN, std::generic_category(), "pthread_create");
      }
      worker->thread.start([this, worker, slot] { readerMain(worker, slot); });
    } catch (...) {
      readersRunning_.fetch_sub(1, std::memory_order_relaxed);
      throw;
    }
  }
  return openSlots;
}

// JS thread.
void Engine::submit(std::uint32_t slot, Target target, int reader) {
  assertJsThread();
  request(slot).submittedAt = std::chrono::steady_clock::now();
  if (target == Target::PinnedReader) {
    // lib/ only pins readers it was given by a Pin request, so the index is always valid.
    Worker& pinned = *readers_.at(static_cast<std::size_t>(reader));
    // Single producer, single consumer, capacity = slots: a push cannot fail.
    const bool pushed = pinned.pinnedRing->tryPush(slot);
    assert(pushed);
    (void)pushed;
    pinned.parker.unpark();
    return;
  }
  if (target != Target::Readers || readers_.empty()) {
    // Single producer, single consumer, capacity = slots: a push cannot fail.
    const bool pushed = writerRing_.tryPush(slot);
    assert(pushed);
    (void)pushed;
    if (writer_) writer_->parker.unpark();
    return;
  }
  // The ring never holds more requests than there are slots, yet a push can still find its entry
  // taken: a reader that claimed the entry one lap earlier (its ticket taken, its turn not yet
  // handed back) and was preempted in between holds it until it runs again. Dropping the request
  // there would leave its promise unsettled forever, so wait for that reader instead: it needs
  // nothing from this thread to finish its pop.
  while (!readerRing_.tryPush(slot)) std::this_thread::yield();
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
void Engine::cancel(std::uint32_t slot) noexcept {
  assertJsThread();
  request(slot).cancelled.store(true, std::memory_order_relaxed);
}

// JS thread.
void Engine::abort() {
  assertJsThread();
  if (joined_) return;
  abort_.store(true, std::memory_order_release);
  for (std::uint32_t i = 0; i < createdSlots_; ++i) request(i).cancelled.store(true, std::memory_order_relaxed);
  if (writer_) writer_->parker.wake();
  for (auto& reader : readers_) reader->parker.wake();
  join();
}

// JS thread.
void Engine::join() {
  assertJsThread();
  if (joined_) return;
  if (writer_ && writer_->thread.joinable()) writer_->thread.join();
  for (auto& reader : readers_) {
    if (reader->thread.joinable()) reader->thread.join();
  }
  joined_ = true;
}

// JS thread.
std::vector<double> Engine::transactionMillis() const {
  assertJsThread();
  const std::int64_t now = steadyMillis();
  const auto age = [now](const Worker& worker) {
    const std::int64_t since = worker.transactionSinceMs.load(std::memory_order_relaxed);
    return since == 0 ? -1.0 : static_cast<double>(now - since);
  };
  std::vector<double> ages;
  for (const auto& reader : readers_) ages.push_back(age(*reader));
  if (writer_) ages.push_back(age(*writer_));
  return ages;
}

// JS thread.
std::vector<double> Engine::idleMillis() const {
  assertJsThread();
  const std::int64_t now = steadyMillis();
  std::vector<double> idle;
  for (const auto& reader : readers_) idle.push_back(static_cast<double>(now - reader->lastUsedMs.load(std::memory_order_relaxed)));
  if (writer_) idle.push_back(static_cast<double>(now - writer_->lastUsedMs.load(std::memory_order_relaxed)));
  return idle;
}

// JS thread.
int Engine::pinnedReaders() const noexcept {
  assertJsThread();
  int count = 0;
  for (const auto& reader : readers_) count += reader->pinned.load(std::memory_order_relaxed) ? 1 : 0;
  return count;
}

// JS thread.
EngineStats Engine::stats() const {
  assertJsThread();
  EngineStats stats;
  stats.readers = static_cast<int>(readers_.size());
  for (const auto& reader : readers_) {
    if (reader->busy.load(std::memory_order_relaxed)) {
      ++stats.readersBusy;
      if (reader->pinned.load(std::memory_order_relaxed)) ++stats.readersBusyPinned;
    }
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
  stats.slotsInUse = createdSlots_ - static_cast<std::uint32_t>(freeSlots_.size());
  stats.groupCommits = groupCommits_.load(std::memory_order_relaxed);
  stats.groupedWrites = groupedWrites_.load(std::memory_order_relaxed);
  stats.walFrames = walFrames_.load(std::memory_order_relaxed);
  stats.walBackfilled = walBackfilled_.load(std::memory_order_relaxed);
  stats.walPageSize = walPageSize_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace litepool
