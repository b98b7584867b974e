// The lock of one build (prepare-stages §3.11): the mip.lock.yaml document a prepared build
// records, and the comparison of a `--from-lock` rebuild with the lock it was given.

#include <mip/error.hpp>

#include "detail/build_info_access.hpp"
#include "detail/convert.hpp"
#include "detail/crypto.hpp"
#include "detail/fs.hpp"
#include "detail/git.hpp"
#include "detail/lock.hpp"
#include "detail/package_layout.hpp"
#include "detail/text.hpp"
#include "preparer_impl.hpp"

namespace mip {

using namespace prepare;  // NOLINT(google-build-using-namespace): this file implements it

Json Preparer::Impl::lock_document(
    const Job& job,
    detail::StagedBuild* staged,
    const std::vector<std::string>& set_names,
    const Json& script_env,
    std::int64_t epoch,
    const std::string& epoch_source,
    const detail::Toolchain& tc,
    // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the lock's three parts
    const Json& prescript_entry,
    const Json& input_files,
    const Json& recipe_files) const {
    const auto& spec = job.build->spec();
    Json doc = Json::object();
    doc["lock_version"] = 1;
    doc["package"] = {{"name", spec.name},
                      {"version", spec.version},
                      {"version_source", staged ? staged->version_source() : std::string("recipe")},
                      {"build_number", spec.build_number},
                      {"matlab_tag", spec.matlab_tag},
                      {"abi_tag", spec.abi_tag},
                      {"platform_tag", spec.platform_tag}};
    if (staged) {
        doc["recipe"] = staged->resolved_recipe(set_names);
        doc["sources"] = staged->lock_sources();
    } else {
        doc["recipe"] = {{"name", spec.name},
                         {"version", spec.version},
                         {"build_number", spec.build_number},
                         {"script_env", set_names}};
        Json sources = Json::array();
        if (!spec.source_json.empty()) {
            auto src = Json::parse(spec.source_json);
            if (src.value("type", std::string()) == "multiple" && src.contains("items")) {
                sources = src["items"];
            } else if (!src.is_null()) {
                sources.push_back(src);
            }
        }
        doc["sources"] = sources;
    }
    doc["script_env"] = script_env;
    doc["source_date_epoch"] = epoch;
    doc["epoch_source"] = epoch_source;
    doc["toolchain"] = detail::toolchain_json(tc);
    Json git_config = Json::object();
    for (const auto& [k, v] : detail::forced_git_config()) {
        git_config[k] = v;
    }
    doc["git_config"] = git_config;
    doc["prescript"] = prescript_entry;
    doc["recipe_input_files"] = input_files;
    doc["recipe_files"] = recipe_files;
    auto text = detail::read_file(job.recipe_dir / job.recipe_file);
    doc["original_recipe"] = {
        {"path", job.recipe_file}, {"sha256", detail::sha256_hex(text)}, {"text", text}};
    return doc;
}

/// §3.12: every difference from the lock is a LockMismatch; toolchain ones warn unless strict.
void Preparer::Impl::compare_with_lock(const Json& doc, const std::string& package) const {
    std::vector<std::string> diffs;
    std::vector<std::string> toolchain_diffs;
    for (auto it = lock->begin(); it != lock->end(); ++it) {
        if (it.key() == "source_mirrors") {
            continue;
        }
        if (!doc.contains(it.key())) {
            diffs.push_back(it.key() + ": in the lock, missing now");
            continue;
        }
        diff_json(it.value(), doc[it.key()], it.key(),
                  it.key() == "toolchain" ? toolchain_diffs : diffs);
    }
    // Fetching through a mirror (or not) changes no byte: a difference is only logged.
    Json locked_mirrors = lock->contains("source_mirrors") ? (*lock)["source_mirrors"] : Json();
    Json now_mirrors = doc.contains("source_mirrors") ? doc["source_mirrors"] : Json();
    if (locked_mirrors != now_mirrors) {
        run_options.logger.info(package +
                                ": the sources were fetched through other mirrors than "
                                "when the lock was made");
    }
    for (const auto& d : toolchain_diffs) {
        if (options.strict_toolchain) {
            diffs.push_back(d);
        } else {
            std::string message = package;
            message += ": toolchain differs from the lock: " + d;
            run_options.logger.warning(message);
        }
    }
    if (!diffs.empty()) {
        throw LockMismatch(diffs);
    }
}

}  // namespace mip
