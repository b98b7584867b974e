// Compiler (compiler.hpp): runs compile scripts with MATLAB or GNU Octave.

#include <string>

#include <mip/compiler.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

void bind_compiler(py::module_& m) {
    py::class_<CompileOptions> options(m, "CompileOptions",
                                       "What only the Compiler reads (the rest is RunOptions).");
    MIP_PY_FIELD(options, CompileOptions, input_dir,
                 "--input-dir: the prepared <wheel>.dir directories.");
    MIP_PY_FIELD(options, CompileOptions, engine,
                 "--engine: 'auto', 'matlab', 'octave' or a path to either.");
    MIP_PY_FIELD(options, CompileOptions, compile_timeout,
                 "--compile-timeout: seconds per package.");
    add_kwargs_init(options);

    py::class_<Compiler>(m, "Compiler", "Runs each prepared package's compile script.")
        .def(py::init([](const py::object& base, const py::object& run, const py::kwargs& kwargs) {
                 auto [o, r] = service_options<CompileOptions>(base, run, kwargs, "Compiler");
                 return Compiler(std::move(o), std::move(r));
             }),
             py::arg("options") = py::none(), py::arg("run") = py::none(),
             "Compiler(options=None, run=None, **fields): fields are CompileOptions or "
             "RunOptions fields.")
        .def("compile", &Compiler::compile, py::call_guard<py::gil_scoped_release>(),
             "Compiles every candidate; per-item failures are in the StageReport. Raises "
             "SpecError when no engine is found and there is work. Releases the GIL.")
        .def("__repr__", [](const Compiler&) { return std::string("<mip_native.Compiler>"); });
}

}  // namespace mip::bindings
