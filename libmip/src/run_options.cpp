#include <algorithm>
#include <thread>

#include <mip/run_options.hpp>

namespace mip {

unsigned RunOptions::effective_jobs() const noexcept {
    return jobs != 0 ? jobs : std::max(1U, std::thread::hardware_concurrency());
}

}  // namespace mip
