// Tester (tester.hpp): the test stage — install, load and test each bundle.

#include <string>

#include <mip/tester.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

void bind_tester(py::module_& m) {
    py::enum_<TestMode>(m, "TestMode", "--test: whether publish runs the test stage.")
        .value("skip", TestMode::skip)
        .value("native", TestMode::native);

    py::class_<TestOptions> options(m, "TestOptions",
                                    "What only the Tester reads (the rest is RunOptions).");
    MIP_PY_FIELD(options, TestOptions, input_dir, "--input-dir: the bundled .mhl files.");
    MIP_PY_FIELD(options, TestOptions, work_dir, "--work-dir: where <wheel>.work/test.log goes.");
    MIP_PY_FIELD(options, TestOptions, test, "--test: skip or native (publish only).");
    MIP_PY_FIELD(options, TestOptions, test_engine,
                 "--test-engine: 'auto', 'matlab', 'octave' or a path to either.");
    MIP_PY_FIELD(options, TestOptions, test_timeout, "--test-timeout: seconds per package.");
    MIP_PY_FIELD(options, TestOptions, glibc_floor,
                 "--glibc-floor: newest GLIBC_x.y a shipped binary may need.");
    MIP_PY_FIELD(options, TestOptions, audit_library,
                 "--audit-library: the LD_AUDIT library ('' = libmip's).");
    MIP_PY_FIELD(options, TestOptions, no_sandbox,
                 "--no-sandbox: run without the namespace sandbox.");
    add_kwargs_init(options);

    py::class_<Tester>(m, "Tester", "Installs, loads and tests each bundled package.")
        .def(py::init([](const py::object& base, const py::object& run, const py::kwargs& kwargs) {
                 auto [o, r] = service_options<TestOptions>(base, run, kwargs, "Tester");
                 return Tester(std::move(o), std::move(r));
             }),
             py::arg("options") = py::none(), py::arg("run") = py::none(),
             "Tester(options=None, run=None, **fields): fields are TestOptions or RunOptions "
             "fields.")
        .def("test", &Tester::test, py::call_guard<py::gil_scoped_release>(),
             "Tests every selected bundle; per-item failures are in the StageReport. Raises "
             "SpecError when no engine is found and there is work. Releases the GIL.")
        .def_static("failure_marker", &Tester::failure_marker, py::arg("mhl"),
                    "The marker a failed test leaves beside the bundle.")
        .def("__repr__", [](const Tester&) { return std::string("<mip_native.Tester>"); });
}

}  // namespace mip::bindings
