#include <algorithm>
#include <thread>

#include <mip/error.hpp>
#include <mip/run_options.hpp>

namespace mip {

unsigned RunOptions::effective_jobs() const noexcept {
    return jobs != 0 ? jobs : std::max(1U, std::thread::hardware_concurrency());
}

std::int64_t checked_source_date_epoch(std::int64_t value, const std::string& origin) {
    if (value < 0 || value > max_source_date_epoch) {
        throw SpecError(
            origin, {{"source_date_epoch", "'" + std::to_string(value) + "' is outside 0 to " +
                                               std::to_string(max_source_date_epoch) +
                                               " (1970-01-01 to 2107-12-31, the ZIP date range)"}});
    }
    return value;
}

}  // namespace mip
