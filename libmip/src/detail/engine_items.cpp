// The compile and test stages' item loop (engine_items.hpp).
#include "detail/engine_items.hpp"

#include <algorithm>
#include <chrono>

#include "detail/parallel.hpp"

namespace mip::detail {

namespace {

/// Engines run for seconds to hours: ticking more often than this would only spin the caller.
constexpr std::chrono::milliseconds min_tick_interval{20};

}  // namespace

std::vector<ItemResult> run_engine_items(const std::vector<EngineItem>& items,
                                         const RunOptions& run,
                                         ProgressEmitter& progress,
                                         std::atomic<bool>& cancel,
                                         const std::function<ItemResult(std::size_t)>& run_one) {
    std::vector<ItemResult> results(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto& r = results[i];
        r.package = items[i].package;
        r.wheel = items[i].wheel;
        r.path = items[i].path.string();
        r.status = ItemStatus::skipped;
        r.detail = "not run: an earlier package failed";
    }
    auto work = [&](std::size_t i) -> bool {
        ItemResult result = run_one(i);
        const bool ok = result.status != ItemStatus::failed;
        results[i] = std::move(result);
        progress.item_done(items[i].package.empty() ? items[i].wheel : items[i].package);
        return ok || run.keep_going;
    };
    progress.started();
    ParallelOptions parallel;
    parallel.cancel = &cancel;
    parallel.jobs = run.effective_jobs();
    parallel.tick_interval = std::max(run.progress_interval, min_tick_interval);
    run_parallel(items.size(), parallel, work, [&]() { progress.advanced(); });
    progress.finished();
    return results;
}

}  // namespace mip::detail
