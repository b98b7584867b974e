// Bundler (bundler.hpp): prepared <wheel>.dir -> deterministic <wheel>.mhl + sidecar.

#include <string>

#include <mip/bundler.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

void bind_bundler(py::module_& m) {
    py::class_<BundleOptions> options(m, "BundleOptions",
                                      "What only the Bundler reads (the rest is RunOptions).");
    MIP_PY_FIELD(options, BundleOptions, input_dir,
                 "--input-dir: the prepared <wheel>.dir directories (bundle_all).");
    MIP_PY_FIELD(options, BundleOptions, output_dir,
                 "--output-dir: where .mhl files and sidecars go (bundle_all).");
    MIP_PY_FIELD(options, BundleOptions, compression_level,
                 "--compression-level: 0 = store, 1-9 deflate (default 6).");
    add_kwargs_init(options);

    py::class_<BundleResult>(m, "BundleResult", "What Bundler.bundle() wrote.")
        .def_readonly("wheel", &BundleResult::wheel)
        .def_readonly("mhl_path", &BundleResult::mhl_path)
        .def_readonly("sidecar_path", &BundleResult::sidecar_path)
        .def_readonly("sha256", &BundleResult::sha256)
        .def_readonly("size", &BundleResult::size)
        .def_readonly("entries", &BundleResult::entries)
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def("__repr__", [](const BundleResult& r) {
            return "BundleResult(wheel=" + std::string(py::repr(to_py_str(r.wheel))) +
                   ", sha256=" + std::string(py::repr(to_py_str(r.sha256))) +
                   ", size=" + std::to_string(r.size) + ", entries=" + std::to_string(r.entries) +
                   ")";
        });

    py::class_<Bundler>(m, "Bundler", "Zips a prepared <wheel>.dir into a deterministic .mhl.")
        .def(py::init([](const py::object& base, const py::object& run, const py::kwargs& kwargs) {
                 auto [o, r] = service_options<BundleOptions>(base, run, kwargs, "Bundler");
                 return Bundler(std::move(o), std::move(r));
             }),
             py::arg("options") = py::none(), py::arg("run") = py::none(),
             "Bundler(options=None, run=None, **fields): fields are BundleOptions or RunOptions "
             "fields (source_date_epoch, base_url, flat_urls...).")
        .def("bundle", &Bundler::bundle, py::arg("dir"), py::arg("output_dir"),
             py::call_guard<py::gil_scoped_release>(),
             "Bundles `dir` (a <wheel>.dir) into `output_dir`: <wheel>.mhl and "
             "<wheel>.mhl.mip.json. Raises SpecError, ArchiveError, IoError. Releases the GIL.")
        .def("bundle_all", &Bundler::bundle_all, py::call_guard<py::gil_scoped_release>(),
             "mip-build bundle: every selected <wheel>.dir of input_dir into output_dir. "
             "Returns a StageReport. Releases the GIL.")
        .def_static("mhl_url", &Bundler::mhl_url, py::arg("base_url"), py::arg("wheel"),
                    py::arg("sha256"), py::arg("flat_urls") = false,
                    "The mhl_url for a wheel with this digest under base_url.")
        .def("__repr__", [](const Bundler&) { return std::string("<mip_native.Bundler>"); });

    m.def("clamp_zip_epoch", &clamp_zip_epoch, py::arg("epoch"),
          "Clamps to [1980-01-01, 2107-12-31T23:59:58Z], rounded down to even seconds.");
}

}  // namespace mip::bindings
