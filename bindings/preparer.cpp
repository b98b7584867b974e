// Preparer (preparer.hpp): recipes -> <output>/<wheel>.dir.

#include <memory>
#include <string>

#include <mip/preparer.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

template <>
void apply_binding_defaults(PrepareOptions& options) {
    auto defaults = default_python_recipe_options();
    options.python = defaults.python;
    options.python_path = defaults.python_path;
}

namespace {

/// The bound Preparer: keeps the Python Store object alive while the C++ Preparer points at it.
struct PyPreparer {
    py::object store_ref;
    std::unique_ptr<Preparer> impl;
};

}  // namespace

void bind_preparer(py::module_& m) {
    py::class_<PrepareOptions> options(m, "PrepareOptions",
                                       "What only the Preparer reads (the rest is RunOptions).");
    MIP_PY_FIELD(options, PrepareOptions, recipes, "--recipes: the directory of recipe dirs.");
    MIP_PY_FIELD(options, PrepareOptions, output_dir, "--output-dir: where .dir/.work go.");
    MIP_PY_FIELD(options, PrepareOptions, cache_dir, "Downloads and git mirrors between runs.");
    MIP_PY_FIELD(options, PrepareOptions, force, "--force: skip the cache check.");
    MIP_PY_FIELD(options, PrepareOptions, build_type, "--build-type: recipes' BUILD_TYPE.");
    MIP_PY_FIELD(options, PrepareOptions, platform_tag_override,
                 "The host platform tag to use ('' = detect; env MIP_PLATFORM_TAG).");
    MIP_PY_FIELD(options, PrepareOptions, recipe_timeout,
                 "--recipe-timeout: seconds a recipe process may run.");
    MIP_PY_FIELD(options, PrepareOptions, python,
                 "--python: interpreter for Python recipes (default: this interpreter).");
    MIP_PY_FIELD(options, PrepareOptions, python_path,
                 "--python-path: prepended to the recipe worker's PYTHONPATH (default: where "
                 "mip_native and mip_build_helpers were imported from).");
    MIP_PY_FIELD(options, PrepareOptions, tag_prefix,
                 "--tag-prefix: prefix of the rewritten version tags.");
    MIP_PY_FIELD(options, PrepareOptions, abbrev, "--abbrev: commit digits (7-40).");
    MIP_PY_FIELD(options, PrepareOptions, from_lock,
                 "--from-lock: prepare exactly what a mip.lock.yaml records ('' = no).");
    MIP_PY_FIELD(options, PrepareOptions, recipe_dir,
                 "RECIPE_DIR with from_lock ('' = recipe/ beside the lock).");
    MIP_PY_FIELD(options, PrepareOptions, strict_toolchain,
                 "--strict-toolchain: with from_lock, a toolchain difference is an error.");
    MIP_PY_FIELD(options, PrepareOptions, source_mirror,
                 "--source-mirror: SourceMirror list (or 'FROM=TO' strings), prefix rewrites of "
                 "the URLs recipes fetch from; the longest prefix wins.");
    MIP_PY_FIELD(options, PrepareOptions, max_download_mib,
                 "--max-download-mib: MiB one source download may bring.");
    MIP_PY_FIELD(options, PrepareOptions, max_extract_mib,
                 "--max-extract-mib: total uncompressed MiB of one source archive.");
    MIP_PY_FIELD(options, PrepareOptions, max_archive_entries,
                 "--max-archive-entries: entries in one source archive.");
    MIP_PY_FIELD(options, PrepareOptions, max_compression_ratio,
                 "--max-compression-ratio: uncompressed:compressed size of an entry >= 1 MiB.");
    MIP_PY_FIELD(options, PrepareOptions, require_https,
                 "--require-https: refuse plain http:// source URLs.");
    add_kwargs_init(options);

    py::class_<PyPreparer>(m, "Preparer",
                           "Runs every recipe under recipes into <output_dir>/<wheel>.dir.")
        .def(
            // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): Python's signature.
            py::init([](const py::object& base, const py::object& run, const py::object& store,
                        const py::kwargs& kwargs) {
                auto [o, r] = service_options<PrepareOptions>(base, run, kwargs, "Preparer");
                Store* s = store.is_none() ? nullptr : store.cast<Store*>();
                return PyPreparer{store, std::make_unique<Preparer>(std::move(o), std::move(r), s)};
            }),
            py::arg("options") = py::none(), py::arg("run") = py::none(), py::kw_only(),
            py::arg("store") = py::none(),
            "Preparer(options=None, run=None, *, store=None, **fields): fields are "
            "PrepareOptions or RunOptions fields; `store` holds the published sidecars of the "
            "cache check (None: run.base_url over HTTP, or build everything).")
        .def(
            "prepare",
            [](PyPreparer& p) {
                py::gil_scoped_release release;
                return p.impl->prepare();
            },
            "Runs every selected recipe; per-item failures are in the StageReport. Raises only "
            "when the run cannot start (IoError, SpecError) or is cancelled. Releases the GIL.")
        .def_property_readonly(
            "options", [](const PyPreparer& p) { return p.impl->options(); },
            "A copy of the options.")
        .def_property_readonly(
            "run", [](const PyPreparer& p) { return p.impl->run_options(); },
            "A copy of the shared options.")
        .def("__repr__", [](const PyPreparer& p) {
            return "<mip_native.Preparer recipes=" +
                   std::string(py::repr(py::cast(p.impl->options().recipes))) + ">";
        });
}

}  // namespace mip::bindings
