// Compiler (compiler.hpp): runs compile scripts with MATLAB or GNU Octave.

#include <string>

#include <mip/compiler.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

void bind_compiler(py::module_& m) {
    py::class_<CompileOptions> options(m, "CompileOptions", "Options of Compiler.");
    options.def_readwrite("prepared_dir", &CompileOptions::prepared_dir)
        .def_readwrite("packages", &CompileOptions::packages)
        .def_readwrite("engine", &CompileOptions::engine,
                       "'auto', 'matlab', 'octave' or a path to either.")
        .def_readwrite("jobs", &CompileOptions::jobs)
        .def_readwrite("keep_going", &CompileOptions::keep_going)
        .def_readwrite("dry_run", &CompileOptions::dry_run)
        .def_readwrite("timeout_seconds", &CompileOptions::timeout_seconds)
        .def_readwrite("shard", &CompileOptions::shard)
        .def_readwrite("pass_env", &CompileOptions::pass_env)
        .def_readwrite("environment", &CompileOptions::environment);
    add_progress_field(options);
    add_kwargs_init(options);

    py::class_<Compiler>(m, "Compiler", "Runs each prepared package's compile script.")
        .def(py::init([](const py::object& base, const py::kwargs& kwargs) {
                 CompileOptions o = make_options<CompileOptions>(base, kwargs);
                 o.logger = python_logger();
                 ensure_signal_checks(o.progress);
                 return Compiler(std::move(o));
             }),
             py::arg("options") = py::none(),
             "Compiler(options=None, **kwargs): kwargs are CompileOptions fields.")
        .def("compile", &Compiler::compile, py::call_guard<py::gil_scoped_release>(),
             "Compiles every candidate; per-item failures are in the StageReport. Raises "
             "SpecError when no engine is found and there is work. Releases the GIL.")
        .def("__repr__", [](const Compiler&) { return std::string("<mip_native.Compiler>"); });
}

}  // namespace mip::bindings
