// Owns the native side of one pool: the request slab, the rings, the writer thread and the
// reader threads, each with its own connection.
//
//   JS thread ──submit──▶ reader ring (MPMC) ──▶ reader threads (N)
//             └─submit──▶ writer ring (SPSC) ──▶ writer thread (1)
//   JS thread ◀──drain─── completion ring (MPSC) ◀── every worker
//
// Every ring's capacity equals the number of slots, and a slot is in at most one ring at a
// time, so no push can ever fail: back-pressure lives on the JS side (a slot must be acquired
// before a request exists).
//
// The request slab grows in chunks of kChunkSlots requests as slots are first handed out, so a
// pool costs what its busiest moment needed, not `slots` requests (an idle pool holds one chunk).
// A chunk, once made, stays until the engine goes: workers reach a request through its chunk
// pointer, written by the JS thread before the slot number travels through a ring (release) and
// read by the worker after it took the number (acquire).
//
// Thread roles, stated on each method: "JS thread" means the single thread that owns the engine
// (the Node.js event loop thread in the addon, the test's main thread in native tests): the one
// that constructed it. Debug builds assert it on every JS-thread method.
//
//   engine.cc   the JS thread's side: slots, submit, cancel, start, abort, join, stats
//   worker.cc   the worker threads' side: the worker loops, running requests, group commit,
//               publishing completions
//   worker_thread.h  starting a worker thread with an explicit stack (8 MiB on POSIX)
// native/README.md follows one request through both.
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "cache_line.h"
#include "connection.h"
#include "contract.h"
#include "parker.h"
#include "request.h"
#include "ring.h"
#include "worker_thread.h"

namespace litepool {

// Told (from a worker thread) that the completion ring went from empty to non-empty.
// Implementations must be callable from any thread and must not block.
class CompletionListener {
 public:
  virtual ~CompletionListener() = default;
  virtual void onCompletionsReady() noexcept = 0;
};

struct EngineConfig {
  ConnectionConfig connection;
  int readers = 4;                 // 0: every request runs on the writer
  std::uint32_t slots = 4096;      // power of two; the most requests in flight at once
  // How long an idle worker polls for work before it parks, in microseconds. Polling catches the
  // next request without a wake-up (a futex call on the JS thread, then the kernel waking the
  // worker: tens of microseconds on virtual machines); only one idle reader polls at a time.
  std::uint32_t spinMicros = 50;
  // A worker that has run this long without pausing yields its core (0: never). See timeslice.h.
  std::uint32_t timesliceMicros = 1000;
  // Group commit: up to this many consecutive groupable writes share one transaction (<= 1: off).
  std::uint32_t groupMaxBatch = 256;
  // How long the writer waits for more writes to join a group that is not full (0: never waits).
  std::uint32_t groupMaxDelayMicros = 0;
  // Native tests only (0 otherwise): how long a reader that took a request while polling the
  // shared ring stays registered as a poller before it leaves, to widen a race window on purpose.
  std::uint32_t testPauseAfterTakeMicros = 0;
  // Native tests and the addon's fault-injection test build only (-1 otherwise): the reader whose
  // thread startReaders() fails to create, as when the system refuses a thread (std::system_error).
  int testFailReaderStart = -1;
};

// Any thread: the steady clock in milliseconds (when a worker last finished work).
inline std::int64_t steadyMillis() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct EngineStats {
  int readers = 0;
  int readersBusy = 0;
  int readersBusyPinned = 0;  // of readersBusy, those pinned to a lease (running its request)
  bool writerBusy = false;
  std::size_t readerRingDepth = 0;
  std::size_t writerRingDepth = 0;
  std::size_t completionRingDepth = 0;
  // Requests run (opens not counted) and slots handed out: the native tests check routing and
  // slot recycling with them; the addon does not report them.
  std::uint64_t readerCompleted = 0;
  std::uint64_t writerCompleted = 0;
  std::uint32_t slotsInUse = 0;
  std::uint64_t groupCommits = 0;    // groups in which two or more writes committed together
  std::uint64_t groupedWrites = 0;   // the writes they committed (not a failed or cancelled member)
  std::uint64_t yields = 0;          // times a worker gave up its core after a full time slice
  // The WAL index header as of the writer's last finished request (all 0 before, or without WAL).
  std::uint32_t walFrames = 0;
  std::uint32_t walBackfilled = 0;
  std::uint32_t walPageSize = 0;
};

class Engine {
 public:
  // The thread that calls the constructor becomes the engine's JS thread.
  Engine(EngineConfig config, CompletionListener* listener);
  // JS thread. Aborts whatever still runs (see abort()) and joins every thread.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Any thread.
  const EngineConfig& config() const noexcept { return config_; }
  // JS thread.
  int readerCount() const noexcept { return static_cast<int>(readers_.size()); }

  // JS thread. Starts the writer thread, which opens its connection and completes the returned
  // slot (op Open). Call once.
  std::uint32_t startWriter();
  // JS thread. Starts the reader threads (after the writer opened, so WAL mode is set); each
  // completes one of the returned slots (op Open). Throws std::system_error when a thread cannot
  // be created: the readers started before it run on (abort() stops and joins them).
  std::vector<std::uint32_t> startReaders();

  // JS thread. A cleared request, or UINT32_MAX when every slot is in flight.
  std::uint32_t acquireSlot();
  // The thread that owns the slot (see request.h).
  Request& request(std::uint32_t slot) noexcept { return chunks_[slot >> chunkShift_][slot & chunkMask_]; }
  // JS thread. Hands the request to the workers. Never fails (see the header comment).
  // `reader` names the reader for Target::PinnedReader (the index its Pin request reported).
  void submit(std::uint32_t slot, Target target, int reader = -1);
  // JS thread. Marks a request cancelled: skipped if still queued, interrupted if running.
  void cancel(std::uint32_t slot) noexcept;
  // JS thread. Takes one finished request; false when none is waiting. The slot stays owned by
  // the caller until releaseSlot().
  bool popCompletion(std::uint32_t& slot) noexcept {
    assertJsThread();
    return completions_.tryPop(slot);
  }
  // JS thread. Ends a drain. From the first completion after a drain was announced
  // (onCompletionsReady) until this call, workers announce nothing more, so the JS thread drains
  // at its own pace. Returns true when completions arrived meanwhile: the caller then owns a new
  // drain (no announcement comes for them) and must drain and call rearm() again.
  bool rearm() noexcept {
    assertJsThread();
    // acq_rel: reading a worker's exchange makes its push to the ring visible to the check below.
    notifyPending_.exchange(false, std::memory_order_acq_rel);
    if (completions_.emptyApprox()) return false;
    // A worker may claim the announcement first; exactly one side wins.
    return !notifyPending_.exchange(true, std::memory_order_acq_rel);
  }
  // JS thread. Forgets the request and makes its slot free again.
  void releaseSlot(std::uint32_t slot);

  // JS thread. Cancels everything still queued or running and joins every thread; connections
  // are closed by their own threads on the way out. Idempotent.
  void abort();
  // JS thread. Joins threads that already finished (after every Close request completed).
  void join();

  // JS thread (approximate while the workers run).
  EngineStats stats() const;
  // JS thread (stats): how many readers are pinned to a lease right now.
  int pinnedReaders() const noexcept;
  // JS thread: how long each worker has been idle, in ms (readers in order, then the writer).
  std::vector<double> idleMillis() const;
  // JS thread: how long each worker's connection has been inside a transaction, in ms, as of its
  // last finished request (-1: none open), in the order of idleMillis().
  std::vector<double> transactionMillis() const;

 private:
  struct Worker {
    Worker(Role role, const EngineConfig& config, const std::atomic<bool>* abort)
        : timeslice(config.timesliceMicros), connection(role, config.connection, abort, &timeslice) {}
    Timeslice timeslice;  // the worker's thread only (stats() reads its yield count)
    Connection connection;
    Parker parker;
    WorkerThread thread;  // its stack size: worker_thread.h
    std::atomic<bool> busy{false};
    std::atomic<std::uint64_t> completed{0};
    int index = WRITER_WORKER;  // a reader's index (from 0), or WRITER_WORKER
    // Readers only. While pinned, a reader serves its own ring (one lease) and ignores the
    // shared ring. Written by the reader's thread, read by the JS thread when it picks a reader
    // to wake (seq_cst on both sides: see Engine::submit).
    std::atomic<bool> pinned{false};
    // Readers only, the reader's thread only: pinned by an iteration it started from the shared
    // ring (RequestFlag::HoldReader), not by a Pin; see holdForIteration().
    bool heldByIteration = false;
    // Readers only, the reader's thread only: pinned by a Reopen (the keeper replacing the
    // connection) until the keeper's Unpin. A Reopen finding the reader pinned otherwise (a lease,
    // an iteration) replaces nothing.
    bool pinnedForReopen = false;
    std::unique_ptr<SpscRing<std::uint32_t>> pinnedRing;
    // Milliseconds (steady clock) when the worker last finished a request.
    std::atomic<std::int64_t> lastUsedMs{0};
    // Milliseconds (steady clock) when the connection's open transaction began (0: none), as of
    // the last request the worker finished.
    std::atomic<std::int64_t> transactionSinceMs{0};
  };

  // Debug builds: the caller is the thread that constructed the engine.
  void assertJsThread() const noexcept { assert(std::this_thread::get_id() == jsThread_); }

  // ---- worker threads (worker.cc) ----
  void writerMain(std::uint32_t openSlot);
  void readerMain(Worker* self, std::uint32_t openSlot);
  // `spinners` counts the workers polling a shared ring (nullptr: this worker does not count).
  template <typename TryPop, typename HasWork>
  bool waitForWork(Worker& worker, TryPop tryPop, HasWork hasWork, std::uint32_t& slot, std::atomic<int>* spinners);
  // Returns false when the worker must stop (its Close request ran).
  bool runOne(Worker& worker, std::uint32_t slot);
  // Reader threads: pins or unpins a reader for an iteration it started from the shared ring.
  void holdForIteration(Worker& worker, const Request& request) noexcept;
  // Writer thread: collects the groupable writes that follow `first` in the ring and runs them
  // in one transaction (or `first` alone when none follows).
  void runGroupFrom(Worker& writer, std::uint32_t first);
  void complete(std::uint32_t slot) noexcept;
  void finishedWork(Worker& worker) noexcept;
  void noteWal(Worker& writer) noexcept;
  // JS thread and reader threads: wakes one parked, unpinned reader.
  void wakeReader() noexcept;
  // Reader threads: after leaving the pollers with a request, wakes a reader for what remains.
  void handOff() noexcept;
  // Writer thread, stopped by abort(): waits (a bounded while) for the reader threads to be gone.
  void waitForReadersGone() noexcept;

  const EngineConfig config_;
  const std::thread::id jsThread_ = std::this_thread::get_id();
  CompletionListener* const listener_;
  std::atomic<bool> abort_{false};
  // Reader threads started and not yet gone (their connection closed). The writer, stopped by
  // abort(), closes its connection only once they are gone: the last connection to close is the
  // one that checkpoints the WAL and removes the -wal and -shm files, and it only knows it is the
  // last when the others are closed (connections closing at once could each see the others open).
  std::atomic<int> readersRunning_{0};
  // Requests per slab chunk (fewer when the engine has fewer slots).
  static constexpr std::uint32_t kChunkSlots = 64;
  const std::uint32_t chunkSlots_;
  const std::uint32_t chunkShift_;
  const std::uint32_t chunkMask_;
  std::unique_ptr<std::unique_ptr<Request[]>[]> chunks_;  // slots / chunkSlots_ entries, made on demand
  std::uint32_t createdSlots_ = 0;        // JS thread only: slots [0, createdSlots_) exist
  std::vector<std::uint32_t> freeSlots_;  // JS thread only: created slots not in use
  MpmcRing<std::uint32_t> readerRing_;
  // Unpinned readers polling the reader ring right now. submit() wakes a parked reader only when
  // the ring holds more requests than there are pollers to take them.
  alignas(kCacheLine) std::atomic<int> spinningReaders_{0};
  SpscRing<std::uint32_t> writerRing_;
  MpmcRing<std::uint32_t> completions_;
  alignas(kCacheLine) std::atomic<bool> notifyPending_{false};
  std::unique_ptr<Worker> writer_;
  std::vector<std::unique_ptr<Worker>> readers_;
  bool joined_ = false;
  std::vector<std::uint32_t> groupSlots_;  // writer thread only
  std::vector<Request*> group_;            // writer thread only
  std::uint64_t lastGroupNumber_ = 0;      // writer thread only: the last counted group's Request::group
  // Written by the writer's thread after each group in which two or more writes committed, read by stats().
  std::atomic<std::uint64_t> groupCommits_{0};
  std::atomic<std::uint64_t> groupedWrites_{0};
  // Written by the writer's thread after each request it finished (Connection::walIndex), read by
  // stats() on the JS thread.
  std::atomic<std::uint32_t> walFrames_{0};
  std::atomic<std::uint32_t> walBackfilled_{0};
  std::atomic<std::uint32_t> walPageSize_{0};
};

}  // namespace litepool
