// Bundler (bundler.hpp): prepared <wheel>.dir -> deterministic <wheel>.mhl + sidecar.

#include <string>

#include <mip/bundler.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

void bind_bundler(py::module_& m) {
    py::class_<BundleOptions> options(m, "BundleOptions", "Options of Bundler.");
    options
        .def_readwrite("source_date_epoch", &BundleOptions::source_date_epoch,
                       "Overrides the mip.json epoch (None = from mip.json, else 1980).")
        .def_readwrite("compression_level", &BundleOptions::compression_level,
                       "0 = store, 1-9 deflate (default 6).")
        .def_readwrite("base_url", &BundleOptions::base_url,
                       "Public base URL for the sidecar's mhl_url ('' = set at upload).")
        .def_readwrite("flat_urls", &BundleOptions::flat_urls,
                       "<base>/<wheel>.mhl instead of <base>/sha256/<hex>/<wheel>.mhl.");
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
        .def(py::init([](const py::object& base, const py::kwargs& kwargs) {
                 BundleOptions o = make_options<BundleOptions>(base, kwargs);
                 o.logger = python_logger();
                 return Bundler(std::move(o));
             }),
             py::arg("options") = py::none(),
             "Bundler(options=None, **kwargs): kwargs are BundleOptions fields.")
        .def("bundle", &Bundler::bundle, py::arg("dir"), py::arg("output_dir"),
             py::call_guard<py::gil_scoped_release>(),
             "Bundles `dir` (a <wheel>.dir) into `output_dir`: <wheel>.mhl and "
             "<wheel>.mhl.mip.json. Raises SpecError, ArchiveError, IoError. Releases the GIL.")
        .def_static("mhl_url", &Bundler::mhl_url, py::arg("base_url"), py::arg("wheel"),
                    py::arg("sha256"), py::arg("flat_urls") = false,
                    "The mhl_url for a wheel with this digest under base_url.")
        .def("__repr__", [](const Bundler&) { return std::string("<mip_native.Bundler>"); });

    m.def("clamp_zip_epoch", &clamp_zip_epoch, py::arg("epoch"),
          "Clamps to [1980-01-01, 2107-12-31T23:59:58Z], rounded down to even seconds.");
}

}  // namespace mip::bindings
