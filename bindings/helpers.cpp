// Recipe helpers (helpers.hpp), bound 1:1. mip_build_helpers adapts these to the historical
// Python signatures. Fetches and file-system walks release the GIL.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <mip/helpers.hpp>
#include <mip/recipe.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"

namespace mip::bindings {

void bind_helpers(py::module_& m) {
    py::class_<CloneResult>(m, "CloneResult", "What clone_repository_and_remove_git() checked out.")
        .def_readonly("commit", &CloneResult::commit, "40 hex digits.")
        .def_readonly("commit_time", &CloneResult::commit_time,
                      "Committer time, seconds since the epoch.")
        .def("__repr__", [](const CloneResult& r) {
            return "CloneResult(commit='" + r.commit +
                   "', commit_time=" + std::to_string(r.commit_time) + ")";
        });

    m.def(
        "clone_repository_and_remove_git",
        [](const std::string& url, const std::filesystem::path& clone_dir,
           std::optional<std::string> ref, std::uint32_t timeout) {
            CloneOptions o;
            o.ref = std::move(ref);
            o.timeout_seconds = timeout;
            o.logger = python_logger();
            py::gil_scoped_release release;
            return clone_repository_and_remove_git(url, clone_dir, o);
        },
        py::arg("repository_url"), py::arg("clone_dir"), py::kw_only(), py::arg("ref") = py::none(),
        py::arg("timeout") = CloneOptions{}.timeout_seconds,
        "git clone (shallow unless ref is a commit) with isolated config, then removes every "
        ".git. Raises SpecError for a non-empty clone_dir, BuildError when git fails.");

    m.def(
        "download_and_extract_zip",
        // The parameters follow the py::arg list below, which names each one.
        [](const std::string& url, const std::filesystem::path& extract_dir,
           std::optional<std::string> sha256, bool strip_top_level,
           std::uint32_t timeout,  // NOLINT(bugprone-easily-swappable-parameters)
           unsigned retries, const std::optional<std::filesystem::path>& cache_dir,
           std::uint64_t max_download_mib, std::uint64_t max_extract_mib,
           std::uint64_t max_archive_entries, std::uint64_t max_compression_ratio) {
            DownloadOptions o;
            o.limits = {max_download_mib, max_extract_mib, max_archive_entries,
                        max_compression_ratio};
            o.sha256 = std::move(sha256);
            o.strip_top_level = strip_top_level;
            o.timeout_seconds = timeout;
            o.retries = retries;
            o.cache_dir = cache_dir.value_or(std::filesystem::path());
            o.logger = python_logger();
            py::gil_scoped_release release;
            return download_and_extract_zip(url, extract_dir, o);
        },
        py::arg("url"), py::arg("extract_dir") = std::filesystem::path("."), py::kw_only(),
        py::arg("sha256") = py::none(),
        py::arg("strip_top_level") = DownloadOptions{}.strip_top_level,
        py::arg("timeout") = DownloadOptions{}.timeout_seconds,
        py::arg("retries") = DownloadOptions{}.retries, py::arg("cache_dir") = py::none(),
        py::arg("max_download_mib") = ArchiveLimits{}.max_download_mib,
        py::arg("max_extract_mib") = ArchiveLimits{}.max_extract_mib,
        py::arg("max_archive_entries") = ArchiveLimits{}.max_archive_entries,
        py::arg("max_compression_ratio") = ArchiveLimits{}.max_compression_ratio,
        "Downloads a zip (https://, file://; http:// warns) into a private temp dir, checks "
        "sha256, refuses unsafe entries and archives over the limits (download MiB, extracted "
        "MiB, entries, per-entry compression ratio) before writing anything, extracts. Returns "
        "the archive's hex sha256. cache_dir keeps the archive (None = a private temp dir, "
        "removed afterwards). Raises NetworkError, RemoteError, ArchiveError, IoError.");

    m.def("collect_exposed_symbols", &collect_exposed_symbols, py::arg("base_dir"),
          py::arg("extensions") = std::vector<std::string>{".m"},
          py::call_guard<py::gil_scoped_release>(),
          "Top-level symbols of base_dir, sorted bytewise.");
    m.def("collect_exposed_symbols_multiple_paths", &collect_exposed_symbols_multiple_paths,
          py::arg("base_dir"), py::arg("paths"),
          py::arg("extensions") = std::vector<std::string>{".m"},
          py::call_guard<py::gil_scoped_release>(),
          "Sorted union of collect_exposed_symbols(base_dir / path) over paths.");
    m.def("collect_exposed_symbols_recursive", &collect_exposed_symbols_recursive,
          py::arg("package_dir"), py::arg("base_path"),
          py::arg("exclude_dirs") = std::vector<std::string>{},
          py::call_guard<py::gil_scoped_release>(),
          "Symbols of package_dir / base_path and every directory below it, pruning "
          "exclude_dirs, +..., @..., private, .git.");
    m.def("create_load_and_unload_scripts", &create_load_and_unload_scripts, py::arg("mhl_dir"),
          py::arg("dirs_to_add_to_path"), py::call_guard<py::gil_scoped_release>(),
          "Writes load_package.m / unload_package.m (one addpath/rmpath line per dir).");
    m.def("generate_recursive_subdir_list", &generate_recursive_subdir_list, py::arg("mhl_dir"),
          py::arg("base_dir"), py::arg("exclude_dirs") = std::vector<std::string>{},
          py::call_guard<py::gil_scoped_release>(),
          "Every directory strictly below base_dir, mhl_dir-relative, sorted.");
    m.def("strip_prebuilt_binaries", &strip_prebuilt_binaries, py::arg("base_dir"),
          py::arg("compiled") = true, py::arg("keep") = std::vector<std::string>{},
          py::call_guard<py::gil_scoped_release>(),
          "Removes prebuilt binaries (format spec section 9); returns the removed relative "
          "paths, sorted.");

    py::class_<AddPath>(m, "AddPath", "One addpaths item of a prepare.yaml recipe.")
        .def(py::init([](std::string path, bool recursive, std::vector<std::string> exclude) {
                 return AddPath{std::move(path), recursive, std::move(exclude)};
             }),
             py::arg("path"), py::arg("recursive") = false,
             py::arg("exclude") = std::vector<std::string>{})
        .def_readwrite("path", &AddPath::path)
        .def_readwrite("recursive", &AddPath::recursive)
        .def_readwrite("exclude", &AddPath::exclude)
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def("__repr__", [](const AddPath& a) {
            return "AddPath(path=" + std::string(py::repr(to_py_str(a.path))) +
                   ", recursive=" + (a.recursive ? "True" : "False") + ")";
        });
    py::implicitly_convertible<py::str, AddPath>();
    m.def("expand_addpaths", &expand_addpaths, py::arg("mhl_dir"), py::arg("items"),
          py::call_guard<py::gil_scoped_release>(),
          "Expands addpaths items relative to mhl_dir. Raises SpecError for a missing path.");

    m.def("host_platform_tag", &host_platform_tag, py::arg("override_tag") = "",
          "This host's platform tag (linux_x86_64, macos_arm64, ...); override_tag wins when "
          "non-empty. Raises SpecError on an unsupported host.");
}

}  // namespace mip::bindings
