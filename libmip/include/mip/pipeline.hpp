#pragma once
/// \file pipeline.hpp
/// Verb-level calls shared by `mip-build` and `mip_native`: each verb of the CLI is one function
/// here, taking `PipelineOptions` and returning a report. The stages share only directories under
/// `build_dir` and the store.
///
/// Directory layout (defaults): `<build_dir>/prepared/` (.dir/.work), `<build_dir>/bundled/`
/// (.mhl + sidecars), `<build_dir>/gh-pages/` (index.json, packages.html), `<build_dir>/cache/`,
/// and the local store `<build_dir>/store/` when no `--store` is given.
///
/// The reports are regular values (`to_json` throws only `std::bad_alloc`).
///
/// Thread-safety: the `run_*` functions share nothing between calls; two calls at once are safe
/// when their `build_dir`s differ (a store may be shared: writes are atomic per object). The
/// options' logger and progress callbacks run as each service documents.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <mip/bundler.hpp>
#include <mip/compiler.hpp>
#include <mip/index_assembler.hpp>
#include <mip/preparer.hpp>
#include <mip/report.hpp>
#include <mip/run_options.hpp>
#include <mip/store.hpp>
#include <mip/tester.hpp>
#include <mip/uploader.hpp>

namespace mip {

/// The options of every verb: the shared block (`run`), one options struct per service, and
/// the two things only the pipeline reads (`build_dir`, `store`). Each service is handed its
/// own struct and `run` as they are: nothing is copied from one struct into another.
///
/// Every `mip-build` flag is one field here, spelled like the flag (`--max-in-flight` is
/// `run.max_in_flight`, `--engine` is `compile.engine`); `mip_native` binds the same names.
/// Directories left "" are filled in by `resolved()`: under `build_dir`, or from the stage
/// before (compile and bundle read what prepare wrote; upload reads what bundle wrote).
///
/// **Example**
/// ```cpp
/// auto o = mip::PipelineOptions::from_environment();
/// o.build_dir = "build";
/// o.store = "s3://bucket/core/packages";
/// o.run.base_url = "https://pkgs.example.org/core/packages";
/// o.compile.engine = "octave";
/// o.upload.allow_octave_builds = true;
/// mip::PublishReport report = mip::run_publish(o);
/// ```
struct PipelineOptions {
    /// `--build-dir`: root of prepared/, bundled/, gh-pages/, cache/ and the default store/.
    std::filesystem::path build_dir = "build";
    /// `--store`: store URL (a directory, `file:///dir` or `s3://bucket/prefix`);
    /// "" = `<build_dir>/store`.
    std::string store;
    /// The shared block. `jobs` defaults to 0 here: one item per core.
    RunOptions run{.jobs = 0};
    PrepareOptions prepare{.output_dir = {}, .cache_dir = {}};
    CompileOptions compile{.input_dir = {}};
    BundleOptions bundle{.input_dir = {}, .output_dir = {}};
    TestOptions tester{.input_dir = {}, .work_dir = {}};
    UploadOptions upload{.input_dir = {}};
    IndexOptions index{.output_dir = {}};
    StoreOptions store_options;

    /// Defaults overridden from `BUILD_TYPE` (prepare.build_type), `SOURCE_DATE_EPOCH`
    /// (run.source_date_epoch), `MIP_STORE` (store), `MIP_BASE_URL` (run.base_url),
    /// `MIP_PLATFORM_TAG` (prepare.platform_tag_override), `MIP_SOURCE_MIRRORS`
    /// (prepare.source_mirror). Throws `SpecError` on a malformed `SOURCE_DATE_EPOCH` or
    /// `MIP_SOURCE_MIRRORS`.
    [[nodiscard]] static PipelineOptions from_environment();

    /// A copy with every "" directory and the store filled in: `prepare.output_dir` =
    /// `<build_dir>/prepared`, `prepare.cache_dir` = `<build_dir>/cache`, `compile.input_dir`
    /// and `bundle.input_dir` = `prepare.output_dir`, `bundle.output_dir` =
    /// `<build_dir>/bundled`, `tester.input_dir` and `upload.input_dir` = `bundle.output_dir`,
    /// `tester.work_dir` = `prepare.output_dir`, `index.cache_dir` =
    /// `<build_dir>/cache/index`, `index.output_dir` = `<build_dir>/gh-pages`, `store` =
    /// `<build_dir>/store` (absolute). The `run_*` functions call it first.
    [[nodiscard]] PipelineOptions resolved() const;
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
    std::string sidecar_source;  ///< "listing" or "manifest" (`IndexResult::sidecar_source`)
    [[nodiscard]] std::string to_json() const;
};

struct PublishReport {
    std::vector<StageReport> stages;   ///< prepare, compile, bundle, test (unless skipped), upload
    std::optional<IndexReport> index;  ///< nullopt when a stage failed (the old index stays)
    [[nodiscard]] bool ok() const;
    [[nodiscard]] std::string to_json() const;
};

/// The verbs. Each resolves the options, opens the store when it needs one, calls its service
/// (`Preparer::prepare`, `Compiler::compile`, `Bundler::bundle_all`, `Uploader::upload`,
/// `IndexAssembler::assemble` + `write`) and returns its report; they throw what the service
/// throws (see each), and `SpecError`/`AuthError` when the store cannot be opened. Progress and
/// logs go to `run.progress` / `run.logger` as the service says. One call at a time per
/// options' store; the functions themselves keep no state.
///
/// `run_prepare` reads published sidecars from the store for its cache check (not with
/// `prepare.force`).
[[nodiscard]] StageReport run_prepare(const PipelineOptions& options);
[[nodiscard]] StageReport run_compile(const PipelineOptions& options);
[[nodiscard]] StageReport run_bundle(const PipelineOptions& options);
/// `Tester::test` over `tester.input_dir` (always tests: `tester.test` is read by publish only).
[[nodiscard]] StageReport run_test(const PipelineOptions& options);
/// Per package: the content-addressed `sha256/<hex>/<wheel>.mhl` (create-only), the flat
/// `<wheel>.mhl` (where the store holds flat names, or `upload.flat_copy`), then the sidecar with
/// the final `mhl_url`. Packages whose published sidecar
/// already has the same digest and metadata are skipped.
[[nodiscard]] StageReport run_upload(const PipelineOptions& options);
/// Assembles the index from the store and writes it into `index.output_dir` (not on a dry run).
[[nodiscard]] IndexReport run_index(const PipelineOptions& options);
/// prepare → compile → bundle → test → upload → index, over one store; the index only after
/// every upload succeeded (a failed stage leaves the previous index valid). Stops after a failed
/// stage unless `run.keep_going`. The test stage runs unless `tester.test` is `skip`; with
/// `keep_going`, a package whose test failed is refused by the upload (its marker), the others
/// are uploaded.
[[nodiscard]] PublishReport run_publish(const PipelineOptions& options);

/// libmip's version string ("0.1.0").
[[nodiscard]] const char* version() noexcept;

}  // namespace mip
