#include "detail/progress.hpp"

#include <utility>

namespace mip::detail {

ProgressEmitter::ProgressEmitter(const ProgressCallback& callback,
                                 std::string stage,
                                 std::uint64_t total)
    : callback_(callback) {
    event_.stage = std::move(stage);
    event_.total = total;
}

void ProgressEmitter::advance_if_due(std::chrono::milliseconds interval) {
    if (callback_ && std::chrono::steady_clock::now() - last_sent_ >= interval) {
        emit(ProgressPhase::advanced);
    }
}

void ProgressEmitter::item_done(std::string_view item) {
    std::lock_guard lock(mutex_);
    ++event_.done;
    event_.item = item;
}

void ProgressEmitter::count_done() {
    std::lock_guard lock(mutex_);
    ++event_.done;
}

void ProgressEmitter::add_to_total(std::uint64_t n) {
    std::lock_guard lock(mutex_);
    event_.total += n;
}

void ProgressEmitter::set_retries(std::uint32_t retries) {
    std::lock_guard lock(mutex_);
    event_.retries = retries;
}

void ProgressEmitter::emit(ProgressPhase phase) {
    if (!callback_) {
        return;
    }
    ProgressEvent event;
    {
        std::lock_guard lock(mutex_);
        event = event_;
    }
    event.phase = phase;
    last_sent_ = std::chrono::steady_clock::now();
    callback_(event);
}

}  // namespace mip::detail
