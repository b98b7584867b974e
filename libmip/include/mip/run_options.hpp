#pragma once
/// \file run_options.hpp
/// `RunOptions`: the shared block of options. Every service (`Preparer`, `Compiler`, `Bundler`,
/// `Uploader`, `IndexAssembler`, `open_store`) takes its own options struct for what only it
/// reads, plus one `RunOptions` for what several read: which packages, how many at once, the
/// publishing facts every stage must agree on, and how to report. `PipelineOptions` holds one
/// `RunOptions` and one struct per service, so no value is ever copied from one to another.
///
/// Each field is spelled like its `mip-build` flag (`--keep-going` is `keep_going`) in C++ and
/// in Python (`mip_native.RunOptions`); `docs/architecture.md` says how to add one.
///
/// **Example**
/// ```cpp
/// mip::RunOptions run{.package = {"mathutils"}, .jobs = 4, .keep_going = true};
/// mip::Compiler compiler({.engine = "octave"}, run);
/// ```
///
/// A plain value: copy it freely. The callbacks it holds are called as each service documents
/// (progress on the calling thread; the logger from any thread, serialised).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <mip/log.hpp>
#include <mip/progress.hpp>
#include <mip/shard.hpp>

namespace mip {

struct RunOptions {
    /// `--package` (repeatable): only these packages (a recipe directory's name also selects
    /// its builds in prepare); empty = all.
    std::vector<std::string> package;
    /// `--shard K/N`: only the packages of this shard.
    std::optional<Shard> shard;
    /// `-j/--jobs`: items worked on at once; 0 = the number of cores.
    unsigned jobs = 1;
    /// `--keep-going`: carry on after a failed item and report every failure.
    bool keep_going = false;
    /// `--dry-run`: decide and report (items `planned`); change nothing.
    bool dry_run = false;
    /// `--source-date-epoch`: the fixed time of reproducible output (prepare: build epoch,
    /// bundle: archive entry times, index: `last_updated`); nullopt = derive it.
    std::optional<std::int64_t> source_date_epoch;
    /// `--base-url`: public URL of the store prefix (`mhl_url`s, the cache check over HTTP);
    /// "" = the store's default.
    std::string base_url;
    /// `--flat-urls`: `mhl_url = <base>/<wheel>.mhl` instead of the content-addressed key.
    bool flat_urls = false;
    /// `--format`: the output format, `r2` (the R2-era archives, load_package.m at the root) or
    /// `mip` (today's client: mip.json + `<name>/`, `<name>-<version>-<architecture>.mhl`;
    /// docs/current-format.md). The recipe describes the content, the format the packaging.
    std::string format = "r2";
    /// `--max-in-flight`: network requests in flight at once (1–256).
    std::size_t max_in_flight = 32;
    /// `--ca-file`: CA bundle for TLS verification ("" = the system's).
    std::string ca_file;
    /// Environment for recipes, compile engines and CI detection; nullopt = this process's.
    std::optional<std::map<std::string, std::string>> environment;
    /// `--pass-env NAME` (repeatable): further variables of `environment` that recipe processes
    /// (prescripts, Python recipes) and compile engines see, besides the fixed pass-through
    /// names. The Preparer refuses credential and invalid names (`SpecError`).
    std::vector<std::string> pass_env;
    Logger logger;
    ProgressCallback progress;
    std::chrono::milliseconds progress_interval = default_progress_interval;

    /// `jobs`, with 0 resolved to the number of cores (at least 1).
    [[nodiscard]] unsigned effective_jobs() const noexcept;
};

/// Largest `source_date_epoch`: 2107-12-31T23:59:58Z, the last time a ZIP entry can hold.
inline constexpr std::int64_t max_source_date_epoch = 4354819198;

/// The one check of a `source_date_epoch` (the `--source-date-epoch` flag and the
/// SOURCE_DATE_EPOCH variable): 0 ≤ value ≤ `max_source_date_epoch` (times before 1980 are
/// written as 1980-01-01 in archives). Returns `value`; throws SpecError naming `origin`.
std::int64_t checked_source_date_epoch(std::int64_t value, const std::string& origin);

}  // namespace mip
