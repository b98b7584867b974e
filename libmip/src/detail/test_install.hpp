#pragma once
// Private (tester.hpp): installing a bundle into a temporary root the way a client does, and
// finding its dependencies among the bundles of the same run. One small function per archive
// format: `install_r2` (load_package.m) and `install_current` (mip.json `paths`, package under
// `<name>/`), chosen by `install_package`.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <mip/package_spec.hpp>

namespace mip::detail {

/// The archive formats a client can install.
enum class ArchiveFormat {
    r2,       ///< R2-era: mip.json, load_package.m, unload_package.m at the archive root
    current,  ///< today's client: mip.json at the root, the package under `<name>/`
};

/// One package installed under a test root.
struct InstalledPackage {
    std::string name;
    std::filesystem::path dir;          ///< where its files are (test_script is looked up here)
    std::filesystem::path archive_dir;  ///< where the archive was extracted (entry names)
    std::string load;                   ///< the MATLAB statement that loads it, as the client does
    std::string mip_json;               ///< the archived mip.json text
    ArchiveFormat format = ArchiveFormat::r2;
};

/// What a bundle's file name (or flat store key) says: package name, platform tag (R2) or
/// architecture (current), and format.
struct BundleId {
    std::string name;
    std::string tag;
    ArchiveFormat format = ArchiveFormat::r2;
};

/// nullopt when `file` is no `<wheel>.mhl` (R2) nor `<name>-<version>-<arch>.mhl` (current).
[[nodiscard]] std::optional<BundleId> bundle_id(const std::string& file);

/// A sidecar or archived mip.json of `format`, read as the uploader reads it (`checked`:
/// validated too). SpecError naming `origin`.
[[nodiscard]] PackageSpec read_bundle_spec(const std::string& text,
                                           const std::string& origin,
                                           ArchiveFormat format,
                                           bool checked = false);

/// The package a dependency names: `name`, or `owner/channel/name` (current format).
[[nodiscard]] std::string dependency_name(const std::string& dependency);

/// The format of `mhl` from its entry names. Throws ArchiveError for an unknown layout.
[[nodiscard]] ArchiveFormat detect_format(const std::filesystem::path& mhl);

/// R2-era client: extract into `<root>/packages/<name>/`; load = run its `load_package.m`.
[[nodiscard]] InstalledPackage install_r2(const std::filesystem::path& mhl,
                                          const std::filesystem::path& root,
                                          const std::string& name);

/// Today's client (spec mip-current §6): extract into
/// `<root>/packages/gh/mip-build/test/<name>/`; load = `addpath` of each mip.json `paths` entry
/// under `<name>/` (`.` when there is none).
[[nodiscard]] InstalledPackage install_current(const std::filesystem::path& mhl,
                                               const std::filesystem::path& root,
                                               const std::string& name);

/// Installs `mhl` (package `name`) under `root` in its format's client layout.
[[nodiscard]] InstalledPackage install_package(const std::filesystem::path& mhl,
                                               const std::filesystem::path& root,
                                               const std::string& name);

/// The bundles `name` needs, dependencies first (recursively, cycle-checked), chosen among the
/// `.mhl` files of `dirs` (an earlier directory wins: the run's bundles, then those fetched from
/// the store) as a client chooses: by name (compared as clients do), platform tag `host_tag`
/// first, then `any`. Each dependency's list comes from its sidecar. Throws SpecError naming
/// the missing dependency (and who needs it) or the cycle.
[[nodiscard]] std::vector<std::filesystem::path> resolve_dependencies(
    const std::vector<std::string>& dependencies,
    const std::vector<std::filesystem::path>& dirs,
    const std::string& host_tag,
    const std::string& needed_by);

/// Normalised names of the packages bundled in `dir`.
[[nodiscard]] std::vector<std::string> bundled_names(const std::filesystem::path& dir);

/// A MATLAB single-quoted string literal of `text` (`'` doubled).
[[nodiscard]] std::string matlab_quote(const std::string& text);

}  // namespace mip::detail
