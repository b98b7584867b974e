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
    py::class_<IndexOptions> options(
        m, "IndexOptions", "What only the IndexAssembler reads (the rest is RunOptions).");
    MIP_PY_FIELD(options, IndexOptions, strict,
                 "--strict: fail on a bad sidecar or missing dependency.");
    MIP_PY_FIELD(options, IndexOptions, verify,
                 "--verify: re-download every .mhl and check size and sha256.");
    MIP_PY_FIELD(options, IndexOptions, full_listing,
                 "--full-listing: list the store instead of trusting its index manifest, and "
                 "repair the manifest.");
    MIP_PY_FIELD(options, IndexOptions, cache_dir, "ETag cache of sidecars ('' = none).");
    MIP_PY_FIELD(options, IndexOptions, output_dir, "--output-dir: where mip-build index writes.");
    MIP_PY_FIELD(options, IndexOptions, channel,
                 "--channel: OWNER/NAME, the current index's github_repo (format='mip').");
    MIP_PY_FIELD(options, IndexOptions, allow_partial,
                 "--allow-partial: list a release before all its architectures are published.");
    MIP_PY_FIELD(options, IndexOptions, compatibility_floor,
                 "--compatibility-floor: the current index's mip_compatibility_floor ('' = "
                 "none; publish reads channel.yaml).");
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
        .def_readonly("sidecar_source", &IndexResult::sidecar_source)
        .def_readonly("document", &IndexResult::document)
        .def("index_json", &IndexResult::index_json, "index.json text.")
        .def("packages_html", &IndexResult::packages_html,
             "packages.html text (render_channel_site of index_json()).")
        .def("__repr__", [](const IndexResult& r) {
            return "IndexResult(packages=" + std::to_string(r.packages.size()) +
                   ", skipped=" + std::to_string(r.skipped.size()) +
                   ", last_updated=" + std::string(py::repr(to_py_str(r.last_updated))) + ")";
        });

    py::class_<PyIndexAssembler>(m, "IndexAssembler",
                                 "Builds index.json from every *.mhl.mip.json under a store.")
        // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): Python's signature, dynamic types.
        .def(py::init([](const py::object& store, const py::object& base, const py::object& run,
                         const py::kwargs& kwargs) {
                 auto [o, r] = service_options<IndexOptions>(base, run, kwargs, "IndexAssembler");
                 Store& s = store.cast<Store&>();
                 return PyIndexAssembler{store, IndexAssembler(s, std::move(o), std::move(r))};
             }),
             py::arg("store"), py::arg("options") = py::none(), py::arg("run") = py::none(),
             "IndexAssembler(store, options=None, run=None, **fields): fields are IndexOptions "
             "or RunOptions fields (base_url, source_date_epoch, max_in_flight...).")
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
                    "Writes index.json, packages.html, feed.json and feed.xml into output_dir, "
                    "together or not at all.")
        .def("__repr__",
             [](const PyIndexAssembler&) { return std::string("<mip_native.IndexAssembler>"); });

    m.def("index_order_less", &index_order_less, py::arg("a"), py::arg("b"),
          "Index order: name bytewise, version descending, then tags and URL.");
}

}  // namespace mip::bindings
