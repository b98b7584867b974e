#pragma once
/// \file bundler.hpp
/// `Bundler`: zips a prepared `<wheel>.dir` into a deterministic `<wheel>.mhl` (libmip's own zip
/// writer, deflating with libdeflate 1.14) and writes the sidecar `<wheel>.mhl.mip.json`
/// (mip.json + mhl_sha256 + mhl_size [+ mhl_url]).
///
/// Determinism: same dir + same epoch + same libmip → same bytes. Entries sorted by UTF-8 bytes;
/// every DOS time is the epoch (`source_date_epoch`, else mip.json
/// `build_info.source_date_epoch`, else 1980-01-01), clamped to 1980–2107 and rounded down to
/// even seconds; version made by 0x0314, needed 20; modes 0644/0755; no extra fields, comments,
/// data descriptors or ZIP64; libdeflate level 6 (never the system zlib), an entry stored when
/// empty or when deflate would not make it smaller; the archived mip.json has volatile fields
/// neutralised (timestamp = epoch, durations 0, host-dependent build info null).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <mip/report.hpp>
#include <mip/run_options.hpp>

namespace mip {

/// What only bundling reads. From `RunOptions`: `source_date_epoch` (overrides the mip.json
/// epoch), `base_url` (the sidecar's `mhl_url`; "" = leave it unset until upload), `flat_urls`,
/// the logger; `bundle_all()` also uses the selection, `jobs`, `dry_run`, `keep_going` and
/// progress.
struct BundleOptions {
    /// `--input-dir`: the prepared `<wheel>.dir` directories (`bundle_all()`).
    std::filesystem::path input_dir = "build/prepared";
    /// `--output-dir`: where `.mhl` files and sidecars go (`bundle_all()`).
    std::filesystem::path output_dir = "build/bundled";
    /// `--compression-level`: 0 = store, 1–9 deflate (libdeflate).
    int compression_level = 6;
};

struct BundleResult {
    std::string wheel;
    std::filesystem::path mhl_path;
    std::filesystem::path sidecar_path;
    std::string sha256;  ///< hex
    std::uint64_t size = 0;
    std::uint64_t entries = 0;
    bool operator==(const BundleResult&) const = default;
};

/// **Example**
/// ```cpp
/// mip::Bundler bundler({.compression_level = 9}, {.source_date_epoch = 1700000000});
/// mip::BundleResult r = bundler.bundle("build/prepared/foo-1.0-any-none-any.dir", "out");
/// ```
///
/// Thread-safety: `bundle()` is const and may run on several threads at once (different
/// directories); `bundle_all()` does so itself.
class Bundler {
public:
    explicit Bundler(BundleOptions options = {}, RunOptions run = {});

    /// Bundles `dir` (a `<wheel>.dir`) into `output_dir`. Throws `SpecError` (bad mip.json or a
    /// dir name that does not match it), `ArchiveError` (symlink leaving the dir, too many
    /// entries or bytes for a non-ZIP64 archive, unsafe names), `IoError`. Writes under temp
    /// names, reads the archive back and checks it, then renames; the sidecar comes last.
    /// A compile failure marker (`<wheel>.work/compile.failed`) makes it refuse.
    [[nodiscard]] BundleResult bundle(const std::filesystem::path& dir,
                                      const std::filesystem::path& output_dir) const;

    /// `mip-build bundle`: every selected `<wheel>.dir` of `input_dir` into `output_dir`, `jobs`
    /// at once, sorted by name. Per item: `done` (`path` = the .mhl), `planned` (dry run),
    /// `failed` (what `bundle()` threw), `skipped` ("not run: an earlier package failed",
    /// unless `keep_going`). A missing `input_dir` is nothing to bundle. Throws only what the
    /// progress callback throws (stage "bundle", on the calling thread).
    [[nodiscard]] StageReport bundle_all() const;

    [[nodiscard]] const BundleOptions& options() const noexcept { return options_; }
    [[nodiscard]] const RunOptions& run_options() const noexcept { return run_; }

    /// The `mhl_url` for a wheel with this digest under `base_url`.
    [[nodiscard]] static std::string mhl_url(const std::string& base_url,
                                             const std::string& wheel,
                                             const std::string& sha256,
                                             bool flat_urls);

private:
    BundleOptions options_;
    RunOptions run_;
};

/// Zip epoch clamp: [1980-01-01, 2107-12-31T23:59:58Z], rounded down to even seconds.
[[nodiscard]] std::int64_t clamp_zip_epoch(std::int64_t epoch) noexcept;

}  // namespace mip
