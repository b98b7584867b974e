#pragma once
// Private: what today's mip client (mip-org/mip, spec mip-current) expects of a current-format
// package, in one place: the archive's file name, where a package's files sit inside it and
// after installing, its mip.json, how the client picks a version and an architecture. The
// bundler's current layout (package_layout.cpp) and the tests' client (tests/python/
// current_client.py) follow it; a test stage that installs current-format archives should too.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <mip/package_spec.hpp>

#include "detail/json.hpp"

namespace mip::detail {

/// `<name with - as _>-<version>-<architecture>` (spec §2); the archive is this + `.mhl`.
[[nodiscard]] std::string current_archive_stem(const std::string& name,
                                               const std::string& version,
                                               const std::string& architecture);

/// The archive entry of a package file (`rel`, relative to the source root): `<name>/<rel>`.
[[nodiscard]] std::string current_entry_name(const std::string& name, const std::string& rel);

/// Where the client extracts an archive: `<root>/packages/gh/<owner>/<channel>/<name>/`; a path
/// `p` of mip.json is then `<that>/<name>/<p>` (`.` = `<that>/<name>`) (spec §6).
[[nodiscard]] std::filesystem::path current_install_dir(const std::filesystem::path& root,
                                                        const std::string& owner,
                                                        const std::string& channel,
                                                        const std::string& name);
[[nodiscard]] std::filesystem::path current_path_dir(const std::filesystem::path& install_dir,
                                                     const std::string& name,
                                                     const std::string& path);

/// The architecture of a prepared build: its platform tag (`any` for pure MATLAB).
[[nodiscard]] std::string current_architecture(const PackageSpec& spec);

/// The `paths` of a prepared build, relative to its source root: the recorded `paths` field
/// (channel and prepare.yaml recipes), else the `addpath` lines of a generated load_package.m.
/// SpecError naming the package when neither is there (a hand-written load_package.m).
[[nodiscard]] std::vector<std::string> current_paths(const PackageSpec& spec,
                                                     const std::filesystem::path& prepared_dir);

/// mip.json of the current format (spec §3), key order fixed; `timestamp` as given (the one
/// timestamp of archive, sidecar and index).
[[nodiscard]] Json current_mip_json(const PackageSpec& spec,
                                    const std::vector<std::string>& paths,
                                    const std::string& timestamp);

/// The client's version order: numeric versions (digits and dots) compare part by part as
/// integers; negative when `a` sorts before `b`.
[[nodiscard]] int compare_versions(const std::string& a, const std::string& b);

}  // namespace mip::detail
