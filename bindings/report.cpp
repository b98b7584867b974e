// StageReport / ItemResult / ItemStatus (report.hpp).

#include <string>

#include <mip/report.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"

namespace mip::bindings {

void bind_report(py::module_& m) {
    py::enum_<ItemStatus>(m, "ItemStatus", "Outcome of one item of a batch stage.")
        .value("done", ItemStatus::done)
        .value("skipped", ItemStatus::skipped)
        .value("planned", ItemStatus::planned)
        .value("failed", ItemStatus::failed);

    py::enum_<ErrorCode>(m, "ErrorCode", "Semantic error category of a failed item.")
        .value("internal", ErrorCode::internal)
        .value("build_failed", ErrorCode::build_failed)
        .value("invalid_spec", ErrorCode::invalid_spec)
        .value("io", ErrorCode::io)
        .value("archive", ErrorCode::archive)
        .value("network", ErrorCode::network)
        .value("remote", ErrorCode::remote)
        .value("auth", ErrorCode::auth)
        .value("cancelled", ErrorCode::cancelled)
        .value("lock_mismatch", ErrorCode::lock_mismatch);

    py::class_<ItemResult>(m, "ItemResult", "Result of one package in a batch stage.")
        .def(py::init<>())
        .def_readwrite("package", &ItemResult::package)
        .def_readwrite("wheel", &ItemResult::wheel)
        .def_readwrite("status", &ItemResult::status)
        .def_readwrite("detail", &ItemResult::detail)
        .def_readwrite("error_code", &ItemResult::error_code, "Meaningful when `status` is failed.")
        .def_readwrite("path", &ItemResult::path)
        .def_readwrite("seconds", &ItemResult::seconds)
        .def_readwrite("attempts", &ItemResult::attempts)
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def("__repr__", [](const ItemResult& r) {
            std::string out = "ItemResult(package=" + std::string(py::repr(to_py_str(r.package))) +
                              ", wheel=" + std::string(py::repr(to_py_str(r.wheel))) +
                              ", status=" + to_string(r.status);
            if (r.status == ItemStatus::failed) {
                out += std::string(", error_code=") + to_string(r.error_code);
            }
            return out + ", detail=" + std::string(py::repr(to_py_str(r.detail))) + ")";
        });

    py::class_<StageReport>(m, "StageReport",
                            "Per-item results of prepare, compile, bundle or upload.")
        .def(py::init<>())
        .def_readwrite("stage", &StageReport::stage)
        .def_readwrite("dry_run", &StageReport::dry_run)
        .def_readwrite("items", &StageReport::items)
        .def("count", &StageReport::count, py::arg("status"), "Items with this status.")
        .def_property_readonly("ok", &StageReport::ok, "True when no item failed.")
        .def(
            "first_failure",
            [](const StageReport& r) -> py::object {
                const ItemResult* f = r.first_failure();
                return f ? py::cast(*f) : py::none();
            },
            "The first failed item, or None.")
        .def("to_json", &StageReport::to_json,
             "One JSON document: {\"stage\", \"items\", \"counts\"}.")
        .def("__len__", [](const StageReport& r) { return r.items.size(); })
        .def("__repr__", [](const StageReport& r) {
            return "StageReport(stage=" + std::string(py::repr(to_py_str(r.stage))) +
                   ", done=" + std::to_string(r.count(ItemStatus::done)) +
                   ", skipped=" + std::to_string(r.count(ItemStatus::skipped)) +
                   ", planned=" + std::to_string(r.count(ItemStatus::planned)) +
                   ", failed=" + std::to_string(r.count(ItemStatus::failed)) + ")";
        });
}

}  // namespace mip::bindings
