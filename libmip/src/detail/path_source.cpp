#include "detail/path_source.hpp"

#include <algorithm>

#include <mip/error.hpp>

#include "detail/fs.hpp"

namespace mip::detail {

namespace {

bool is_excluded(const std::string& rel, const std::vector<std::string>& excluded) {
    return std::any_of(excluded.begin(), excluded.end(), [&rel](const std::string& e) {
        return rel == e ||
               (rel.size() > e.size() && rel.compare(0, e.size(), e) == 0 && rel[e.size()] == '/');
    });
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): `from` lies below `root`, then `to`.
void copy_below(const fs::path& root,
                const fs::path& from,
                const fs::path& to,
                const std::vector<std::string>& excluded) {
    create_dirs(to);
    std::error_code ec;
    for (fs::directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        auto name = entry.path().filename();
        if (name == ".git" || is_excluded(relative_generic(entry.path(), root), excluded)) {
            continue;
        }
        auto st = entry.symlink_status();
        auto target = to / name;
        std::error_code link_ec;
        if (fs::is_symlink(st)) {
            fs::create_symlink(fs::read_symlink(entry.path()), target, link_ec);
        } else if (fs::is_directory(st)) {
            copy_below(root, entry.path(), target, excluded);
        } else if (fs::is_regular_file(st)) {
            copy_file_checked(entry.path(), target,
                              static_cast<unsigned>(st.permissions()) & 07777U);
        }
        if (link_ec) {
            throw IoError("cannot copy " + entry.path().string() + " to", target.string(), link_ec);
        }
    }
    if (ec) {
        throw IoError("cannot list directory", from.string(), ec);
    }
}

}  // namespace

std::vector<std::string> path_source_exclusions(const fs::path& root_in,
                                                const std::vector<fs::path>& outputs_in,
                                                const std::string& subject,
                                                const std::string& field) {
    auto root = fs::absolute(root_in).lexically_normal();
    std::vector<fs::path> outputs;
    for (const auto& o : outputs_in) {
        if (!o.empty()) {
            outputs.push_back(fs::absolute(o).lexically_normal());
        }
    }
    // The prepared and cache directories of one run share the build directory (`--build-dir`):
    // when it lies inside the source, all of it (bundled/, store/, gh-pages/ too) is left out.
    if (outputs.size() == 2 && outputs[0].parent_path() == outputs[1].parent_path() &&
        is_within(outputs[0].parent_path(), root) && outputs[0].parent_path() != root) {
        outputs = {outputs[0].parent_path()};
    }
    std::vector<std::string> out;
    for (const auto& o : outputs) {
        if (is_within(root, o)) {
            throw SpecError(
                subject,
                {{field, "'" + root.string() + "' holds (or lies in) libmip's output directory " +
                             o.string() + "; use another --build-dir"}});
        }
        if (is_within(o, root)) {
            auto rel = relative_generic(o, root);
            if (std::find(out.begin(), out.end(), rel) == out.end()) {
                out.push_back(rel);
            }
        }
    }
    return out;
}

std::string path_source_hash(const fs::path& root, const std::vector<std::string>& excluded) {
    if (excluded.empty()) {
        return tree_hash(root);
    }
    return tree_hash(root, [&](const std::string& rel) { return is_excluded(rel, excluded); });
}

void copy_path_source(const fs::path& root,
                      const fs::path& to,
                      const std::vector<std::string>& excluded) {
    copy_below(root, root, to, excluded);
}

}  // namespace mip::detail
