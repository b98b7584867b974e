#pragma once
// One `bind_<area>` per public header (plus errors); module.cpp calls them in order.

// Every translation unit includes this first, so all see the same type casters (STL containers,
// std::filesystem::path as str/os.PathLike, std::chrono durations as timedelta/float seconds).
#include <exception>

#include <pybind11/chrono.h>
#include <pybind11/operators.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <mip/store.hpp>

namespace mip::bindings {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_progress(py::module_& m);
void bind_report(py::module_& m);
void bind_package_spec(py::module_& m);
void bind_run_options(py::module_& m);
void bind_store(py::module_& m);

void bind_bundler(py::module_& m);
void bind_source_mirror(py::module_& m);
void bind_preparer(py::module_& m);
void bind_compiler(py::module_& m);
void bind_tester(py::module_& m);
void bind_index_assembler(py::module_& m);
void bind_uploader(py::module_& m);
void bind_channel_page(py::module_& m);
void bind_pipeline(py::module_& m);
void bind_helpers(py::module_& m);

/// The Python exception a libmip error becomes (the same one a failing call raises); None for
/// a null pointer. Needs the GIL.
[[nodiscard]] py::object exception_object(const std::exception_ptr& error);

/// store_batch.cpp: the batch request/result types, and the batch calls on Store.
void bind_batch_types(py::module_& m);
void bind_batch_calls(py::class_<Store>& store);

}  // namespace mip::bindings
