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
    options.python = default_python_recipe_options();
}

namespace {

/// The bound Preparer: keeps the Python Store object alive while the C++ Preparer points at it.
struct PyPreparer {
    py::object store_ref;
    std::unique_ptr<Preparer> impl;
};

}  // namespace

void bind_preparer(py::module_& m) {
    py::class_<PrepareOptions> options(m, "PrepareOptions", "Options of Preparer.");
    options.def_readwrite("recipes_dir", &PrepareOptions::recipes_dir)
        .def_readwrite("output_dir", &PrepareOptions::output_dir)
        .def_readwrite("cache_dir", &PrepareOptions::cache_dir)
        .def_readwrite("packages", &PrepareOptions::packages,
                       "Only these (package or recipe dir names); empty = all.")
        .def_readwrite("force", &PrepareOptions::force)
        .def_readwrite("dry_run", &PrepareOptions::dry_run)
        .def_readwrite("keep_going", &PrepareOptions::keep_going)
        .def_readwrite("build_type", &PrepareOptions::build_type)
        .def_readwrite("jobs", &PrepareOptions::jobs)
        .def_readwrite("shard", &PrepareOptions::shard, "A Shard, 'K/N' or None.")
        .def_readwrite("source_date_epoch", &PrepareOptions::source_date_epoch)
        .def_readwrite("platform_tag_override", &PrepareOptions::platform_tag_override)
        .def_property(
            "store", [](const PrepareOptions& o) { return o.store; },
            [](PrepareOptions& o, Store* s) { o.store = s; }, py::return_value_policy::reference,
            py::keep_alive<1, 2>(),
            "Store holding published sidecars for the cache check (None = use base_url).")
        .def_readwrite("base_url", &PrepareOptions::base_url)
        .def_readwrite("recipe_timeout_seconds", &PrepareOptions::recipe_timeout_seconds)
        .def_readwrite("environment", &PrepareOptions::environment,
                       "Environment for recipes and CI detection (None = os.environ).")
        .def_readwrite("source_mirrors", &PrepareOptions::source_mirrors,
                       "SourceMirror list (or 'FROM=TO' strings): prefix rewrites of the URLs "
                       "recipes fetch from; the longest prefix wins.")
        .def_readwrite("pass_env", &PrepareOptions::pass_env,
                       "Further variable names recipe processes may see (no credentials).");
    add_python_recipe_fields(options);
    add_progress_field(options);
    add_kwargs_init(options);

    py::class_<PyPreparer>(m, "Preparer",
                           "Runs every recipe under recipes_dir into <output_dir>/<wheel>.dir.")
        .def(py::init([](const py::object& base, const py::kwargs& kwargs) {
                 PrepareOptions o = make_options<PrepareOptions>(base, kwargs);
                 o.logger = python_logger();
                 ensure_signal_checks(o.progress);
                 py::object store_ref =
                     o.store ? py::cast(o.store, py::return_value_policy::reference) : py::none();
                 return PyPreparer{store_ref, std::make_unique<Preparer>(std::move(o))};
             }),
             py::arg("options") = py::none(),
             "Preparer(options=None, **kwargs): kwargs are PrepareOptions fields.")
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
        .def("__repr__", [](const PyPreparer& p) {
            return "<mip_native.Preparer recipes_dir=" +
                   std::string(py::repr(py::cast(p.impl->options().recipes_dir))) + ">";
        });
}

}  // namespace mip::bindings
