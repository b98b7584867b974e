// The verb-level calls (pipeline.hpp): prepare, compile, bundle, upload, index, publish. Each
// takes the CLI's options as keyword arguments (PipelineOptions fields, C++ defaults), releases
// the GIL, and returns a report.

#include <string>

#include <mip/pipeline.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

template <>
void apply_binding_defaults(PipelineOptions& options) {
    options.python = default_python_recipe_options();
}

namespace {

PipelineOptions pipeline_options(const py::object& base, const py::kwargs& kwargs) {
    PipelineOptions o = make_options<PipelineOptions>(base, kwargs);
    o.logger = python_logger();
    ensure_signal_checks(o.progress);
    return o;
}

template <class Result>
void def_verb(py::module_& m,
              const char* name,
              Result (*run)(const PipelineOptions&),
              const char* doc) {
    m.def(
        name,
        [run](const py::object& base, const py::kwargs& kwargs) {
            PipelineOptions o = pipeline_options(base, kwargs);
            py::gil_scoped_release release;
            return run(o);
        },
        py::arg("options") = py::none(), doc);
}

}  // namespace

void bind_pipeline(py::module_& m) {
    py::class_<PipelineOptions> options(
        m, "PipelineOptions",
        "Options of the verb-level calls; the same names as mip-build's flags ('-' -> '_').");
    options.def_readwrite("recipes_dir", &PipelineOptions::recipes_dir)
        .def_readwrite("build_dir", &PipelineOptions::build_dir)
        .def_readwrite("prepared_dir", &PipelineOptions::prepared_dir, "'' = <build_dir>/prepared")
        .def_readwrite("bundled_dir", &PipelineOptions::bundled_dir, "'' = <build_dir>/bundled")
        .def_readwrite("index_dir", &PipelineOptions::index_dir, "'' = <build_dir>/gh-pages")
        .def_readwrite("store", &PipelineOptions::store,
                       "Store URL; '' = <build_dir>/store (a local directory).")
        .def_readwrite("base_url", &PipelineOptions::base_url)
        .def_readwrite("packages", &PipelineOptions::packages,
                       "Only these packages (--package, repeatable).")
        .def_readwrite("dry_run", &PipelineOptions::dry_run)
        .def_readwrite("force", &PipelineOptions::force)
        .def_readwrite("keep_going", &PipelineOptions::keep_going)
        .def_readwrite("strict", &PipelineOptions::strict)
        .def_readwrite("verify", &PipelineOptions::verify)
        .def_readwrite("flat_urls", &PipelineOptions::flat_urls)
        .def_readwrite("allow_overwrite", &PipelineOptions::allow_overwrite)
        .def_readwrite("allow_octave_builds", &PipelineOptions::allow_octave_builds)
        .def_readwrite("jobs", &PipelineOptions::jobs, "0 = number of cores.")
        .def_readwrite("max_in_flight", &PipelineOptions::max_in_flight)
        .def_readwrite("shard", &PipelineOptions::shard, "A Shard, 'K/N' or None.")
        .def_readwrite("build_type", &PipelineOptions::build_type)
        .def_readwrite("source_date_epoch", &PipelineOptions::source_date_epoch)
        .def_readwrite("platform_tag_override", &PipelineOptions::platform_tag_override)
        .def_readwrite("engine", &PipelineOptions::engine)
        .def_readwrite("compile_timeout_seconds", &PipelineOptions::compile_timeout_seconds)
        .def_readwrite("recipe_timeout_seconds", &PipelineOptions::recipe_timeout_seconds)
        .def_readwrite("endpoint", &PipelineOptions::endpoint)
        .def_readwrite("allow_insecure_loopback", &PipelineOptions::allow_insecure_loopback)
        .def_readwrite("ca_file", &PipelineOptions::ca_file)
        .def_readwrite("environment", &PipelineOptions::environment,
                       "Environment for recipes and CI detection (None = os.environ).")
        .def_readwrite("source_mirrors", &PipelineOptions::source_mirrors,
                       "--source-mirror: SourceMirror list (or 'FROM=TO' strings).")
        .def_readwrite("pass_env", &PipelineOptions::pass_env,
                       "--pass-env: further variable names recipe processes and compile scripts "
                       "may see (no credentials).")
        .def("prepared", &PipelineOptions::prepared)
        .def("bundled", &PipelineOptions::bundled)
        .def("index_output", &PipelineOptions::index_output)
        .def("store_url", &PipelineOptions::store_url)
        .def("effective_jobs", &PipelineOptions::effective_jobs);
    add_python_recipe_fields(options);
    add_progress_field(options);
    add_kwargs_init(options);
    options.def_static(
        "from_environment",
        []() {
            PipelineOptions o = PipelineOptions::from_environment();
            o.python = default_python_recipe_options();
            return o;
        },
        "Defaults overridden from BUILD_TYPE, SOURCE_DATE_EPOCH, MIP_STORE, MIP_BASE_URL, "
        "MIP_PLATFORM_TAG, MIP_SOURCE_MIRRORS (as the CLI does).");

    py::class_<IndexReport>(m, "IndexReport", "Result of index (and the last step of publish).")
        .def_readonly("written", &IndexReport::written)
        .def_readonly("index_json", &IndexReport::index_json)
        .def_readonly("packages_html", &IndexReport::packages_html)
        .def_readonly("total_packages", &IndexReport::total_packages)
        .def_readonly("skipped", &IndexReport::skipped)
        .def_readonly("warnings", &IndexReport::warnings)
        .def_readonly("sidecars_downloaded", &IndexReport::sidecars_downloaded)
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
    def_verb(m, "upload", &run_upload,
             "mip-build upload: content-addressed .mhl, flat .mhl, then the sidecar, per "
             "package. Returns a StageReport.");
    def_verb(m, "index", &run_index,
             "mip-build index: index.json + packages.html from the store. Returns an "
             "IndexReport.");
    def_verb(m, "publish", &run_publish,
             "mip-build publish: prepare, compile, bundle, upload, then index (only after every "
             "upload succeeded). Returns a PublishReport.");

    m.def("version", &version, "libmip's version string.");
}

}  // namespace mip::bindings
