// The two output formats' packaging (package_layout.hpp).
#include "detail/package_layout.hpp"

#include <algorithm>

#include <mip/error.hpp>

#include "detail/build_info_access.hpp"
#include "detail/current_format.hpp"
#include "detail/json.hpp"

namespace mip::detail {

std::string iso8601_utc(std::int64_t epoch_seconds);  // bundler.cpp

namespace {

/// The R2-era format: the prepared directory as it is, load_package.m at the root.
class R2Layout final : public PackageLayout {
public:
    [[nodiscard]] std::string format() const override { return "r2"; }
    [[nodiscard]] std::string archive_stem(const PackageSpec& spec) const override {
        return spec.wheel_name();
    }
    [[nodiscard]] std::optional<std::string> entry_name(const PackageSpec& spec,
                                                        const std::string& rel) const override {
        (void)spec;
        return rel;
    }
    /// Volatile fields neutralised, no mhl_* fields.
    [[nodiscard]] std::string archive_json(const LayoutInput& in) const override {
        PackageSpec s = in.spec;
        s.timestamp = iso8601_utc(in.zip_epoch);
        s.prepare_duration = 0;
        s.compile_duration = 0;
        s.mhl_url.reset();
        s.mhl_sha256.reset();
        s.mhl_size.reset();
        s.mip_json_url.reset();
        if (const Json* object = BuildInfoAccess::object(s.build_info)) {
            auto bi = *object;
            for (const char* k : {"host_platform", "ci", "ci_run_url"}) {
                if (bi.contains(k)) {
                    bi[k] = nullptr;
                }
            }
            s.build_info = BuildInfoAccess::make(std::move(bi));
        }
        return s.to_json();
    }
    [[nodiscard]] std::string sidecar_json(const LayoutInput& in,
                                           const ArchiveFacts& archive) const override {
        PackageSpec sidecar = in.spec;
        sidecar.mhl_sha256 = archive.sha256;
        sidecar.mhl_size = archive.size;
        sidecar.mhl_url = archive.mhl_url;
        return sidecar.to_json();
    }
    [[nodiscard]] PackageSpec read_sidecar(const std::string& text,
                                           const std::string& origin,
                                           bool checked) const override {
        return checked ? PackageSpec::from_json(text, origin)
                       : PackageSpec::from_json_unchecked(text, origin);
    }
    [[nodiscard]] std::string render_sidecar(const PackageSpec& spec) const override {
        return spec.to_json();
    }
    [[nodiscard]] CacheComparison compare_published(const PackageSpec& local,
                                                    const PackageSpec& published) const override {
        return compare_cached_fields(local, published);
    }
    [[nodiscard]] std::string key_name(const std::string& name) const override { return name; }
    [[nodiscard]] std::optional<std::string> name_of_stem(const std::string& stem) const override {
        try {
            return WheelName::parse(stem).name;
        } catch (const Error&) {
            return std::nullopt;
        }
    }
};

/// The current format (spec mip-current §2–§3): mip.json + `<name>/...`, no load scripts, one
/// timestamp (the source date) in archive and sidecar.
class CurrentLayout final : public PackageLayout {
public:
    [[nodiscard]] std::string format() const override { return "mip"; }
    [[nodiscard]] std::string archive_stem(const PackageSpec& spec) const override {
        return current_archive_stem(spec.name, spec.version, current_architecture(spec));
    }
    [[nodiscard]] std::optional<std::string> entry_name(const PackageSpec& spec,
                                                        const std::string& rel) const override {
        if (rel == "mip.json") {
            return rel;
        }
        if (rel == "load_package.m" || rel == "unload_package.m") {
            return std::nullopt;  // the client adds `paths` itself
        }
        return current_entry_name(spec.name, rel);
    }
    [[nodiscard]] std::string archive_json(const LayoutInput& in) const override {
        return dump_pretty(document(in));
    }
    [[nodiscard]] std::string sidecar_json(const LayoutInput& in,
                                           const ArchiveFacts& archive) const override {
        Json j = document(in);
        add_declared(j, in.spec);
        j["mhl_sha256"] = archive.sha256;
        j["mhl_size"] = archive.size;
        if (archive.mhl_url) {
            j["mhl_url"] = *archive.mhl_url;
        }
        return dump_pretty(j);
    }

    [[nodiscard]] PackageSpec read_sidecar(const std::string& text,
                                           const std::string& origin,
                                           bool checked) const override {
        Json j = parse_json(text, origin);
        if (!j.is_object()) {
            throw SpecError(origin, {{"", "must be a JSON object"}});
        }
        PackageSpec s;
        auto str = [&](const char* k) {
            return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
        };
        s.name = str("name");
        s.version = str("version");
        s.description = str("description");
        s.platform_tag = str("architecture");
        s.license = str("license");
        s.homepage = str("homepage");
        s.repository = str("repository");
        s.timestamp = str("timestamp");
        if (j.contains("dependencies") && j["dependencies"].is_array()) {
            for (const auto& d : j["dependencies"]) {
                if (d.is_string()) {
                    s.dependencies.push_back(d.get<std::string>());
                }
            }
        }
        if (j.contains("compile_script") && j["compile_script"].is_string()) {
            s.compile_script = j["compile_script"].get<std::string>();
        }
        if (j.contains("mhl_sha256") && j["mhl_sha256"].is_string()) {
            s.mhl_sha256 = j["mhl_sha256"].get<std::string>();
        }
        if (j.contains("mhl_size") && j["mhl_size"].is_number_unsigned()) {
            s.mhl_size = j["mhl_size"].get<std::uint64_t>();
        }
        if (j.contains("mhl_url") && j["mhl_url"].is_string()) {
            s.mhl_url = j["mhl_url"].get<std::string>();
        }
        for (const char* k : {"paths", "extra_paths", "test_script", "source_hash", "commit_hash",
                              "declared_architectures"}) {
            if (j.contains(k)) {
                s.extra_fields.emplace_back(k, dump_compact(j[k]));
            }
        }
        if (checked) {
            auto issues = s.validate();
            if (s.platform_tag.empty()) {
                issues.push_back({"architecture", "is missing"});
            }
            if (!issues.empty()) {
                throw SpecError(origin, issues);
            }
        }
        return s;
    }
    [[nodiscard]] std::string render_sidecar(const PackageSpec& spec) const override {
        std::vector<std::string> paths;
        for (const auto& [k, v] : spec.extra_fields) {
            if (k == "paths") {
                for (const auto& p : Json::parse(v)) {
                    paths.push_back(p.get<std::string>());
                }
            }
        }
        Json j = current_mip_json(spec, paths, spec.timestamp);
        add_declared(j, spec);
        if (spec.mhl_sha256) {
            j["mhl_sha256"] = *spec.mhl_sha256;
        }
        if (spec.mhl_size) {
            j["mhl_size"] = *spec.mhl_size;
        }
        if (spec.mhl_url) {
            j["mhl_url"] = *spec.mhl_url;
        }
        return dump_pretty(j);
    }
    [[nodiscard]] CacheComparison compare_published(const PackageSpec& local,
                                                    const PackageSpec& published) const override {
        auto extra = [](const PackageSpec& s) {
            for (const auto& [k, v] : s.extra_fields) {
                if (k == "source_hash") {
                    return v;
                }
            }
            return std::string();
        };
        CacheComparison c;
        if (local.name != published.name) {
            c.first_difference = "name";
        } else if (local.version != published.version) {
            c.first_difference = "version";
        } else if (local.platform_tag != published.platform_tag) {
            c.first_difference = "architecture";
        } else if (extra(local).empty() || extra(local) != extra(published)) {
            c.first_difference = "source_hash";  // none recorded: always rebuilt
        }
        c.equal = c.first_difference.empty();
        return c;
    }
    [[nodiscard]] std::string key_name(const std::string& name) const override {
        auto n = name;
        std::replace(n.begin(), n.end(), '-', '_');
        return n;
    }
    [[nodiscard]] std::optional<std::string> name_of_stem(const std::string& stem) const override {
        auto arch = stem.rfind('-');
        auto version =
            arch == std::string::npos || arch == 0 ? std::string::npos : stem.rfind('-', arch - 1);
        if (version == std::string::npos || version == 0) {
            return std::nullopt;
        }
        return stem.substr(0, version);
    }

private:
    /// The sidecar only (never the archive): every architecture the release's builds declare,
    /// so the index can hold a release until all are published.
    static void add_declared(Json& j, const PackageSpec& spec) {
        for (const auto& [k, v] : spec.extra_fields) {
            if (k == "declared_architectures") {
                j["declared_architectures"] = Json::parse(v);
            }
        }
    }
    static Json document(const LayoutInput& in) {
        return current_mip_json(in.spec, current_paths(in.spec, in.dir),
                                iso8601_utc(in.source_epoch));
    }
};

}  // namespace

const PackageLayout& package_layout(const std::string& format) {
    static const R2Layout r2;
    static const CurrentLayout current;
    if (format == "r2") {
        return r2;
    }
    if (format == "mip") {
        return current;
    }
    throw SpecError("--format", {{"format", "'" + format + "' is not a format (r2 or mip)"}});
}

}  // namespace mip::detail
