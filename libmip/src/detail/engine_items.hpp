#pragma once
// Private: the item loop of the stages that run a MATLAB/Octave engine per package (compile,
// test). Items run on `run.effective_jobs()` threads while the calling thread ticks progress;
// a failure stops new items unless `--keep-going`, and an item never reached says so.

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <mip/report.hpp>
#include <mip/run_options.hpp>

#include "detail/progress.hpp"

namespace mip::detail {

/// What an engine item is called and where it lives, before it runs.
struct EngineItem {
    std::string package;
    std::string wheel;
    std::filesystem::path path;
};

/// One result per item, in order: `run_one(i)` for each item (it must not throw: it reports a
/// failure in its result), each reported to `progress` as done. Items not started because an
/// earlier one failed stay `skipped` ("not run: an earlier package failed"). `cancel` is set
/// when a progress callback throws (Ctrl-C), which is then rethrown after running items end.
[[nodiscard]] std::vector<ItemResult> run_engine_items(
    const std::vector<EngineItem>& items,
    const RunOptions& run,
    ProgressEmitter& progress,
    std::atomic<bool>& cancel,
    const std::function<ItemResult(std::size_t)>& run_one);

}  // namespace mip::detail
