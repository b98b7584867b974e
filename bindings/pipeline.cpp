// The verb-level calls (pipeline.hpp): prepare, compile, bundle, upload, index, publish. Each
// takes the CLI's options as keyword arguments: the flag `--x-y` of verb V is the keyword `x_y`
// of mip_native.V, found in the PipelineOptions section V reads (`verb_sections`). Each call
// releases the GIL and returns a report.

#include <map>
#include <string>
#include <vector>

#include <mip/pipeline.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

template <>
void apply_binding_defaults(PrepareOptions& options);  // preparer.cpp

template <>
void apply_binding_defaults(PipelineOptions& options) {
    apply_binding_defaults(options.prepare);
}

namespace {

/// Where each verb's keyword arguments are looked up, after PipelineOptions' own fields
/// (build_dir, store): the sections (PipelineOptions members) whose fields its flags fill.
const std::map<std::string, std::vector<std::string>>& verb_sections() {
    static const std::map<std::string, std::vector<std::string>> sections = {
        {"prepare", {"run", "prepare", "store_options", "upload"}},
        {"compile", {"run", "compile"}},
        {"bundle", {"run", "bundle"}},
        {"test", {"run", "tester"}},
        {"upload", {"run", "upload", "store_options"}},
        {"index", {"run", "index", "store_options", "upload"}},
        {"publish",
         {"run", "prepare", "compile", "bundle", "tester", "upload", "index", "store_options"}},
    };
    return sections;
}

const std::vector<std::string>& sections_of(const std::string& verb) {
    auto it = verb_sections().find(verb);
    if (it == verb_sections().end()) {
        throw py::value_error("unknown verb '" + verb + "'");
    }
    return it->second;
}

/// Sets each keyword: a field of PipelineOptions itself, else of exactly one of `verb`'s
/// sections. TypeError for a name no section has, or one several have (set it on the section).
void set_verb_fields(py::object& target, const std::string& verb, const py::kwargs& kwargs) {
    const auto& sections = sections_of(verb);
    for (auto item : kwargs) {
        const std::string name = item.first.cast<std::string>();
        if (has_field(target, name)) {
            set_field(target, name, item.second, verb);
            continue;
        }
        std::vector<std::string> owners;
        for (const auto& section : sections) {
            if (has_field(target.attr(section.c_str()), name)) {
                owners.push_back(section);
            }
        }
        if (owners.empty()) {
            std::string message = verb;
            message += ": unknown option '" + name + "'";
            throw py::type_error(message);
        }
        if (owners.size() > 1) {
            std::string list;
            for (const auto& o : owners) {
                list += list.empty() ? "" : ", ";
                list += o;
            }
            std::string message = verb;
            message.append(": '").append(name).append("' is a field of ").append(list);
            message.append("; set it on one of them (options.")
                .append(owners.front())
                .append(".")
                .append(name)
                .append(")");
            throw py::type_error(message);
        }
        set_field(target.attr(owners.front().c_str()), name, item.second, verb);
    }
}

/// The options `mip_native.<verb>(options, **kwargs)` runs with.
PipelineOptions verb_options(const std::string& verb,
                             const py::object& base,
                             const py::kwargs& kwargs) {
    py::object target = py::cast(make_options<PipelineOptions>(base, py::kwargs()));
    set_verb_fields(target, verb, kwargs);
    return target.cast<PipelineOptions>();
}

template <class Result>
void def_verb(py::module_& m,
              const char* name,
              Result (*run)(const PipelineOptions&),
              const char* doc) {
    m.def(
        name,
        [run, verb = std::string(name)](const py::object& base, const py::kwargs& kwargs) {
            PipelineOptions o = verb_options(verb, base, kwargs);
            o.run.logger = python_logger();
            ensure_signal_checks(o.run.progress);
            py::gil_scoped_release release;
            return run(o);
        },
        py::arg("options") = py::none(), doc);
}

}  // namespace

void bind_pipeline(py::module_& m) {
    py::class_<StoreOptions> store_options(
        m, "StoreOptions", "What only opening a store reads (the rest is RunOptions).");
    MIP_PY_FIELD(store_options, StoreOptions, endpoint,
                 "--endpoint: S3 endpoint ('' = env AWS_ENDPOINT_URL).");
    MIP_PY_FIELD(store_options, StoreOptions, allow_insecure_loopback,
                 "--allow-insecure-loopback: plain http to a loopback S3 endpoint (tests).");
    MIP_PY_FIELD(store_options, StoreOptions, request_deadline,
                 "--request-deadline: seconds one S3 request may take, retries included.");
    add_kwargs_init(store_options);

    py::class_<PipelineOptions> options(
        m, "PipelineOptions",
        "Options of the verb-level calls: build_dir and store, the shared block `run`, and one "
        "section per service. Field names are mip-build's flags ('-' -> '_').");
    MIP_PY_FIELD(options, PipelineOptions, build_dir, "--build-dir: root of the stage dirs.");
    MIP_PY_FIELD(options, PipelineOptions, store,
                 "--store: store URL ('' = <build_dir>/store, a local directory).");
    MIP_PY_FIELD(options, PipelineOptions, run, "The shared block (RunOptions).");
    MIP_PY_FIELD(options, PipelineOptions, prepare, "PrepareOptions ('' dirs: under build_dir).");
    MIP_PY_FIELD(options, PipelineOptions, compile, "CompileOptions.");
    MIP_PY_FIELD(options, PipelineOptions, bundle, "BundleOptions.");
    MIP_PY_FIELD(options, PipelineOptions, tester, "TestOptions.");
    MIP_PY_FIELD(options, PipelineOptions, upload, "UploadOptions.");
    MIP_PY_FIELD(options, PipelineOptions, index, "IndexOptions.");
    MIP_PY_FIELD(options, PipelineOptions, store_options, "StoreOptions.");
    options
        .def(py::init([](const py::kwargs& kwargs) {
                 return verb_options("publish", py::none(), kwargs);
             }),
             "Keyword arguments name fields of PipelineOptions or of any section (an ambiguous "
             "name such as output_dir must be set on its section); omitted fields keep the "
             "defaults.")
        .def(
            "_replace",
            [](const py::object& self, const py::kwargs& kwargs) {
                return verb_options("publish", self, kwargs);
            },
            "A copy with the given fields replaced.")
        .def_static(
            "for_verb",
            [](const std::string& verb, const py::object& base, const py::kwargs& kwargs) {
                return verb_options(verb, base, kwargs);
            },
            py::arg("verb"), py::arg("options") = py::none(),
            "The options mip_native.<verb>(options, **fields) runs with: each field looked up "
            "in PipelineOptions, then in the sections the verb reads.")
        .def_static(
            "sections_of", [](const std::string& verb) { return sections_of(verb); },
            py::arg("verb"), "The sections a verb's keyword arguments are looked up in.")
        .def("resolved", &PipelineOptions::resolved,
             "A copy with every '' directory and the store filled in under build_dir.")
        .def_static(
            "from_environment",
            []() {
                PipelineOptions o = PipelineOptions::from_environment();
                apply_binding_defaults(o);
                return o;
            },
            "Defaults overridden from BUILD_TYPE, SOURCE_DATE_EPOCH, MIP_STORE, MIP_BASE_URL, "
            "MIP_PLATFORM_TAG, MIP_SOURCE_MIRRORS (as the CLI does).")
        .def("__repr__", [](const PipelineOptions& o) {
            return "PipelineOptions(build_dir=" + std::string(py::repr(py::cast(o.build_dir))) +
                   ", store=" + std::string(py::repr(to_py_str(o.store))) + ")";
        });

    py::class_<IndexReport>(m, "IndexReport", "Result of index (and the last step of publish).")
        .def_readonly("written", &IndexReport::written)
        .def_readonly("index_json", &IndexReport::index_json)
        .def_readonly("packages_html", &IndexReport::packages_html)
        .def_readonly("total_packages", &IndexReport::total_packages)
        .def_readonly("skipped", &IndexReport::skipped)
        .def_readonly("warnings", &IndexReport::warnings)
        .def_readonly("sidecars_downloaded", &IndexReport::sidecars_downloaded)
        .def_readonly("sidecar_source", &IndexReport::sidecar_source)
        .def("to_json", &IndexReport::to_json)
        .def("__repr__", [](const IndexReport& r) {
            return std::string("IndexReport(written=") + (r.written ? "True" : "False") +
                   ", total_packages=" + std::to_string(r.total_packages) +
                   ", skipped=" + std::to_string(r.skipped.size()) + ")";
        });

    py::class_<PublishReport>(m, "PublishReport", "Reports of every publish stage.")
        .def_readonly("stages", &PublishReport::stages, "prepare, compile, bundle, upload.")
        .def_readonly("index", &PublishReport::index, "None when a stage failed.")
        .def_property_readonly("ok", &PublishReport::ok)
        .def("to_json", &PublishReport::to_json)
        .def("__repr__", [](const PublishReport& r) {
            return std::string("PublishReport(ok=") + (r.ok() ? "True" : "False") +
                   ", stages=" + std::to_string(r.stages.size()) +
                   ", index=" + (r.index ? "IndexReport" : "None") + ")";
        });

    def_verb(m, "prepare", &run_prepare,
             "mip-build prepare: recipes -> <build_dir>/prepared/<wheel>.dir. Keyword arguments "
             "are PipelineOptions fields. Returns a StageReport.");
    def_verb(m, "compile", &run_compile,
             "mip-build compile: runs compile scripts. Returns a StageReport.");
    def_verb(m, "bundle", &run_bundle,
             "mip-build bundle: .dir -> <build_dir>/bundled/<wheel>.mhl + sidecar. Returns a "
             "StageReport.");
    def_verb(m, "test", &run_test,
             "mip-build test: installs each bundled .mhl into a temporary root as a client "
             "does, loads and tests it (test_script, else usage_examples), checks its binaries "
             "and MEX coverage. Returns a StageReport.");
    def_verb(m, "upload", &run_upload,
             "mip-build upload: content-addressed .mhl, flat .mhl, then the sidecar, per "
             "package. Returns a StageReport.");
    def_verb(m, "index", &run_index,
             "mip-build index: index.json + packages.html from the store. Returns an "
             "IndexReport.");
    def_verb(
        m, "publish", &run_publish,
        "mip-build publish: prepare, compile, bundle, test, upload, then index (only after every "
        "upload succeeded). Returns a PublishReport.");

    m.def("version", &version, "libmip's version string.");
}

}  // namespace mip::bindings
