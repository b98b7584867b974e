#pragma once
/// \file pipeline.hpp
/// Verb-level calls shared by `mip-build` and `mip_native`: each verb of the CLI is one function
/// here, taking `PipelineOptions` and returning a report. The stages share only directories under
/// `build_dir` and the store.
///
/// Directory layout (defaults): `<build_dir>/prepared/` (.dir/.work), `<build_dir>/bundled/`
/// (.mhl + sidecars), `<build_dir>/gh-pages/` (index.json, packages.html), `<build_dir>/cache/`,
/// and the local store `<build_dir>/store/` when no `--store` is given.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <mip/index_assembler.hpp>
#include <mip/log.hpp>
#include <mip/progress.hpp>
#include <mip/recipe.hpp>
#include <mip/report.hpp>
#include <mip/shard.hpp>
#include <mip/source_mirror.hpp>

namespace mip {

struct PipelineOptions {
    std::filesystem::path recipes_dir = "packages";
    std::filesystem::path build_dir = "build";
    std::filesystem::path prepared_dir;  ///< "" = <build_dir>/prepared
    std::filesystem::path bundled_dir;   ///< "" = <build_dir>/bundled
    std::filesystem::path index_dir;     ///< "" = <build_dir>/gh-pages
    std::string store;                   ///< store URL; "" = <build_dir>/store (a local directory)
    std::string base_url;  ///< public URL of the store prefix; "" = the store's default
    std::vector<std::string> packages;
    bool dry_run = false;
    bool force = false;
    bool keep_going = false;
    bool strict = false;
    bool verify = false;
    bool flat_urls = false;
    bool allow_overwrite = false;      ///< with flat URLs: replace a .mhl with other bytes
    bool allow_octave_builds = false;  ///< upload Octave-built MEX packages to S3
    unsigned jobs = 0;                 ///< 0 = number of cores
    std::size_t max_in_flight = 32;
    std::optional<Shard> shard;
    std::string build_type = "standard";
    std::optional<std::int64_t> source_date_epoch;
    std::string platform_tag_override;
    std::string engine = "auto";
    std::uint32_t compile_timeout_seconds = 3600;
    /// Extra variable names recipe processes (prepare) and the compile engine may see.
    std::vector<std::string> pass_env;
    std::uint32_t recipe_timeout_seconds = 3600;
    std::string endpoint;                  ///< S3 endpoint override
    bool allow_insecure_loopback = false;  ///< S3: plain http to 127.0.0.1 (tests)
    std::string ca_file;
    PythonRecipeOptions python;
    // Reproducible preparation (prepare-stages.md): see PrepareOptions.
    std::string tag_prefix;                 ///< --tag-prefix
    int abbrev = 12;                        ///< --abbrev
    std::filesystem::path from_lock;        ///< --from-lock
    std::filesystem::path lock_recipe_dir;  ///< RECIPE_DIR with --from-lock
    bool strict_toolchain = false;          ///< --strict-toolchain
    /// --source-mirror FROM=TO (and MIP_SOURCE_MIRRORS): see PrepareOptions::source_mirrors.
    std::vector<SourceMirror> source_mirrors;
    /// nullopt = this process's environment.
    std::optional<std::map<std::string, std::string>> environment;
    Logger logger;
    ProgressCallback progress;
    std::chrono::milliseconds progress_interval = default_progress_interval;

    /// Defaults overridden from `BUILD_TYPE`, `SOURCE_DATE_EPOCH`, `MIP_STORE`, `MIP_BASE_URL`,
    /// `MIP_PLATFORM_TAG`, `MIP_SOURCE_MIRRORS`. Throws `SpecError` on a malformed
    /// `SOURCE_DATE_EPOCH` or `MIP_SOURCE_MIRRORS`.
    [[nodiscard]] static PipelineOptions from_environment();

    [[nodiscard]] std::filesystem::path prepared() const;
    [[nodiscard]] std::filesystem::path bundled() const;
    [[nodiscard]] std::filesystem::path index_output() const;
    [[nodiscard]] std::string store_url() const;
    [[nodiscard]] unsigned effective_jobs() const;
};

/// Result of `index` (and the last step of `publish`).
struct IndexReport {
    bool written = false;  ///< false for a dry run
    std::filesystem::path index_json;
    std::filesystem::path packages_html;
    std::size_t total_packages = 0;
    std::vector<SkippedSidecar> skipped;
    std::vector<std::string> warnings;
    std::size_t sidecars_downloaded = 0;
    [[nodiscard]] std::string to_json() const;
};

struct PublishReport {
    std::vector<StageReport> stages;   ///< prepare, compile, bundle, upload
    std::optional<IndexReport> index;  ///< nullopt when a stage failed (the old index stays)
    [[nodiscard]] bool ok() const;
    [[nodiscard]] std::string to_json() const;
};

[[nodiscard]] StageReport run_prepare(const PipelineOptions& options);
[[nodiscard]] StageReport run_compile(const PipelineOptions& options);
[[nodiscard]] StageReport run_bundle(const PipelineOptions& options);
/// Per package: the content-addressed `sha256/<hex>/<wheel>.mhl` (create-only), the flat
/// `<wheel>.mhl`, then the sidecar with the final `mhl_url`. Packages whose published sidecar
/// already has the same digest and metadata are skipped.
[[nodiscard]] StageReport run_upload(const PipelineOptions& options);
[[nodiscard]] IndexReport run_index(const PipelineOptions& options);
/// prepare → compile → bundle → upload → index; the index only after every upload succeeded.
[[nodiscard]] PublishReport run_publish(const PipelineOptions& options);

/// libmip's version string ("0.1.0").
[[nodiscard]] const char* version() noexcept;

}  // namespace mip
