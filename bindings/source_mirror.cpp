// Source mirrors (source_mirror.hpp): SourceMirror, parse_source_mirrors, mirror_url. A
// SourceMirror is also accepted as its "FROM=TO" text wherever options take one.

#include <string>
#include <vector>

#include <mip/source_mirror.hpp>

#include "bindings.hpp"

namespace mip::bindings {

void bind_source_mirror(py::module_& m) {
    py::class_<SourceMirror>(m, "SourceMirror",
                             "One source mirror: URLs starting with `original` are fetched from "
                             "`mirror` followed by the rest of the URL.")
        .def(py::init([](const std::string& original, const std::string& mirror) {
                 return SourceMirror::parse(original + "=" + mirror);
             }),
             py::arg("original"), py::arg("mirror"))
        .def(py::init(&SourceMirror::parse), py::arg("text"),
             "From 'FROM=TO' (as --source-mirror takes it). Raises SpecError.")
        .def_static("parse", &SourceMirror::parse, py::arg("text"),
                    "From 'FROM=TO'. Raises SpecError when a side is empty or holds whitespace.")
        .def_readwrite("original", &SourceMirror::original)
        .def_readwrite("mirror", &SourceMirror::mirror)
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def("__str__", [](const SourceMirror& s) { return s.original + "=" + s.mirror; })
        .def("__repr__", [](const SourceMirror& s) {
            return "SourceMirror(" + std::string(py::repr(py::str(s.original))) + ", " +
                   std::string(py::repr(py::str(s.mirror))) + ")";
        });
    py::implicitly_convertible<py::str, SourceMirror>();

    m.def("parse_source_mirrors", &parse_source_mirrors, py::arg("text"),
          "Parses MIP_SOURCE_MIRRORS: 'FROM=TO' entries separated by whitespace. Raises "
          "SpecError.");
    m.def("mirror_url", &mirror_url, py::arg("url"), py::arg("mirrors"),
          "url with the longest matching mirror prefix replaced (the last of equal prefixes "
          "wins); None when no mirror applies.");
}

}  // namespace mip::bindings
