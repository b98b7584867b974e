// mip_native: Python bindings of libmip. Errors first (every later binding may raise them),
// then one bind_<area> per public header.

#include <mip/pipeline.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"

PYBIND11_MODULE(mip_native, m) {
    m.doc() =
        "libmip: build and publish MATLAB packages (.mhl) for mip. Long calls release the GIL; "
        "progress callbacks run on the calling thread; Ctrl-C raises KeyboardInterrupt; logs go "
        "to logging.getLogger('mip_native').";
    m.attr("__version__") = mip::version();
    using namespace mip::bindings;
    bind_errors(m);
    bind_progress(m);
    bind_report(m);
    bind_package_spec(m);
    bind_run_options(m);
    bind_store(m);
    bind_bundler(m);
    bind_source_mirror(m);
    bind_preparer(m);
    bind_compiler(m);
    bind_tester(m);
    bind_index_assembler(m);
    bind_uploader(m);
    bind_channel_page(m);
    bind_pipeline(m);
    bind_helpers(m);
}
