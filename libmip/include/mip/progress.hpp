#pragma once
/// \file progress.hpp
/// Progress reporting. Callbacks run on the thread that called the long operation, one at a time;
/// worker threads only update counters. Throw `mip::Cancelled` (or anything) from a callback to
/// cancel: the library cleans up and rethrows the same exception.
///
/// **Example**
/// ```cpp
/// mip::RunOptions run;
/// run.progress = [](const mip::ProgressEvent& e) {
///     std::cerr << e.stage << ": " << e.done << "/" << e.total << " " << e.item << "\r";
///     if (interrupted) { throw mip::Cancelled(); }
/// };
/// ```

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace mip {

enum class ProgressPhase { started, advanced, finished };

struct ProgressEvent {
    std::string stage;  ///< "prepare", "compile", "bundle", "upload", "index"
    ProgressPhase phase = ProgressPhase::advanced;
    std::string item;         ///< the package, wheel or key last worked on ("" if none)
    std::uint64_t done = 0;   ///< items (or bytes, see `unit`) finished
    std::uint64_t total = 0;  ///< 0 when unknown
    std::string unit = "items";
    std::uint32_t retries = 0;  ///< retries so far in this stage (network stages)
};

using ProgressCallback = std::function<void(const ProgressEvent&)>;

/// Default throttle: at most one `advanced` event per interval (first and last always sent).
inline constexpr std::chrono::milliseconds default_progress_interval{100};

}  // namespace mip
