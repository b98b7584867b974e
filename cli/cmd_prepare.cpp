// mip-build prepare: run each recipe into <build-dir>/prepared/<wheel>.dir.
#include "app.hpp"

namespace mip::cli {

void add_prepare_command(CLI::App& app, GlobalOptions& g) {
    auto* sub =
        app.add_subcommand("prepare", "Run each recipe into <build-dir>/prepared/<wheel>.dir");
    add_recipe_options(*sub, g);
    add_selection_options(*sub, g);
    add_store_options(*sub, g);
    add_pass_env_option(*sub, g);
    sub->add_option("--output-dir", g.pipeline.prepared_dir,
                    "Where .dir/.work go (default <build-dir>/prepared)");
    auto& p = g.pipeline;
    sub->add_option("--from-lock", p.from_lock,
                    "Prepare again exactly what a mip.lock.yaml records")
        ->type_name("FILE");
    sub->add_option("recipe_dir", p.lock_recipe_dir,
                    "With --from-lock: the recipe directory (default: recipe/ beside the lock)")
        ->type_name("RECIPE_DIR");
    sub->add_option("--tag-prefix", p.tag_prefix,
                    "Prefix of the rewritten version tags (versions never carry it)")
        ->type_name("P");
    sub->add_option("--abbrev", p.abbrev, "Commit digits in git-derived versions")
        ->check(CLI::Range(7, 40))
        ->capture_default_str();
    sub->add_flag("--strict-toolchain", p.strict_toolchain,
                  "With --from-lock: a toolchain difference is an error");
    sub->callback(
        [&g]() { g.action = [&g]() { return print_stage(g, run_prepare(g.pipeline)); }; });
}

}  // namespace mip::cli
