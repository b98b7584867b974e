// Uploader (uploader.hpp): bundles and sidecars into a store.

#include <string>

#include <mip/uploader.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

namespace {

/// Keeps the Python Store alive while the C++ uploader refers to it.
struct PyUploader {
    py::object store_ref;
    Uploader impl;
};

}  // namespace

void bind_uploader(py::module_& m) {
    py::class_<UploadOptions> options(m, "UploadOptions",
                                      "What only the Uploader reads (the rest is RunOptions).");
    MIP_PY_FIELD(options, UploadOptions, input_dir,
                 "--input-dir: the bundled .mhl files and their sidecars.");
    MIP_PY_FIELD(options, UploadOptions, allow_overwrite,
                 "--allow-overwrite: with flat_urls, replace a published .mhl with other bytes.");
    MIP_PY_FIELD(options, UploadOptions, allow_octave_builds,
                 "--allow-octave-builds: upload GNU Octave builds to an S3 store.");
    MIP_PY_FIELD(options, UploadOptions, flat_copy,
                 "--flat-copy: also write the flat .mhl (a server-side copy) into a store that "
                 "holds no flat names yet.");
    add_kwargs_init(options);

    py::class_<PyUploader>(m, "Uploader",
                           "Publishes bundled packages into a store: content-addressed .mhl, "
                           "the flat .mhl where the store keeps flat names (or flat_copy), then "
                           "the sidecar, per package.")
        // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): Python's signature.
        .def(py::init([](const py::object& store, const py::object& base, const py::object& run,
                         const py::kwargs& kwargs) {
                 auto [o, r] = service_options<UploadOptions>(base, run, kwargs, "Uploader");
                 Store& s = store.cast<Store&>();
                 return PyUploader{store, Uploader(s, std::move(o), std::move(r))};
             }),
             py::arg("store"), py::arg("options") = py::none(), py::arg("run") = py::none(),
             "Uploader(store, options=None, run=None, **fields): fields are UploadOptions or "
             "RunOptions fields (base_url, flat_urls, max_in_flight, dry_run...).")
        .def(
            "upload",
            [](PyUploader& u) {
                py::gil_scoped_release release;
                return u.impl.upload();
            },
            "Uploads every selected bundle of input_dir; per-item results in the StageReport. "
            "Raises SpecError for an unusable base URL. Releases the GIL.")
        .def_property_readonly(
            "options", [](const PyUploader& u) { return u.impl.options(); },
            "A copy of the options.")
        .def_property_readonly(
            "run", [](const PyUploader& u) { return u.impl.run_options(); },
            "A copy of the shared options.")
        .def("__repr__", [](const PyUploader& u) {
            return "<mip_native.Uploader input_dir=" +
                   std::string(py::repr(py::cast(u.impl.options().input_dir))) + ">";
        });
}

}  // namespace mip::bindings
