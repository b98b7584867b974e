// ELF checks and MEX coverage of an installed package (binary_checks.hpp).

#include "detail/binary_checks.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <sstream>
#include <string_view>

#include "detail/elf.hpp"
#include "detail/fs.hpp"
#include "detail/text.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

namespace {

/// Exact names (version suffix included) of libraries every Linux MATLAB/Octave host has.
constexpr std::array<std::string_view, 16> provided_exact = {
    "libc.so.6",        "libm.so.6",     "libpthread.so.0",      "libdl.so.2",
    "librt.so.1",       "libutil.so.1",  "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
    "libstdc++.so.6",   "libgcc_s.so.1", "libgomp.so.1",         "libgfortran.so.5",
    "libquadmath.so.0", "libz.so.1",     "libblas.so.3",         "liblapack.so.3"};

/// Name prefixes: MATLAB's own libraries (libmx, libmex, libmat, libeng, libmw*, libut,
/// libMatlab*) and Octave's (liboctinterp, liboctave).
constexpr std::array<std::string_view, 9> provided_prefixes = {
    "libmx.so", "libmex.so", "libmat.so",       "libeng.so",   "libmw",
    "libut.so", "libMatlab", "liboctinterp.so", "liboctave.so"};

std::string version_text(std::pair<int, int> v) {
    return std::to_string(v.first) + "." + std::to_string(v.second);
}

}  // namespace

bool is_provided_library(const std::string& soname) {
    if (std::find(provided_exact.begin(), provided_exact.end(), soname) != provided_exact.end()) {
        return true;
    }
    return std::any_of(provided_prefixes.begin(), provided_prefixes.end(),
                       [&](std::string_view p) { return soname.rfind(p, 0) == 0; });
}

std::vector<std::string> check_binaries(const fs::path& dir, std::pair<int, int> floor) {
    std::vector<fs::path> elves;
    std::set<std::string> shipped_names;
    for (const auto& rel : list_tree(dir, false)) {
        const fs::path p = dir / rel;
        shipped_names.insert(p.filename().string());
        if (fs::is_regular_file(p) && is_elf_file(p)) {
            elves.push_back(p);
        }
    }
    std::sort(elves.begin(), elves.end());
    std::vector<std::string> problems;
    for (const auto& p : elves) {
        const std::string rel = relative_generic(p, dir);
        const ElfInfo info = read_elf(p);
        const ElfVersionNeed* worst = nullptr;
        std::pair<int, int> worst_v{0, 0};
        for (const auto& need : info.version_needs) {
            if (auto v = glibc_version(need.version); v && *v > worst_v) {
                worst_v = *v;
                worst = &need;
            }
        }
        if (worst != nullptr && worst_v > floor) {
            std::string msg = rel + ": needs " + worst->version + " from " + worst->library;
            if (!worst->symbols.empty()) {
                msg += " (symbol " + worst->symbols.front() + ")";
            }
            problems.push_back(msg + ", newer than the glibc floor " + version_text(floor) +
                               " (--glibc-floor)");
        }
        for (const auto& lib : info.needed) {
            if (shipped_names.count(lib) == 0 && !is_provided_library(lib)) {
                std::string msg = rel;
                msg += ": needs library " + lib;
                msg += ", which is neither in the package nor provided by a MATLAB/Octave install";
                problems.push_back(std::move(msg));
            }
        }
    }
    return problems;
}

std::vector<fs::path> loadable_mex_files(const fs::path& dir, bool octave) {
    std::vector<fs::path> out;
    for (const auto& rel : list_tree(dir, false)) {
        const std::string ext = ascii_lower(fs::path(rel).extension().string());
        const bool loadable = octave ? (ext == ".mex" || ext == ".oct") : (ext == ".mexa64");
        if (loadable) {
            out.push_back(dir / rel);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> untouched_mex_files(const std::vector<fs::path>& mex,
                                             const std::string& loaded_list,
                                             const fs::path& dir) {
    std::set<std::string> loaded;
    std::istringstream in(loaded_list);
    std::string line;
    std::error_code ec;
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        auto canonical = fs::weakly_canonical(line, ec);
        loaded.insert(ec ? line : canonical.string());
    }
    std::vector<std::string> out;
    for (const auto& m : mex) {
        auto canonical = fs::weakly_canonical(m, ec);
        if (loaded.count(ec ? m.string() : canonical.string()) == 0) {
            out.push_back(relative_generic(m, dir));
        }
    }
    return out;
}

}  // namespace mip::detail
