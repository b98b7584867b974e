#pragma once
// Runs N work items on up to `jobs` threads while the calling thread delivers progress ticks.
// Callbacks (tick) run only on the calling thread; an exception from `tick` stops the run
// (no new items start; running ones finish) and is rethrown unchanged.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>

namespace mip::detail {

struct ParallelOptions {
    unsigned jobs = 1;
    std::chrono::milliseconds tick_interval{100};  ///< floored at 20 ms
    std::atomic<bool>* cancel = nullptr;           ///< set when a tick throws
};

/// `work(i)` for i in [0, n): must not throw (catch per item). Returns false from `work` to
/// stop scheduling further items (stop-at-first-failure). `tick()` is called on this thread at
/// most once per interval while work runs (also with jobs == 1: the work then runs on one
/// worker thread, so a callback can cancel mid-item), and once at the end. When `tick` throws,
/// `cancel` (if given) is set so running items can abort their children, no new item starts,
/// and the exception is rethrown after the workers finish.
void run_parallel(std::size_t n,
                  const ParallelOptions& options,
                  const std::function<bool(std::size_t)>& work,
                  const std::function<void()>& tick);

}  // namespace mip::detail
