// Installing a bundle the way a client does (test_install.hpp).

#include "detail/test_install.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include "detail/current_format.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
#include "detail/package_layout.hpp"
#include "detail/zip_reader.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

std::string matlab_quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    return out + "'";
}

ArchiveFormat detect_format(const fs::path& mhl) {
    bool has_load = false;
    bool has_mip_json = false;
    for (const auto& e : read_zip_entries(mhl)) {
        has_load = has_load || e.name == "load_package.m";
        has_mip_json = has_mip_json || e.name == "mip.json";
    }
    if (has_load && has_mip_json) {
        return ArchiveFormat::r2;
    }
    if (has_mip_json) {
        return ArchiveFormat::current;
    }
    throw ArchiveError(mhl.filename().string() +
                       ": not an installable archive (no mip.json and load_package.m at its root)");
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the archive, then where it goes
InstalledPackage install_r2(const fs::path& mhl, const fs::path& root, const std::string& name) {
    InstalledPackage p;
    p.name = name;
    p.dir = root / "packages" / name;
    p.archive_dir = p.dir;
    extract_zip(mhl, p.dir, false);
    p.mip_json = read_file(p.dir / "mip.json");
    p.load = "run(" + matlab_quote((p.dir / "load_package.m").string()) + ");";
    return p;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the archive, then where it goes
InstalledPackage install_current(const fs::path& mhl,
                                 const fs::path& root,
                                 const std::string& name) {
    InstalledPackage p;
    p.format = ArchiveFormat::current;
    const fs::path dir = current_install_dir(root, "mip-build", "test", name);
    extract_zip(mhl, dir, false);
    p.mip_json = read_file(dir / "mip.json");
    const std::string origin = mhl.filename().string() + ": mip.json";
    const Json doc = parse_json(p.mip_json, origin);
    if (!doc.is_object() || !doc.contains("name") || !doc["name"].is_string()) {
        throw SpecError(origin, {{"name", "is missing or not a string"}});
    }
    p.name = doc["name"].get<std::string>();
    p.dir = dir / p.name;
    p.archive_dir = dir;
    std::vector<std::string> paths{"."};
    if (doc.contains("paths")) {
        if (!doc["paths"].is_array()) {
            throw SpecError(origin, {{"paths", "must be a list of strings"}});
        }
        paths.clear();
        for (const auto& entry : doc["paths"]) {
            if (!entry.is_string()) {
                throw SpecError(origin, {{"paths", "must be a list of strings"}});
            }
            paths.push_back(entry.get<std::string>());
        }
    }
    for (const auto& path : paths) {
        p.load += "addpath(" + matlab_quote(current_path_dir(dir, p.name, path).string()) + ");";
    }
    return p;
}

InstalledPackage install_package(const fs::path& mhl,
                                 const fs::path& root,
                                 const std::string& name) {
    switch (detect_format(mhl)) {
        case ArchiveFormat::r2:
            return install_r2(mhl, root, name);
        case ArchiveFormat::current:
            return install_current(mhl, root, name);
    }
    throw ArchiveError(mhl.filename().string() + ": unknown archive format");
}

std::optional<BundleId> bundle_id(const std::string& file) {
    const std::string stem(strip_wheel_suffix(file));
    if (stem.empty() || stem.find('/') != std::string::npos) {
        return std::nullopt;
    }
    try {
        auto wheel = WheelName::parse(stem);
        return BundleId{wheel.name, wheel.platform_tag, ArchiveFormat::r2};
    } catch (const Error&) {  // not an R2 wheel name: perhaps a current stem
    }
    if (auto name = package_layout("mip").name_of_stem(stem)) {
        return BundleId{*name, stem.substr(stem.rfind('-') + 1), ArchiveFormat::current};
    }
    return std::nullopt;
}

PackageSpec read_bundle_spec(const std::string& text,
                             const std::string& origin,
                             ArchiveFormat format,
                             bool checked) {
    return package_layout(format == ArchiveFormat::current ? "mip" : "r2")
        .read_sidecar(text, origin, checked);
}

std::string dependency_name(const std::string& dependency) {
    const auto slash = dependency.rfind('/');
    return slash == std::string::npos ? dependency : dependency.substr(slash + 1);
}

namespace {

/// The bundles of a directory by normalised package name, then platform tag.
using BundleMap = std::map<std::string, std::map<std::string, fs::path>>;

BundleMap bundles_in(const fs::path& input_dir) {
    BundleMap out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(input_dir, ec)) {
        const auto file = e.path().filename().string();
        if (!e.is_regular_file() || file.size() <= 4 || file.substr(file.size() - 4) != ".mhl") {
            continue;
        }
        if (auto id = bundle_id(file)) {  // else not a bundle name: not a candidate
            auto& slot = out[normalize_package_name(id->name)][id->tag];
            if (slot.empty() || slot < e.path()) {
                slot = e.path();  // several versions: the last by name (deterministic)
            }
        }
    }
    return out;
}

BundleMap list_bundles(const std::vector<fs::path>& dirs) {
    BundleMap out;
    for (const auto& dir : dirs) {
        for (auto& [name, tags] : bundles_in(dir)) {
            if (out.count(name) == 0) {  // an earlier directory wins
                out[name] = std::move(tags);
            }
        }
    }
    return out;
}

struct Resolver {
    const BundleMap& bundles;
    const std::string& host_tag;
    std::vector<fs::path> order;
    std::set<std::string> done;
    std::vector<std::string> stack;

    void visit(const std::string& dep, const std::string& needed_by) {
        const std::string key = normalize_package_name(dependency_name(dep));
        if (done.count(key) != 0) {
            return;
        }
        if (std::find(stack.begin(), stack.end(), key) != stack.end()) {
            throw SpecError(needed_by, {{"dependencies", "form a cycle through " + dep}});
        }
        auto it = bundles.find(key);
        const fs::path* mhl = nullptr;
        if (it != bundles.end()) {
            for (const auto& tag : {host_tag, std::string("any")}) {
                if (auto t = it->second.find(tag); t != it->second.end()) {
                    mhl = &t->second;
                    break;
                }
            }
        }
        if (mhl == nullptr) {
            throw SpecError(needed_by, {{"dependencies", "'" + dep +
                                                             "' is not among the bundles of this "
                                                             "run (for " +
                                                             host_tag + " or any)"}});
        }
        stack.push_back(key);
        const auto sidecar = fs::path(mhl->string() + ".mip.json");
        const auto id = bundle_id(mhl->filename().string());
        const auto spec = read_bundle_spec(read_file(sidecar), sidecar.string(),
                                           id ? id->format : ArchiveFormat::r2);
        for (const auto& next : spec.dependencies) {
            visit(next, spec.name);
        }
        stack.pop_back();
        done.insert(key);
        order.push_back(*mhl);
    }
};

}  // namespace

std::vector<fs::path> resolve_dependencies(const std::vector<std::string>& dependencies,
                                           const std::vector<fs::path>& dirs,
                                           // NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
                                           const std::string& host_tag,
                                           const std::string& needed_by) {
    const BundleMap bundles = list_bundles(dirs);
    Resolver r{bundles, host_tag, {}, {}, {}};
    r.stack.push_back(normalize_package_name(needed_by));
    for (const auto& dep : dependencies) {
        r.visit(dep, needed_by);
    }
    return r.order;
}

std::vector<std::string> bundled_names(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& entry : bundles_in(dir)) {
        out.push_back(entry.first);
    }
    return out;
}

}  // namespace mip::detail
