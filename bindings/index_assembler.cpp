// IndexAssembler (index_assembler.hpp): index.json + packages.html from a store's sidecars.

#include <string>

#include <mip/index_assembler.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

namespace {

/// Keeps the Python Store alive while the C++ assembler refers to it.
struct PyIndexAssembler {
    py::object store_ref;
    IndexAssembler impl;
};

}  // namespace

void bind_index_assembler(py::module_& m) {
    py::class_<IndexOptions> options(m, "IndexOptions", "Options of IndexAssembler.");
    options
        .def_readwrite("base_url", &IndexOptions::base_url,
                       "Public URL of the store prefix ('' = the store's default).")
        .def_readwrite("strict", &IndexOptions::strict)
        .def_readwrite("verify", &IndexOptions::verify)
        .def_readwrite("source_date_epoch", &IndexOptions::source_date_epoch,
                       "last_updated (None = now).")
        .def_readwrite("max_in_flight", &IndexOptions::max_in_flight)
        .def_readwrite("cache_dir", &IndexOptions::cache_dir);
    add_progress_field(options);
    add_kwargs_init(options);

    py::class_<SkippedSidecar>(m, "SkippedSidecar", "A sidecar left out of the index, and why.")
        .def_readonly("key", &SkippedSidecar::key)
        .def_readonly("reason", &SkippedSidecar::reason)
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def("__repr__", [](const SkippedSidecar& s) {
            return "SkippedSidecar(key=" + std::string(py::repr(to_py_str(s.key))) +
                   ", reason=" + std::string(py::repr(to_py_str(s.reason))) + ")";
        });

    py::class_<IndexResult>(m, "IndexResult", "An assembled index.")
        .def_readonly("packages", &IndexResult::packages, "PackageSpecs in index order.")
        .def_readonly("skipped", &IndexResult::skipped)
        .def_readonly("warnings", &IndexResult::warnings)
        .def_readonly("last_updated", &IndexResult::last_updated)
        .def_readonly("sidecars_listed", &IndexResult::sidecars_listed)
        .def_readonly("sidecars_downloaded", &IndexResult::sidecars_downloaded)
        .def("index_json", &IndexResult::index_json, "index.json text.")
        .def("packages_html", &IndexResult::packages_html, "packages.html text.")
        .def("__repr__", [](const IndexResult& r) {
            return "IndexResult(packages=" + std::to_string(r.packages.size()) +
                   ", skipped=" + std::to_string(r.skipped.size()) +
                   ", last_updated=" + std::string(py::repr(to_py_str(r.last_updated))) + ")";
        });

    py::class_<PyIndexAssembler>(m, "IndexAssembler",
                                 "Builds index.json from every *.mhl.mip.json under a store.")
        .def(
            // IndexAssembler(store, base=None, **kwargs): Python's signature, dynamic types.
            // NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
            py::init([](const py::object& store, const py::object& base, const py::kwargs& kwargs) {
                IndexOptions o = make_options<IndexOptions>(base, kwargs);
                o.logger = python_logger();
                ensure_signal_checks(o.progress);
                Store& s = store.cast<Store&>();
                return PyIndexAssembler{store, IndexAssembler(s, std::move(o))};
            }),
            py::arg("store"), py::arg("options") = py::none(),
            "IndexAssembler(store, options=None, **kwargs): kwargs are IndexOptions fields.")
        .def(
            "assemble",
            [](PyIndexAssembler& a) {
                py::gil_scoped_release release;
                return a.impl.assemble();
            },
            "Lists, downloads and validates every sidecar. Raises SpecError under strict (or on "
            "name collisions), RemoteError/NetworkError when listing fails. Releases the GIL.")
        .def_static("write", &IndexAssembler::write, py::arg("result"), py::arg("output_dir"),
                    py::call_guard<py::gil_scoped_release>(),
                    "Writes index.json and packages.html into output_dir atomically.")
        .def("__repr__",
             [](const PyIndexAssembler&) { return std::string("<mip_native.IndexAssembler>"); });

    m.def("index_order_less", &index_order_less, py::arg("a"), py::arg("b"),
          "Index order: name bytewise, version descending, then tags and URL.");
}

}  // namespace mip::bindings
