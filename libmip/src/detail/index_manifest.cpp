#include "detail/index_manifest.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include <mip/error.hpp>

#include "detail/base_url.hpp"
#include "detail/crypto.hpp"
#include "detail/json.hpp"

namespace mip::detail {

namespace {

constexpr std::string_view sidecar_suffix = ".mhl.mip.json";
constexpr int manifest_version = 1;
/// A manifest larger than this is refused as corrupt (10,000 entries take about 1 MiB).
constexpr std::size_t max_manifest_bytes = 64U << 20U;

bool has_control_char(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

SpecError bad(const std::string& field, const std::string& message) {
    return SpecError(index_manifest_key, {{field, message}});
}

/// Another writer came first: 412, 409 or 404 (see below).
bool is_conflict(const PutResult& r) {
    if (r.precondition_failed) {
        return true;
    }
    if (!r.error) {
        return false;
    }
    try {
        std::rethrow_exception(r.error);
    } catch (const RemoteError& e) {
        // S3 answers 409 ConditionalRequestConflict to a conditional write that met a
        // concurrent one ("retry"); 404 to If-Match on a key deleted since it was read.
        return e.http_status() == 412 || e.http_status() == 409 || e.http_status() == 404;
    } catch (...) {
        return false;
    }
}

BatchOptions one_request() {
    BatchOptions b;
    b.max_in_flight = 1;
    b.stage = "index";
    return b;
}

}  // namespace

bool is_sidecar_key(std::string_view key) {
    return key.size() > sidecar_suffix.size() && key.size() <= 1024 &&
           key.substr(key.size() - sidecar_suffix.size()) == sidecar_suffix &&
           key.find('/') == std::string_view::npos && key.front() != '.' && !has_control_char(key);
}

std::string render_index_manifest(const IndexManifest& manifest) {
    // {"format": 1, "listed_at": N, "sidecars": {...}} with one sidecar a line: small diffs, and
    // still one JSON document.
    std::string out = "{\"format\": " + std::to_string(manifest_version) +
                      ", \"listed_at\": " + std::to_string(manifest.listed_at) +
                      ", \"sidecars\": {";
    bool first = true;
    for (const auto& [key, etag] : manifest.sidecars) {
        out += first ? "\n" : ",\n";
        out += dump_compact(Json(key)) + ": " + dump_compact(Json(etag));
        first = false;
    }
    out += first ? "}}\n" : "\n}}\n";
    return out;
}

IndexManifest parse_index_manifest(std::string_view text) {
    if (text.size() > max_manifest_bytes) {
        throw bad("", "is larger than " + std::to_string(max_manifest_bytes >> 20U) + " MiB");
    }
    auto doc = parse_json(text, index_manifest_key);
    if (!doc.is_object()) {
        throw bad("", "is not a JSON object");
    }
    if (!doc.contains("format") || !doc["format"].is_number_integer() ||
        doc["format"].get<std::int64_t>() != manifest_version) {
        throw bad("format", "must be " + std::to_string(manifest_version));
    }
    IndexManifest m;
    if (!doc.contains("listed_at") || !doc["listed_at"].is_number_integer() ||
        doc["listed_at"].get<std::int64_t>() < 0) {
        throw bad("listed_at", "must be a non-negative integer");
    }
    m.listed_at = doc["listed_at"].get<std::int64_t>();
    if (!doc.contains("sidecars") || !doc["sidecars"].is_object()) {
        throw bad("sidecars", "must be an object");
    }
    for (const auto& [key, etag] : doc["sidecars"].items()) {
        if (!is_sidecar_key(key)) {
            throw bad("sidecars", "'" + dump_compact(Json(key)) + "' is not a sidecar key");
        }
        if (!etag.is_string() || etag.get<std::string>().empty() ||
            etag.get<std::string>().size() > 256 || has_control_char(etag.get<std::string>())) {
            throw bad("sidecars", "the ETag of " + key + " must be a non-empty string");
        }
        m.sidecars.emplace(key, etag.get<std::string>());
    }
    return m;
}

std::optional<IndexManifest> merge_uploaded(const std::optional<IndexManifest>& current,
                                            const UploadedSidecars& sidecars) {
    const auto& ours = sidecars.written;
    const auto& unchanged = sidecars.unchanged;
    IndexManifest merged = current.value_or(IndexManifest{});
    bool changed = !current.has_value();
    for (const auto& [key, etag] : unchanged) {
        if (ours.count(key) == 0 && merged.sidecars.emplace(key, etag).second) {
            changed = true;
        }
    }
    for (const auto& [key, etag] : ours) {
        auto [it, inserted] = merged.sidecars.emplace(key, etag);
        if (!inserted && it->second != etag) {
            it->second = etag;
            changed = true;
        }
        changed = changed || inserted;
    }
    if (!changed) {
        return std::nullopt;
    }
    return merged;
}

IndexManifest merge_listing(const std::map<std::string, std::string>& listed,
                            std::int64_t listed_at,
                            const std::optional<IndexManifest>& base,
                            const std::optional<IndexManifest>& current) {
    IndexManifest merged;
    merged.sidecars = listed;
    merged.listed_at = listed_at;
    if (!current) {
        return merged;
    }
    for (const auto& [key, etag] : current->sidecars) {
        const std::string* before = nullptr;
        if (base) {
            if (auto it = base->sidecars.find(key); it != base->sidecars.end()) {
                before = &it->second;
            }
        }
        if (before == nullptr || *before != etag) {
            merged.sidecars[key] = etag;  // written by an uploader during the listing
        }
    }
    return merged;
}

ManifestRead read_index_manifest(Store& store) {
    auto got = store.get_many({GetRequest{index_manifest_key, {}}}, one_request());
    return manifest_read_of(got.front(), store);
}

ManifestRead manifest_read_of(const GetResult& g, Store& store) {
    ManifestRead out;
    if (g.error) {
        std::rethrow_exception(g.error);
    }
    if (!g.found) {
        return out;
    }
    out.present = true;
    // A server that sends no ETag with a GET (a static mirror in front of S3): an object PUT in
    // one request has its MD5 as ETag, so If-Match on it still means "the bytes read".
    out.etag = g.etag.empty() && is_s3_store(store) ? md5_hex(g.data) : g.etag;
    try {
        out.manifest = parse_index_manifest(g.data);
    } catch (const SpecError& e) {
        out.problem = e.what();
    }
    return out;
}

ManifestUpdate update_index_manifest(Store& store,
                                     const ManifestMerge& merge,
                                     const ManifestUpdateOptions& options) {
    ManifestUpdate out;
    std::minstd_rand jitter(std::random_device{}());
    auto wait = options.backoff;
    for (std::uint32_t attempt = 0; attempt < options.max_attempts; ++attempt) {
        if (attempt > 0) {
            std::uniform_int_distribution<long long> spread(wait.count() / 2, wait.count() * 3 / 2);
            std::this_thread::sleep_for(std::chrono::milliseconds(spread(jitter)));
            wait = std::min(wait * 2, std::chrono::milliseconds(2000));
        }
        ++out.attempts;
        auto current =
            attempt == 0 && options.first_read ? *options.first_read : read_index_manifest(store);
        auto next = merge(current);
        if (!next) {
            return out;
        }
        PutRequest put;
        put.key = index_manifest_key;
        put.data = render_index_manifest(*next);
        put.options.content_type = "application/json";
        put.options.cache_control = "no-cache";
        if (current.present && !current.etag.empty()) {
            put.options.if_match = current.etag;
        } else {
            put.options.if_none_match = true;
        }
        auto r = store.put_many({put}, one_request()).front();
        if (r.written) {
            out.written = true;
            return out;
        }
        if (r.error && !is_conflict(r)) {
            std::rethrow_exception(r.error);
        }
    }
    out.gave_up = true;
    return out;
}

void record_uploaded_sidecars(Store& store,
                              const UploadedSidecars& sidecars,
                              const Logger& logger,
                              const ManifestUpdateOptions& options) {
    const auto& ours = sidecars.written;
    const auto& unchanged = sidecars.unchanged;
    if (ours.empty() && unchanged.empty()) {
        return;
    }
    std::map<std::string, std::string> known;
    bool unknown_etag = false;
    for (const auto& [key, etag] : ours) {
        if (etag.empty()) {
            unknown_etag = true;
        } else {
            known.emplace(key, etag);
        }
    }
    auto merge = [&](const ManifestRead& current) -> std::optional<IndexManifest> {
        auto merged = merge_uploaded(current.manifest, {known, unchanged});
        if (unknown_etag) {
            IndexManifest m = merged ? *merged : *current.manifest;
            if (!merged && m.listed_at == 0) {
                return std::nullopt;
            }
            m.listed_at = 0;
            return m;
        }
        return merged;
    };
    auto r = update_index_manifest(store, merge, options);
    if (!r.gave_up) {
        logger.info(std::string(index_manifest_key) +
                    (r.written ? ": recorded " : ": already lists ") + std::to_string(ours.size()) +
                    " sidecar(s)");
        return;
    }
    // Contention beyond the retries: untrusted beats incomplete.
    auto current = read_index_manifest(store);
    auto merged = merge_uploaded(current.manifest, {known, unchanged});
    IndexManifest m = merged ? *merged : *current.manifest;
    m.listed_at = 0;
    PutRequest put;
    put.key = index_manifest_key;
    put.data = render_index_manifest(m);
    put.options.content_type = "application/json";
    put.options.cache_control = "no-cache";
    auto w = store.put(put);
    if (w.error) {
        std::rethrow_exception(w.error);
    }
    logger.warning(std::string(index_manifest_key) + ": " + std::to_string(r.attempts) +
                   " attempts met concurrent writers; marked it for a full listing by the next "
                   "index");
}

}  // namespace mip::detail
