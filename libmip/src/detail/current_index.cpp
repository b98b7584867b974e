// The current format's channel index from sidecars (current_index.hpp).
#include "detail/current_index.hpp"

#include <algorithm>
#include <chrono>
#include <regex>

#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include "detail/base_url.hpp"
#include "detail/channel_config.hpp"
#include "detail/current_format.hpp"
#include "detail/package_layout.hpp"
#include "detail/text.hpp"

namespace mip::detail {

std::string iso8601_utc(std::int64_t epoch_seconds);  // bundler.cpp

namespace {

std::string field_of(const Json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

/// The client's sort: lowercased name, then version, then architecture.
bool index_order(const Json& a, const Json& b) {
    auto na = ascii_lower(field_of(a, "name"));
    auto nb = ascii_lower(field_of(b, "name"));
    if (na != nb) {
        return na < nb;
    }
    if (int c = compare_versions(field_of(a, "version"), field_of(b, "version")); c != 0) {
        return c < 0;
    }
    return field_of(a, "architecture") < field_of(b, "architecture");
}

}  // namespace

CurrentIndex build_current_index(const std::vector<Json>& sidecars,
                                 const CurrentIndexOptions& options) {
    static const std::regex channel_rule(
        "^([A-Za-z0-9][-A-Za-z0-9_.]*)/([A-Za-z0-9][-A-Za-z0-9_.]*)$");
    std::smatch m;
    if (!std::regex_match(options.channel, m, channel_rule)) {
        throw SpecError("--channel", {{"channel", "'" + options.channel + "' must be OWNER/NAME"}});
    }
    std::string base = options.base_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    std::map<std::string, std::string> spelling;  // normalised name → name
    std::map<std::pair<std::string, std::string>, std::set<std::string>> published;
    std::vector<Json> entries;
    for (const auto& s : sidecars) {
        auto name = field_of(s, "name");
        auto version = field_of(s, "version");
        auto arch = field_of(s, "architecture");
        auto url = field_of(s, "mhl_url");
        const std::string subject = current_archive_stem(name, version, arch) + ".mhl.mip.json";
        if (name.empty() || version.empty() || arch.empty()) {
            throw SpecError(subject, {{"name", "a sidecar needs name, version and architecture"}});
        }
        if (url.rfind("https://", 0) != 0) {
            throw SpecError(subject, {{"mhl_url", "'" + url + "' must be an https:// URL"}});
        }
        auto [it, fresh] = spelling.emplace(normalize_package_name(name), name);
        if (!fresh && it->second != name) {
            throw SpecError(subject, {{"name", "'" + name + "' and '" + it->second +
                                                   "' collide (names compare lower-cased with "
                                                   "'-' as '_')"}});
        }
        published[{name, version}].insert(arch);
        Json e = s;
        e.erase("declared_architectures");  // the publisher's, not the client's
        e["mip_json_url"] =
            base + "/" + current_archive_stem(name, version, arch) + ".mhl.mip.json";
        entries.push_back(std::move(e));
    }
    CurrentIndex out;
    std::set<std::pair<std::string, std::string>> held;
    for (const auto& [release, archs] : published) {
        auto d = options.declared.find(release);
        if (d == options.declared.end()) {
            continue;
        }
        std::string missing;
        for (const auto& a : d->second) {
            if (archs.count(a) == 0) {
                missing += (missing.empty() ? "" : ", ") + a;
            }
        }
        if (!missing.empty()) {
            out.held.push_back(release.first + " " + release.second + ": " +
                               (options.allow_partial ? "partial (--allow-partial): missing "
                                                      : "held: waiting for ") +
                               missing);
            if (!options.allow_partial) {
                held.insert(release);
            }
        }
    }
    entries.erase(
        std::remove_if(entries.begin(), entries.end(),
                       [&](const Json& e) {
                           return held.count({field_of(e, "name"), field_of(e, "version")}) != 0;
                       }),
        entries.end());
    std::stable_sort(entries.begin(), entries.end(), index_order);
    Json doc = Json::object();
    doc["github_repo"] = std::string(m[1]) + "/mip-" + std::string(m[2]);
    doc["packages"] = entries;
    doc["total_packages"] = entries.size();
    doc["last_updated"] = options.last_updated;
    if (options.compatibility_floor) {
        doc["mip_compatibility_floor"] = *options.compatibility_floor;
    }
    out.document = std::move(doc);
    return out;
}

IndexResult assemble_current_index(Store& store,
                                   const IndexOptions& options,
                                   const RunOptions& run) {
    const auto& layout = package_layout(run.format);
    CurrentIndexOptions co;
    co.channel = options.channel;
    if (co.channel.empty()) {
        throw SpecError("--channel",
                        {{"channel", "index --format " + run.format +
                                         " needs --channel OWNER/NAME (the index's github_repo)"}});
    }
    co.base_url = resolve_base_url(run.base_url, store, "--base-url");
    co.allow_partial = options.allow_partial;
    if (!options.compatibility_floor.empty()) {
        if (auto problem = check_compatibility_floor(options.compatibility_floor);
            !problem.empty()) {
            throw SpecError("--compatibility-floor", {{"compatibility_floor", problem}});
        }
        co.compatibility_floor = options.compatibility_floor;
    }
    constexpr std::string_view suffix = ".mhl.mip.json";
    std::vector<GetRequest> gets;
    for (const auto& info : store.list("", false)) {
        const auto& k = info.key;
        if (k.size() > suffix.size() && k.find('/') == std::string::npos &&
            k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0) {
            gets.push_back({k, {}});
        }
    }
    IndexResult result;
    result.sidecars_listed = gets.size();
    BatchOptions batch;
    batch.max_in_flight = run.max_in_flight;
    batch.progress = run.progress;
    batch.progress_interval = run.progress_interval;
    batch.stage = "index";
    auto got = store.get_many(gets, batch);
    std::vector<Json> sidecars;
    for (const auto& g : got) {
        if (g.error) {
            std::rethrow_exception(g.error);
        }
        if (!g.found) {
            continue;  // deleted since the listing
        }
        ++result.sidecars_downloaded;
        try {
            auto spec = layout.read_sidecar(g.data, g.key, true);
            auto expected = layout.archive_stem(spec) + std::string(suffix);
            if (expected != g.key) {
                throw SpecError(g.key, {{"name", "describes " + expected}});
            }
            sidecars.push_back(parse_json(g.data, g.key));
            const auto& j = sidecars.back();
            if (j.contains("declared_architectures") && j["declared_architectures"].is_array()) {
                auto& declared = co.declared[{spec.name, spec.version}];
                for (const auto& a : j["declared_architectures"]) {
                    if (a.is_string()) {
                        declared.insert(a.get<std::string>());
                    }
                }
            }
        } catch (const SpecError& e) {
            if (options.strict) {
                throw;
            }
            result.skipped.push_back({g.key, e.what()});
        }
    }
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    co.last_updated = iso8601_utc(run.source_date_epoch.value_or(now));
    result.last_updated = co.last_updated;
    auto idx = build_current_index(sidecars, co);
    for (const auto& e : idx.document["packages"]) {
        result.packages.push_back(layout.read_sidecar(dump_compact(e), "index entry", false));
    }
    result.warnings = idx.held;
    result.document = dump_pretty(idx.document);
    return result;
}

}  // namespace mip::detail
