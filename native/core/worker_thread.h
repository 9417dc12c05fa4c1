// Owns starting and joining one worker thread with an explicit stack size. The engine runs every
// SQLite call on such a thread: the writer thread (the read-write connection: writes, groups,
// batches, checkpoints, backups) and each reader thread (its read-only connection: reads,
// iterations, leases); see engine.h. SQLite's parser, code generator and expression walkers
// recurse as deep as the SQL nests, so the default stack of a secondary thread is too small on
// some systems: 128 KiB on musl (Alpine), 512 KiB on macOS, against 8 MiB on glibc (the
// RLIMIT_STACK default). On POSIX the thread is created with pthread attributes asking for
// kWorkerStackBytes, reserved address space that becomes resident only as it is touched. On
// Windows it is a std::thread, which takes no stack size: it gets the executable's default
// reservation (1 MiB for node.exe), which this file leaves as it is.
#pragma once

#include <cassert>
#include <cstddef>
#include <functional>
#include <memory>
#include <system_error>
#include <utility>

#if defined(_WIN32)
#include <thread>
#else
#include <pthread.h>
#endif

namespace litepool {

// The stack every worker thread asks for on POSIX: glibc's default for secondary threads.
inline constexpr std::size_t kWorkerStackBytes = std::size_t{8} << 20;

class WorkerThread {
 public:
  WorkerThread() = default;
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;
  // Like std::thread, a thread must be joined before its handle goes away.
  ~WorkerThread() { assert(!joinable()); }

  // The owning thread (the engine's JS thread). Runs `body` on a new thread; throws
  // std::system_error when the thread cannot be created, as std::thread does. An exception that
  // escapes `body` ends the process (std::terminate), as with std::thread.
  void start(std::function<void()> body) {
    assert(!joinable());
#if defined(_WIN32)
    thread_ = std::thread(std::move(body));
#else
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_attr_init");
    rc = pthread_attr_setstacksize(&attr, kWorkerStackBytes);
    if (rc == 0) {
      auto owned = std::make_unique<std::function<void()>>(std::move(body));
      rc = pthread_create(&handle_, &attr, &WorkerThread::run, owned.get());
      if (rc == 0) owned.release();  // the new thread deletes it
    }
    pthread_attr_destroy(&attr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_create");
    started_ = true;
#endif
  }

  // The owning thread.
  bool joinable() const noexcept {
#if defined(_WIN32)
    return thread_.joinable();
#else
    return started_;
#endif
  }

  // The owning thread: waits for the thread to end.
  void join() {
#if defined(_WIN32)
    thread_.join();
#else
    assert(started_);
    const int rc = pthread_join(handle_, nullptr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_join");
    started_ = false;
#endif
  }

 private:
#if defined(_WIN32)
  std::thread thread_;
#else
  // The new thread: runs the body it was given and frees it.
  static void* run(void* arg) noexcept {
    std::unique_ptr<std::function<void()>> body(static_cast<std::function<void()>*>(arg));
    (*body)();
    return nullptr;
  }
  pthread_t handle_{};
  bool started_ = false;
#endif
};

}  // namespace litepool
