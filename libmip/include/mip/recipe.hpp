#pragma once
/// \file recipe.hpp
/// Recipe kinds are pluggable: a `RecipeKind` recognises one file name in a recipe directory
/// (`prepare.yaml`, `package.py`, `packages.py`) and turns it into `RecipeBuild`s, one per
/// package build. The Preparer owns the common steps (cache check, work area, atomic `.dir`,
/// mip.json); a RecipeBuild only fills the directory.
///
/// **Example** (a kind of one's own, registered with `Preparer::add_recipe_kind`)
/// ```cpp
/// class TomlKind : public mip::RecipeKind {
///     std::string file_name() const override { return "recipe.toml"; }
///     std::vector<std::unique_ptr<mip::RecipeBuild>> load(
///         const mip::RecipeContext& ctx) const override;  // throws SpecError naming the file
/// };
/// preparer.add_recipe_kind(std::make_shared<TomlKind>());
/// ```
///
/// Thread-safety: `RecipeKind::load` runs on the Preparer's calling thread, one recipe at a
/// time; each `RecipeBuild` is then used by one worker thread only (resolve, then build).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mip/archive_limits.hpp>
#include <mip/log.hpp>
#include <mip/package_spec.hpp>
#include <mip/source_mirror.hpp>

namespace mip {

/// What a recipe kind knows when it loads a recipe.
struct RecipeContext {
    std::filesystem::path recipe_dir;  ///< absolute
    std::string build_type = "standard";
    std::string host_platform_tag;    ///< §2 tag of this host ("linux_x86_64")
    std::filesystem::path cache_dir;  ///< downloads and git mirrors shared between runs
    /// The environment recipes may see (`script_env` values are read from here).
    std::map<std::string, std::string> environment;
    Logger logger;
    /// `--pass-env`: further variable names recipe code may see (credentials are refused).
    std::vector<std::string> pass_env;
};

/// What a build knows while it runs.
struct BuildContext {
    std::filesystem::path recipe_dir;  ///< absolute
    std::filesystem::path dir;         ///< absolute, empty directory to fill (becomes `<W>.dir`)
    std::filesystem::path work_dir;    ///< absolute `<W>.work/` (logs, downloads, clones)
    std::filesystem::path cache_dir;
    std::string build_type = "standard";
    std::map<std::string, std::string> environment;
    std::uint32_t timeout_seconds = 3600;
    Logger logger;
    /// CA bundle for TLS verification of downloads ("" = the system's).
    std::string ca_file;
    /// Becomes true when the caller cancels (Ctrl-C): child processes must be killed.
    const std::atomic<bool>* cancel = nullptr;
    /// `--source-mirror`: prefix rewrites applied to every URL the build fetches from.
    std::vector<SourceMirror> source_mirrors;
    /// `--pass-env`: further variable names recipe code may see (credentials are refused).
    std::vector<std::string> pass_env;
    /// The recipe directory as found under `--recipes` (`recipe_dir` may be its copy in the work
    /// area); a `prepare.path` source that leaves the recipe directory resolves against it.
    std::filesystem::path original_recipe_dir;
    /// How much a source download and its extraction may take (`--max-download-mib`...).
    ArchiveLimits archive_limits;
    /// `--require-https`: a plain `http://` source URL (as written or from a mirror) is refused.
    bool require_https = false;
};

/// One package build of a recipe.
class RecipeBuild {
public:
    RecipeBuild() = default;
    virtual ~RecipeBuild() = default;
    RecipeBuild(const RecipeBuild&) = delete;  // polymorphic: held by pointer, never sliced
    RecipeBuild& operator=(const RecipeBuild&) = delete;
    RecipeBuild(RecipeBuild&&) = delete;
    RecipeBuild& operator=(RecipeBuild&&) = delete;
    /// Metadata known before building (name, version, tags, dependencies...).
    [[nodiscard]] virtual const PackageSpec& spec() const = 0;
    /// Pins the sources (resolves git commits, hashes archives and paths) and records them in
    /// `spec().source_json`, so the cache check can see upstream changes. Called before the
    /// cache check; may fetch into `ctx.cache_dir`/`ctx.work_dir`. Default: nothing to pin.
    virtual void resolve(const BuildContext& ctx) { (void)ctx; }
    /// True when `resolve()` pins every source, so the cache check is exact before building.
    [[nodiscard]] virtual bool pinned_before_build() const { return true; }
    /// Fills `ctx.dir` (sources, load/unload scripts, compile script) and completes the spec
    /// (`exposed_symbols`, `source_json`). Throws on failure; the Preparer removes the dir.
    virtual void build(const BuildContext& ctx) = 0;
    /// The spec after `build()`.
    [[nodiscard]] virtual PackageSpec& mutable_spec() = 0;
    /// Names of the environment variables the build declares (`script_env`), in order.
    [[nodiscard]] virtual std::vector<std::string> script_env() const { return {}; }
    /// Unix time of the pinned sources (newest git commit time), when known after `resolve()`;
    /// used for `SOURCE_DATE_EPOCH` when none is given.
    [[nodiscard]] virtual std::optional<std::int64_t> source_epoch() const { return std::nullopt; }
    /// The fetches that went through a source mirror (after `resolve()`/`build()`), in order.
    [[nodiscard]] virtual std::vector<MirroredFetch> mirrored_fetches() const { return {}; }
    /// True when builds of one package differ by version within one run (a channel tree's
    /// releases): the work area's name then holds the version too.
    [[nodiscard]] virtual bool versioned_work_area() const { return false; }
};

class RecipeKind {
public:
    RecipeKind() = default;
    virtual ~RecipeKind() = default;
    RecipeKind(const RecipeKind&) = delete;  // polymorphic: held by pointer, never sliced
    RecipeKind& operator=(const RecipeKind&) = delete;
    RecipeKind(RecipeKind&&) = delete;
    RecipeKind& operator=(RecipeKind&&) = delete;
    /// The file that marks this kind, e.g. "prepare.yaml".
    [[nodiscard]] virtual std::string file_name() const = 0;
    /// Loads the recipe in `ctx.recipe_dir`; returns the builds whose build type matches (none
    /// matching is not an error). Throws `SpecError` naming the file and fields.
    [[nodiscard]] virtual std::vector<std::unique_ptr<RecipeBuild>> load(
        const RecipeContext& ctx) const = 0;
};

/// The declarative `prepare.yaml` kind, built in.
[[nodiscard]] std::shared_ptr<RecipeKind> make_yaml_recipe_kind();

/// The channel tree (`packages/<name>/<release>/mip.yaml` + `source.yaml` + overlay files, spec
/// mip-current §1), built in: the recipe directory is a release folder; `--recipes` names the
/// folder holding the `<name>/` folders (docs/current-format.md).
[[nodiscard]] std::shared_ptr<RecipeKind> make_channel_recipe_kind();

/// Python recipes (`package.py`, `packages.py`), run in a worker interpreter (one process per
/// recipe file): see docs/recipes.md.
struct PythonRecipeOptions {
    std::string python = "python3";  ///< interpreter to run the worker with
    /// Prepended to PYTHONPATH so `mip_native`/`mip_build_helpers` import ("" = unchanged).
    std::string python_path;
};
[[nodiscard]] std::shared_ptr<RecipeKind> make_python_recipe_kind(PythonRecipeOptions options = {});
/// The `packages.py` kind (a `packages` list, gated on BUILD_TYPE), same worker.
[[nodiscard]] std::shared_ptr<RecipeKind> make_python_packages_recipe_kind(
    PythonRecipeOptions options = {});

/// The host's platform tag (§2): `linux_x86_64`, `linux_aarch64`, `macos_arm64`, ...
/// `override_tag` (e.g. from `MIP_PLATFORM_TAG`) wins when non-empty. Throws `SpecError` on an
/// unsupported host.
[[nodiscard]] std::string host_platform_tag(const std::string& override_tag = "");

}  // namespace mip
