#pragma once
// Private: one run per build directory. Two runs sharing one (same temporary names, one run's
// cleanup deleting the other's finished `<wheel>.dir`) could report success with packages
// missing; the second one now fails at once.

#include <filesystem>

#include "detail/fd.hpp"

namespace mip::detail {

/// Holds `<build_dir>/.mip-build.lock` (flock, exclusive) for its lifetime; the file says which
/// pid holds it. A lock of a process that died is released by the kernel and simply taken
/// over. Throws IoError "<build_dir> is in use by pid N" when another run holds it.
class BuildDirLock {
public:
    explicit BuildDirLock(const std::filesystem::path& build_dir);

private:
    UniqueFd fd_;
};

}  // namespace mip::detail
