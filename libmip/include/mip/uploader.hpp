#pragma once
/// \file uploader.hpp
/// `Uploader`: publishes bundled packages (`<wheel>.mhl` + `<wheel>.mhl.mip.json`, as the
/// `Bundler` writes them) into a `Store`, in the order that keeps readers safe (mip-format §8.2):
/// per package the write-once content-addressed `sha256/<hex>/<wheel>.mhl`, then (only where
/// needed, below) the flat `<wheel>.mhl` as a server-side copy, then the sidecar naming its final
/// `mhl_url`.
///
/// The flat copy is written when the store already holds a flat `<wheel>.mhl` key (the reference
/// layout, or an earlier upload that wrote them; seen in the listing the skip check makes anyway,
/// so deciding costs no request) or with `flat_copy`. A new store gets two requests per package.
/// Under `flat_urls` the flat name is the bundle itself, uploaded directly.
///
/// Before writing it skips what is already published: packages whose published sidecar has the
/// same digest, `mhl_url` and cached metadata (for more than 32 packages one listing decides,
/// an ETag equal to the sidecar's MD5 proving it byte-identical without a read). Every bundle is
/// re-hashed (on all cores) and must still match its sidecar. Packages compiled with GNU Octave
/// are refused for an S3 store unless `allow_octave_builds`.
///
/// **Example**
/// ```cpp
/// auto store = mip::open_store("s3://bucket/core/packages");
/// mip::Uploader uploader(*store, {.input_dir = "build/bundled"},
///                        {.base_url = "https://pkgs.example.org/core/packages", .jobs = 4});
/// mip::StageReport report = uploader.upload();
/// ```
///
/// Thread-safety: one `upload()` at a time per Uploader (and per store). Progress events (stage
/// "upload:check", then "upload") run on the calling thread; the logger may be called from
/// worker threads.

#include <filesystem>

#include <mip/report.hpp>
#include <mip/run_options.hpp>
#include <mip/store.hpp>

namespace mip {

/// What only the upload reads; the rest (`base_url`, `flat_urls`, `max_in_flight`, selection,
/// `dry_run`, `keep_going`, progress) comes from `RunOptions`.
struct UploadOptions {
    /// `--input-dir`: the bundled `.mhl` files and their sidecars.
    std::filesystem::path input_dir = "build/bundled";
    /// `--allow-overwrite`: with `flat_urls`, replace a published `.mhl` with other bytes.
    bool allow_overwrite = false;
    /// `--allow-octave-builds`: upload packages compiled with GNU Octave to an S3 store.
    bool allow_octave_builds = false;
    /// `--flat-copy`: also write the flat `<wheel>.mhl` (a server-side copy of the
    /// content-addressed bundle) into a store that holds no flat keys yet. Without it the copy is
    /// made only where the store's listing shows a flat `.mhl` key.
    bool flat_copy = false;
};

class Uploader {
public:
    /// `store` must outlive the Uploader.
    Uploader(Store& store, UploadOptions options = {}, RunOptions run = {});

    /// Uploads every selected bundle of `input_dir` (`RunOptions::package` and `shard`); a
    /// missing `input_dir` is nothing to upload. Per item: `done` (uploaded; `path` = the
    /// `mhl_url`, and the local sidecar is rewritten to match what was published), `skipped`
    /// ("unchanged in <store>"), `planned` (dry run), `failed` (a missing or mismatched sidecar:
    /// `invalid_spec`; an Octave build to S3: `build_failed`; with `flat_urls`, other bytes
    /// already published: `remote`; a store error: its code). Without `keep_going` nothing is
    /// written once an item failed.
    ///
    /// Throws `SpecError` for an unusable base URL (missing, plain http, not https for S3), and
    /// rethrows what the progress callback throws (after in-flight requests were cancelled).
    [[nodiscard]] StageReport upload();

    [[nodiscard]] const UploadOptions& options() const noexcept { return options_; }
    [[nodiscard]] const RunOptions& run_options() const noexcept { return run_; }

private:
    Store& store_;
    UploadOptions options_;
    RunOptions run_;
};

}  // namespace mip
