// RunOptions (run_options.hpp): the shared block of options every service takes next to its own.

#include <mip/run_options.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

void bind_run_options(py::module_& m) {
    py::class_<RunOptions> run(m, "RunOptions",
                               "What several services read: selection, parallelism, the shared "
                               "publishing facts and reporting. Field names are the mip-build "
                               "flags' ('-' -> '_').");
    MIP_PY_FIELD(run, RunOptions, package,
                 "--package: only these packages (or recipe directory names); [] = all.");
    MIP_PY_FIELD(run, RunOptions, shard, "--shard: a Shard, 'K/N' or None.");
    MIP_PY_FIELD(run, RunOptions, jobs, "-j/--jobs: items at once; 0 = number of cores.");
    MIP_PY_FIELD(run, RunOptions, keep_going, "--keep-going: carry on after a failed item.");
    MIP_PY_FIELD(run, RunOptions, dry_run, "--dry-run: decide and report; change nothing.");
    MIP_PY_FIELD(run, RunOptions, source_date_epoch,
                 "--source-date-epoch: fixed time of reproducible output (None = derive it).");
    MIP_PY_FIELD(run, RunOptions, base_url,
                 "--base-url: public URL of the store prefix ('' = the store's default).");
    MIP_PY_FIELD(run, RunOptions, flat_urls,
                 "--flat-urls: <base>/<wheel>.mhl instead of the content-addressed key.");
    MIP_PY_FIELD(run, RunOptions, format,
                 "--format: 'r2' (R2-era archives) or 'mip' (today's client: mip.json + <name>/).");
    MIP_PY_FIELD(run, RunOptions, max_in_flight, "--max-in-flight: requests at once (1-256).");
    MIP_PY_FIELD(run, RunOptions, ca_file, "--ca-file: CA bundle ('' = the system's).");
    MIP_PY_FIELD(run, RunOptions, environment,
                 "Environment for recipes, engines and CI detection (None = os.environ).");
    MIP_PY_FIELD(run, RunOptions, pass_env,
                 "--pass-env: further variable names recipe processes and compile engines see "
                 "(credentials are refused).");
    add_progress_field(run);
    add_kwargs_init(run);
    run.def("effective_jobs", &RunOptions::effective_jobs, "jobs, with 0 as the number of cores.");
}

}  // namespace mip::bindings
