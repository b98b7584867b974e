// Uploader (uploader.hpp): bundles and sidecars into a store. One upload() is an UploadRun:
// collect the bundles and start re-checking their digests on worker threads, skip what is
// published (the store listing overlaps the hashing), then write each package's chain
// (content-addressed bundle, the flat copy where the store keeps flat names, sidecar) the
// moment its bundle is verified, while later bundles are still being hashed.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <mip/bundler.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>
#include <mip/tester.hpp>
#include <mip/uploader.hpp>

#include "detail/base_url.hpp"
#include "detail/bundle_verifier.hpp"
#include "detail/crypto.hpp"
#include "detail/failure.hpp"
#include "detail/fs.hpp"
#include "detail/index_manifest.hpp"
#include "detail/json.hpp"
#include "detail/package_layout.hpp"
#include "detail/zip_reader.hpp"

namespace mip {

namespace fs = std::filesystem;

namespace {

/// The upload check lists the store instead of reading each sidecar above this many packages
/// (one round of requests at the default 32 in flight).
constexpr std::size_t check_by_listing_above = 32;

/// Why a bundle holds MEX files that only GNU Octave loads ("" = none): its build_info says
/// Octave compiled it (R2 sidecars), or the archive holds an Octave MEX file (`*.mex`; MATLAB's
/// end in .mexa64, .mexmaci64, ...). The second needs no metadata, so it covers the current
/// format (whose sidecars carry no build_info) and prebuilt Octave binaries alike.
std::string octave_only_binaries(const PackageSpec& spec, const fs::path& mhl) {
    if (spec.build_info.compiled_with_octave()) {
        return "was compiled with GNU Octave";
    }
    for (const auto& e : detail::read_zip_entries(mhl)) {
        const auto& n = e.name;
        if (n.size() > 4 && n.compare(n.size() - 4, 4, ".mex") == 0) {
            return "holds " + n + ", a MEX file of GNU Octave";
        }
    }
    return {};
}

/// One bundle on its way into the store.
struct Upload {
    PackageSpec sidecar;  ///< as it will be published (final `mhl_url`)
    fs::path mhl;
    std::string wheel;
    std::size_t item = 0;  ///< its index in the report
    bool active = true;    ///< false once skipped or failed
};

class UploadRun {
public:
    UploadRun(Store& store, const UploadOptions& options, const RunOptions& run)
        : store_(store), o_(options), run_(run), layout_(detail::package_layout(run.format)) {
        report_.stage = "upload";
        report_.dry_run = run.dry_run;
    }

    StageReport upload() {
        base_ = detail::resolve_base_url(run_.base_url, store_, "--base-url");
        collect();
        if (stop_now()) {
            return not_run_rest();
        }
        start_verifying();
        skip_published();
        check_store_format();
        refuse_name_collisions();
        if (run_.dry_run) {
            verifier_->finish();
            record_verification();
            plan();
            return std::move(report_);
        }
        if (stop_now()) {
            return not_run_rest();
        }
        write_chains();
        record_in_index_manifest();
        return std::move(report_);
    }

private:
    [[nodiscard]] bool stop_now() const { return !run_.keep_going && !report_.ok(); }

    /// Stopping before any chain started: the packages not failed are not uploaded.
    StageReport not_run_rest() {
        for (auto& u : uploads_) {
            if (u.active) {
                auto& item = report_.items[u.item];
                item.status = ItemStatus::skipped;
                item.detail = "not run: an earlier package failed";
                u.active = false;
            }
        }
        return std::move(report_);
    }

    [[nodiscard]] bool selected(const std::string& package) const {
        if (!run_.package.empty() &&
            std::none_of(run_.package.begin(), run_.package.end(),
                         [&](const std::string& p) { return layout_.key_name(p) == package; })) {
            return false;
        }
        return !run_.shard || run_.shard->contains(package);
    }

    [[nodiscard]] BatchOptions batch(const char* stage) const {
        BatchOptions batch;
        batch.max_in_flight = run_.max_in_flight;
        batch.progress = run_.progress;
        batch.progress_interval = run_.progress_interval;
        batch.stage = stage;
        return batch;
    }

    void fail(Upload& u, const std::exception_ptr& e) {
        not_to_verify(u);
        auto& item = report_.items[u.item];
        detail::mark_failed(item, e);
        u.active = false;
        run_.logger.error(item.wheel + ": " + item.detail);
    }

    /// A store holds one format: its record (`store_format_key`, seen in the listing; absent =
    /// r2) must be ours, and a current-format upload needs a store without R2-era sidecars.
    void check_store_format() {
        std::optional<std::string> text;
        if (format_key_listed_) {
            text = store_.get(detail::store_format_key);
        }
        if (text) {
            auto j = detail::parse_json(*text, detail::store_format_key);
            std::string recorded = j.is_object() && j.contains("format") && j["format"].is_string()
                                       ? j["format"].get<std::string>()
                                       : std::string("?");
            store_format_recorded_ = true;
            if (recorded != layout_.format()) {
                throw SpecError(store_.describe(),
                                {{"format", "holds the " + recorded + " format (" +
                                                detail::store_format_key + "); --format " +
                                                layout_.format() + " needs a store of its own"}});
            }
        } else if (layout_.format() != "r2" && r2_sidecar_seen_) {
            throw SpecError(store_.describe(),
                            {{"format", "holds R2-era packages; --format " + layout_.format() +
                                            " needs a store of its own"}});
        }
    }

    /// The first current-format upload marks its store (an R2 store stays unmarked).
    void record_store_format() {
        if (layout_.format() == "r2" || store_format_recorded_) {
            return;
        }
        PutRequest marker;
        marker.key = detail::store_format_key;
        marker.data = "{\"format\": \"" + layout_.format() + "\"}\n";
        marker.options = {"application/json", "no-cache", false, {}, {}};
        auto r = store_.put(marker);
        if (r.error) {
            std::rethrow_exception(r.error);
        }
        store_format_recorded_ = true;
    }

    /// `u` is not uploaded: its bundle need not be hashed (if not begun yet).
    void not_to_verify(const Upload& u) {
        if (verifier_) {
            verifier_->unwanted(static_cast<std::size_t>(&u - uploads_.data()));
        }
    }

    void skip(Upload& u) {
        not_to_verify(u);
        auto& item = report_.items[u.item];
        item.status = ItemStatus::skipped;
        item.detail = "unchanged in " + store_.describe();
        u.active = false;
    }

    /// The `.mhl` files of `input_dir`, sorted; their sidecars read and checked.
    void collect() {
        if (!fs::is_directory(o_.input_dir)) {
            return;
        }
        std::vector<fs::path> mhls;
        for (const auto& e : fs::directory_iterator(o_.input_dir)) {
            auto n = e.path().filename().string();
            // Symlinks are listed too, and refused below: a link named like a bundle is an error,
            // never followed (it could point at /etc/passwd).
            if ((e.is_regular_file() || e.is_symlink()) && n.size() > 4 &&
                n.substr(n.size() - 4) == ".mhl" && n[0] != '.') {
                mhls.push_back(e.path());
            }
        }
        std::sort(mhls.begin(), mhls.end());
        for (const auto& mhl : mhls) {
            ItemResult item;
            item.wheel = std::string(strip_wheel_suffix(mhl.filename().string()));
            try {
                item.package = layout_.name_of_stem(item.wheel).value_or(item.wheel);
                if (!selected(item.package)) {
                    continue;
                }
                auto spec = read_sidecar(mhl, item.wheel);
                spec.mhl_url =
                    Bundler::mhl_url(base_, item.wheel, *spec.mhl_sha256, run_.flat_urls);
                spec.mip_json_url.reset();
                uploads_.push_back({std::move(spec), mhl, item.wheel, report_.items.size(), true});
            } catch (...) {
                detail::mark_failed(item, std::current_exception());
            }
            report_.items.push_back(item);
        }
    }

    /// The sidecar of `mhl`: it must describe this wheel and these bytes, and pass the gate.
    [[nodiscard]] PackageSpec read_sidecar(const fs::path& mhl, const std::string& wheel) const {
        auto sidecar_path = fs::path(mhl.string() + ".mip.json");
        for (const auto& p : {mhl, sidecar_path}) {
            if (fs::is_symlink(p)) {
                throw IoError("is a symbolic link; upload sends regular files only (re-run bundle)",
                              p.string(), {ELOOP, std::generic_category()});
            }
        }
        if (!fs::is_regular_file(sidecar_path)) {
            throw SpecError(mhl.filename().string(),
                            {{"sidecar", "is missing: " + sidecar_path.filename().string()}});
        }
        auto spec =
            layout_.read_sidecar(detail::read_file(sidecar_path), sidecar_path.string(), true);
        if (layout_.archive_stem(spec) != wheel) {
            throw SpecError(sidecar_path.string(),
                            {{"name", "describes " + layout_.archive_stem(spec)}});
        }
        if (!spec.mhl_sha256 || !spec.mhl_size || *spec.mhl_size != fs::file_size(mhl)) {
            throw SpecError(
                sidecar_path.string(),
                {{"mhl_sha256", "does not match " + mhl.filename().string() + " (re-run bundle)"}});
        }
        refuse_failed_test(mhl, spec);
        return spec;
    }

    /// The S3 gate for Octave builds (on the verifier's workers: it reads the archive).
    void refuse_octave_build(const Upload& u) const {
        if (detail::is_s3_store(store_) && !o_.allow_octave_builds) {
            if (auto why = octave_only_binaries(u.sidecar, u.mhl); !why.empty()) {
                throw BuildError(u.sidecar.name,
                                 why +
                                     ", whose MEX files do not load in MATLAB; pass "
                                     "--allow-octave-builds to upload it anyway");
            }
        }
    }

    /// A bundle whose test failed (its marker names these bytes) is never uploaded.
    static void refuse_failed_test(const fs::path& mhl, const PackageSpec& spec) {
        const fs::path marker = Tester::failure_marker(mhl);
        if (!fs::is_regular_file(marker)) {
            return;
        }
        const std::string text = detail::read_file(marker);
        const auto newline = text.find('\n');
        if (text.substr(0, newline) != spec.mhl_sha256.value_or("")) {
            return;  // a stale marker of earlier bytes (re-bundled since)
        }
        std::string reason = newline == std::string::npos ? "" : text.substr(newline + 1);
        reason = reason.substr(0, reason.find('\n'));
        throw BuildError(spec.name, "not uploaded: its test failed (" + reason + "); see " +
                                        marker.filename().string());
    }

    /// Skips packages whose published sidecar already matches (same bytes, same metadata).
    void skip_published() {
        if (uploads_.empty()) {
            // Nothing to upload (a publish whose packages were all skipped): no listing, which
            // is a page per 1,000 packages of the catalogue; the store's format is still
            // checked, by its one key.
            format_key_listed_ = true;
            return;
        }
        std::vector<GetRequest> gets;
        for (auto& u : uploads_) {
            gets.push_back({u.wheel + ".mhl.mip.json", {}});
        }
        std::vector<GetResult> got(uploads_.size());
        std::vector<bool> identical(uploads_.size(), false);
        if (uploads_.size() > check_by_listing_above) {
            read_published_by_listing(gets, got, identical);
        } else {
            const bool reads_manifest = keeps_index_manifest();
            if (reads_manifest) {  // read with the sidecars, updated at the end
                gets.push_back({std::string(detail::index_manifest_key), {}});
            }
            got = store_.get_many(gets, batch("upload:check"));
            if (reads_manifest) {
                if (!got.back().error) {
                    manifest_read_ = detail::manifest_read_of(got.back(), store_);
                }
                got.pop_back();
                gets.pop_back();
            }
            try {
                for (const auto& info : store_.list("", false)) {
                    note_published(info.key);
                }
            } catch (const Error&) {  // each package fails with it, named (collision check)
                listing_error_ = std::current_exception();
            }
        }
        for (std::size_t i = 0; i < uploads_.size(); ++i) {
            auto& u = uploads_[i];
            if (identical[i]) {
                skip(u);
                continue;
            }
            if (got[i].error || !got[i].found) {
                continue;
            }
            compare_published(u, got[i].data, gets[i].key);
        }
        // Unchanged sidecars go into the index manifest too: a run killed between its sidecars
        // and the manifest is healed by the rerun that skips them.
        for (std::size_t i = 0; i < uploads_.size(); ++i) {
            if (report_.items[uploads_[i].item].status != ItemStatus::skipped) {
                continue;
            }
            auto etag = identical[i] ? detail::md5_hex(layout_.render_sidecar(uploads_[i].sidecar))
                                     : got[i].etag;
            if (!etag.empty()) {  // a GET without an ETag (a mirror) says nothing: left as is
                unchanged_etags_[gets[i].key] = std::move(etag);
            }
        }
    }

    /// Remembers the package name of a published sidecar key (others are ignored).
    void note_published(const std::string& key) {
        if (key == detail::store_format_key) {
            format_key_listed_ = true;
            return;
        }
        if (is_flat_bundle_key(key)) {
            flat_keys_seen_ = true;
            return;
        }
        constexpr std::string_view suffix = ".mhl.mip.json";
        if (key.size() <= suffix.size() ||
            key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) {
            return;
        }
        auto stem = std::string(strip_wheel_suffix(key));
        if (auto name = layout_.name_of_stem(stem)) {  // else not a package the index would read
            published_names_.insert(*name);
        }
        try {
            (void)WheelName::parse(stem);
            r2_sidecar_seen_ = true;
        } catch (const Error&) {  // not an R2-era sidecar
        }
    }

    /// A flat bundle name at the top of the store (`<wheel>.mhl`, not under `sha256/`).
    [[nodiscard]] static bool is_flat_bundle_key(const std::string& key) {
        constexpr std::string_view suffix = ".mhl";
        return key.size() > suffix.size() && key.find('/') == std::string::npos &&
               key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
    }

    /// The flat `<wheel>.mhl` copy is made only where a reader may want it: a store that
    /// already holds flat names (its listing, read by the skip check, showed one) or
    /// `--flat-copy`. A store without them gets two requests per package instead of three.
    [[nodiscard]] bool wants_flat_copy() const { return o_.flat_copy || flat_keys_seen_; }

    /// Names that differ but compare equal lower-cased with `-` as `_` (`dup`, `Dup`) would both
    /// be published and then break every `index`; a package whose name collides with another of
    /// this run or with one already in the store fails before anything is uploaded.
    void refuse_name_collisions() {
        std::map<std::string, std::set<std::string>> spellings;  // normalised -> names
        for (const auto& u : uploads_) {
            spellings[normalize_package_name(u.sidecar.name)].insert(u.sidecar.name);
        }
        std::map<std::string, std::set<std::string>> in_store;
        for (const auto& n : published_names_) {
            auto key = normalize_package_name(n);
            if (spellings.count(key) != 0) {
                in_store[key].insert(n);
            }
        }
        for (auto& u : uploads_) {
            if (listing_error_ && u.active) {  // names cannot be checked: nothing is uploaded
                fail(u, listing_error_);
                continue;
            }
            const auto& name = u.sidecar.name;
            auto key = normalize_package_name(name);
            std::vector<Issue> issues;
            auto collision = [&](const std::string& other, std::string_view where) {
                std::string m = "'";
                m += name;
                m += "' and '";
                m += other;
                m += "' ";
                m += where;
                m += " collide (names compare lower-cased with '-' as '_')";
                issues.push_back({"name", std::move(m)});
            };
            for (const auto& other : spellings[key]) {
                if (other != name) {
                    collision(other, "(also being uploaded)");
                }
            }
            for (const auto& other : in_store[key]) {
                if (other != layout_.key_name(name)) {
                    collision(other, "(already in " + store_.describe() + ")");
                    issues.back().message +=
                        "; rename the package or delete the other one's objects";
                }
            }
            if (u.active && !issues.empty()) {
                fail(u, std::make_exception_ptr(SpecError(u.wheel + ".mhl.mip.json", issues)));
            }
        }
    }

    /// Many packages: one listing (1,000 keys a page) says which sidecars exist, and an ETag
    /// equal to the MD5 of our sidecar (S3/R2 single-part objects) proves it is byte-identical;
    /// only the others are read.
    void read_published_by_listing(const std::vector<GetRequest>& gets,
                                   std::vector<GetResult>& got,
                                   std::vector<bool>& identical) {
        std::map<std::string, std::size_t> index_of;
        std::vector<std::string> md5(uploads_.size());
        const bool reads_manifest = keeps_index_manifest();
        for (std::size_t i = 0; i < uploads_.size(); ++i) {
            index_of[gets[i].key] = i;
            md5[i] = detail::md5_hex(layout_.render_sidecar(uploads_[i].sidecar));
        }
        auto listed = store_.list_and_get(
            "", false,
            [&](const ObjectInfo& info) -> std::optional<GetRequest> {
                note_published(info.key);
                if (reads_manifest && info.key == detail::index_manifest_key) {
                    return GetRequest{info.key, {}};  // read now, updated at the end
                }
                auto it = index_of.find(info.key);
                if (it == index_of.end()) {
                    return std::nullopt;
                }
                if (info.etag == md5[it->second]) {
                    identical[it->second] = true;
                    return std::nullopt;
                }
                return GetRequest{info.key, {}};
            },
            batch("upload:check"));
        if (reads_manifest) {
            manifest_read_.emplace();  // not listed: there is none yet
        }
        for (auto& l : listed) {
            if (reads_manifest && l.info.key == detail::index_manifest_key) {
                if (l.got && !l.got->error) {
                    manifest_read_ = detail::manifest_read_of(*l.got, store_);
                } else {
                    manifest_read_.reset();  // read again at the end
                }
            } else if (l.got) {
                got[index_of.at(l.info.key)] = std::move(*l.got);
            }
        }
    }

    /// A published sidecar with our digest, URL and metadata: skipped. With flat URLs, other
    /// bytes under our name fail the package unless `allow_overwrite`.
    void compare_published(Upload& u, const std::string& data, const std::string& key) {
        try {
            auto published = layout_.read_sidecar(data, key, false);
            if (published.mhl_sha256 == u.sidecar.mhl_sha256 &&
                published.mhl_url == u.sidecar.mhl_url &&
                compare_cached_fields(u.sidecar, published).equal) {
                skip(u);
            } else if (run_.flat_urls && !o_.allow_overwrite && published.mhl_sha256 &&
                       published.mhl_sha256 != u.sidecar.mhl_sha256) {
                const std::string why = u.wheel +
                                        ".mhl is already published with other bytes; with "
                                        "--flat-urls, replacing it needs --allow-overwrite";
                // Refused here, not by a server: a local store says so without an HTTP status.
                fail(u, detail::is_s3_store(store_)
                            ? std::make_exception_ptr(RemoteError(
                                  why,
                                  RemoteErrorInfo{412, "", "", "", u.wheel + ".mhl", "PutObject"}))
                            : std::make_exception_ptr(IoError(why, u.wheel + ".mhl",
                                                              {EEXIST, std::generic_category()})));
            }
        } catch (const std::exception&) {  // an unreadable old sidecar is simply replaced
        }
    }

    /// Every bundle's bytes must still be the ones its sidecar names (and an Octave build may
    /// not go to S3 unless allowed): checked on all cores from
    /// now on, while the store is listed; each package's chain starts when its bundle is
    /// verified (write_chains). The digest is handed to the store, which signs it instead of
    /// hashing the file again.
    void start_verifying() {
        std::vector<detail::BundleVerifier::Bundle> bundles;
        bundles.reserve(uploads_.size());
        for (const auto& u : uploads_) {
            bundles.push_back({u.mhl, *u.sidecar.mhl_sha256});
        }
        // The Octave gate reads each archive's entries (libzip checks every local header): on
        // the workers too, off the way to the first request.
        verifier_.emplace(std::move(bundles), run_.effective_jobs(), !run_.keep_going,
                          [this](std::size_t i) { refuse_octave_build(uploads_[i]); });
    }

    /// After the hashing: bundles whose bytes differ from their sidecars fail.
    void record_verification() {
        for (std::size_t i = 0; i < uploads_.size(); ++i) {
            if (uploads_[i].active && verifier_->error(i)) {
                fail(uploads_[i], verifier_->error(i));
            }
        }
    }

    void plan() {
        for (auto& u : uploads_) {
            if (u.active) {
                report_.items[u.item].status = ItemStatus::planned;
                report_.items[u.item].detail = "would upload to " + store_.describe();
            }
        }
    }

    /// Per package, in this order (mip-format §8.2): the write-once content-addressed bundle
    /// (an existing one of the same size is ours), the flat name as a server-side copy of it
    /// (only when `wants_flat_copy()`), then the sidecar. Under flat URLs the flat name is
    /// uploaded directly.
    [[nodiscard]] std::vector<PutRequest> chain_of(const Upload& u) const {
        std::vector<PutRequest> chain;
        const std::string cas_key = "sha256/" + *u.sidecar.mhl_sha256 + "/" + u.wheel + ".mhl";
        PutRequest flat;
        flat.key = u.wheel + ".mhl";
        flat.options = {"application/zip", "no-cache", false, {}, {}};
        if (!run_.flat_urls) {
            PutRequest cas;
            cas.key = cas_key;
            cas.file = u.mhl;
            cas.sha256 = *u.sidecar.mhl_sha256;
            cas.options = {"application/zip",
                           "public, max-age=31536000, immutable",
                           true,
                           {},
                           *u.sidecar.mhl_size};
            chain.push_back(std::move(cas));
            if (wants_flat_copy()) {
                flat.copy_from = cas_key;
                chain.push_back(std::move(flat));
            }
        } else {
            flat.file = u.mhl;
            flat.sha256 = *u.sidecar.mhl_sha256;
            chain.push_back(std::move(flat));
        }
        PutRequest sidecar;
        sidecar.key = u.wheel + ".mhl.mip.json";
        sidecar.data = layout_.render_sidecar(u.sidecar);
        sidecar.options = {"application/json", "no-cache", false, {}, {}};
        chain.push_back(std::move(sidecar));
        return chain;
    }

    /// Each package's chain starts when its bundle is verified, and moves to its next step as
    /// soon as its previous one landed. A bundle that fails its check writes nothing; without
    /// `keep_going` it also stops every chain not started yet (those already started finish:
    /// each is a complete package), which are reported skipped.
    void write_chains() {
        auto t0 = std::chrono::steady_clock::now();
        std::vector<std::vector<PutRequest>> chains(uploads_.size());
        bool any = false;
        for (std::size_t i = 0; i < uploads_.size(); ++i) {
            if (uploads_[i].active) {
                chains[i] = chain_of(uploads_[i]);
                any = true;
            }
        }
        std::vector<std::vector<PutResult>> results;
        if (any) {
            if (verifier_->wait_first_verified()) {  // not a store no bundle will go into
                record_store_format();
            }
            gate_.emplace(chains.size());
            verifier_->open(*gate_);
            results = store_.put_chains_as_ready(chains, *gate_, batch("upload"));
        }
        verifier_->finish();
        record_verification();
        for (std::size_t i = 0; i < results.size(); ++i) {
            auto& u = uploads_[i];
            if (!u.active) {
                continue;
            }
            if (!verifier_->started(i)) {
                auto& item = report_.items[u.item];
                item.status = ItemStatus::skipped;
                item.detail = "not run: another bundle failed its check";
                u.active = false;
                continue;
            }
            record_chain(u, results[i], chains[i].back().data);
            if (report_.items[u.item].status == ItemStatus::done) {
                sidecar_etags_[chains[i].back().key] = results[i].back().etag;
            }
        }
        double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (auto& item : report_.items) {
            if (item.status == ItemStatus::done) {
                item.seconds = elapsed;
            }
        }
    }

    /// Only R2-era stores carry the index manifest (index_manifest.hpp).
    [[nodiscard]] bool keeps_index_manifest() const { return layout_.format() == "r2"; }

    /// The index manifest learns the new and the unchanged sidecars (index_manifest.hpp; no
    /// write when it already lists them all). If it cannot, the packages are published but the
    /// run fails, so a rerun or `index --full-listing` follows.
    void record_in_index_manifest() {
        if (!keeps_index_manifest() || (sidecar_etags_.empty() && unchanged_etags_.empty())) {
            return;
        }
        try {
            detail::ManifestUpdateOptions options;
            options.first_read = manifest_read_;
            detail::record_uploaded_sidecars(store_, {sidecar_etags_, unchanged_etags_},
                                             run_.logger, options);
        } catch (...) {
            run_.logger.warning(std::string(detail::index_manifest_key) + " was not updated: " +
                                detail::message_of(std::current_exception()));
            for (auto& item : report_.items) {
                if (item.status == ItemStatus::done) {
                    detail::mark_failed(item, std::current_exception());
                    item.detail = "uploaded, but " + std::string(detail::index_manifest_key) +
                                  " was not updated (" + item.detail +
                                  "); run mip-build index --full-listing";
                    run_.logger.error(item.wheel + ": " + item.detail);
                }
            }
        }
    }

    void record_chain(Upload& u,
                      const std::vector<PutResult>& results,
                      const std::string& published_sidecar) {
        auto& item = report_.items[u.item];
        std::exception_ptr error;
        for (const auto& r : results) {
            item.attempts += r.attempts;
            if (r.error && !error) {
                error = r.error;
            }
        }
        if (error) {
            fail(u, error);
            return;
        }
        item.status = ItemStatus::done;
        item.path = *u.sidecar.mhl_url;
        item.detail = "uploaded to " + store_.describe();
        // Keep the local sidecar in step with what was published.
        try {
            detail::write_file_atomic(fs::path(u.mhl.string() + ".mip.json"), published_sidecar);
        } catch (...) {
            fail(u, std::current_exception());
        }
    }

    Store& store_;
    const UploadOptions& o_;
    const RunOptions& run_;
    std::string base_;
    StageReport report_;
    std::vector<Upload> uploads_;
    const detail::PackageLayout& layout_;    ///< `--format`
    std::set<std::string> published_names_;  ///< package names of the store's sidecars
    bool r2_sidecar_seen_ = false;           ///< the store holds an R2-era sidecar
    bool store_format_recorded_ = false;     ///< the store says which format it holds
    bool format_key_listed_ = false;         ///< its listing holds `store_format_key`
    bool flat_keys_seen_ = false;            ///< its listing holds a flat `<wheel>.mhl`
    std::exception_ptr listing_error_;       ///< the listing for the collision check failed
    std::optional<ChainGate> gate_;          ///< which chains may start (before the verifier:
                                             ///< it outlives the verifier's threads)
    std::optional<detail::BundleVerifier> verifier_;
    std::map<std::string, std::string> sidecar_etags_;    ///< uploaded sidecar key -> ETag
    std::map<std::string, std::string> unchanged_etags_;  ///< skipped (published) ones
    /// The index manifest as the listing found it (none when the run did not list)
    std::optional<detail::ManifestRead> manifest_read_;
};

}  // namespace

Uploader::Uploader(Store& store, UploadOptions options, RunOptions run)
    : store_(store), options_(std::move(options)), run_(std::move(run)) {}

StageReport Uploader::upload() {
    const detail::StaleTempSweepScope sweep_once;  // a sidecar per package into one bundled/
    return UploadRun(store_, options_, run_).upload();
}

}  // namespace mip
