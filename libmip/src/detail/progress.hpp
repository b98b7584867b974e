#pragma once
// Private: the one progress emitter. Every stage and batch reports through it, so every caller
// sees the same event shapes (progress.hpp): `started`, `advanced`…, `finished`, all sent on the
// thread that owns the emitter (the caller's), while any thread may count finished items.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include <mip/progress.hpp>

namespace mip::detail {

/// Counts a stage's finished items and sends its `ProgressEvent`s.
///
/// `started()`, `advanced()`, `advance_if_due()` and `finished()` call the callback and must run
/// on the calling thread (the callback may throw to cancel: the exception propagates to the
/// caller of that method). `item_done()`, `count_done()`, `add_to_total()` and `set_retries()`
/// only update counters and may run on any thread. A null callback makes every call cheap.
class ProgressEmitter {
public:
    /// `callback` is referenced, not copied: it must outlive the emitter.
    ProgressEmitter(const ProgressCallback& callback, std::string stage, std::uint64_t total);
    ProgressEmitter(const ProgressEmitter&) = delete;
    ProgressEmitter& operator=(const ProgressEmitter&) = delete;
    ProgressEmitter(ProgressEmitter&&) = delete;
    ProgressEmitter& operator=(ProgressEmitter&&) = delete;
    ~ProgressEmitter() = default;

    void started() { emit(ProgressPhase::started); }
    void advanced() { emit(ProgressPhase::advanced); }
    void finished() { emit(ProgressPhase::finished); }
    /// `advanced()` when `interval` has passed since the last event (or since construction).
    void advance_if_due(std::chrono::milliseconds interval);

    /// One more item finished; `item` becomes the event's `item`.
    void item_done(std::string_view item);
    /// One more item finished, without naming it.
    void count_done();
    /// The total grows (a listing learns its size page by page).
    void add_to_total(std::uint64_t n);
    /// Retries so far, reported in the next events.
    void set_retries(std::uint32_t retries);

private:
    void emit(ProgressPhase phase);

    const ProgressCallback& callback_;
    std::mutex mutex_;
    ProgressEvent event_;  ///< guarded by mutex_; copied out to send
    std::chrono::steady_clock::time_point last_sent_ = std::chrono::steady_clock::now();
};

}  // namespace mip::detail
