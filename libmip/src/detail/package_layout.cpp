// The two output formats' packaging (package_layout.hpp).
#include "detail/package_layout.hpp"

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
        j["mhl_sha256"] = archive.sha256;
        j["mhl_size"] = archive.size;
        if (archive.mhl_url) {
            j["mhl_url"] = *archive.mhl_url;
        }
        return dump_pretty(j);
    }

private:
    static Json document(const LayoutInput& in) {
        return current_mip_json(in.spec, current_paths(in.spec, in.dir),
                                iso8601_utc(in.source_epoch));
    }
};

}  // namespace

void require_r2_format(const std::string& format, const std::string& stage) {
    if (package_layout(format).format() != "r2") {
        throw SpecError("--format",
                        {{"format", "'" + format + "' is written by bundle only so far; " + stage +
                                        " handles the r2 format"}});
    }
}

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
