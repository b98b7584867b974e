"""Options that cannot drift: the mip-build flag `--x-y` of every verb is the field `x_y` in C++
(libmip/include/mip/*.hpp), in Python (mip_native) and in the stub (bindings/mip_native.pyi).

Four sources are compared, each in both directions:
  * `mip-build <verb> --help`: the flags and positionals of every verb;
  * the bound properties of mip_native.PipelineOptions and of its sections (`run`, `prepare`...);
  * the `.pyi` stub's annotations of the same classes;
  * the members of the same C++ structs, read from the public headers.
A flag with no field, a field with neither a flag nor a stated reason, a property missing from the
stub (or a stub entry nothing binds), a C++ member Python does not bind: each fails the test.
How to add an option, one place per layer: docs/architecture.md ("Adding an option").
"""
import ast
import pathlib
import re
import subprocess

import mip_native as m
import pytest

# mip-build's own flags: how it prints, not what it does (no library field).
CLI_ONLY = {"help", "version", "json", "verbose", "quiet"}

# Fields that are deliberately not flags, and why.
NOT_FLAGS = {
    ("run", "environment"): "a dict: the CLI passes its process environment",
    ("run", "progress"): "a callable: the CLI draws its own progress bar",
    ("run", "progress_interval"): "the CLI's bar is throttled by the library default",
    ("prepare", "platform_tag_override"): "set from MIP_PLATFORM_TAG (CI matrices)",
    ("prepare", "cache_dir"): "derived from --build-dir (<build-dir>/cache)",
    ("index", "cache_dir"): "derived from --build-dir (<build-dir>/cache/index)",
}

# C++ members that are not bound at all, and why.
NOT_BOUND = {
    ("RunOptions", "logger"): "Python logs through logging.getLogger('mip_native')",
    ("PrepareOptions", "on_cloned"): "a C++ test hook",
}

SECTIONS = {
    "run": "RunOptions",
    "prepare": "PrepareOptions",
    "compile": "CompileOptions",
    "bundle": "BundleOptions",
    "tester": "TestOptions",
    "upload": "UploadOptions",
    "index": "IndexOptions",
    "store_options": "StoreOptions",
}

STUB_CLASSES = [*SECTIONS.values(), "PipelineOptions", "BatchOptions", "PutOptions", "PutRequest",
                "GetRequest"]

HEADERS = {
    "RunOptions": "run_options.hpp",
    "PrepareOptions": "preparer.hpp",
    "CompileOptions": "compiler.hpp",
    "BundleOptions": "bundler.hpp",
    "TestOptions": "tester.hpp",
    "UploadOptions": "uploader.hpp",
    "IndexOptions": "index_assembler.hpp",
    "StoreOptions": "store.hpp",
    "PipelineOptions": "pipeline.hpp",
}


def help_of(exe, *verb):
    r = subprocess.run([exe, *verb, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def parse_help(text):
    """(long flag names, positional names, subcommand names) of CLI11 2.1 help text."""
    flags, positionals, subcommands = set(), set(), set()
    section = None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        item = re.match(r"^  (\S+)", line)
        if not item:
            continue
        first = item.group(1)
        if section == "Options" and first.startswith("-"):
            flags.update(n[2:] for n in first.split(",") if n.startswith("--"))
        elif section == "Positionals":
            positionals.add(first)
        elif section == "Subcommands":
            subcommands.add(first)
    return flags, positionals, subcommands


def properties(cls):
    return {name for name, value in vars(cls).items()
            if isinstance(value, property) and not name.startswith("_")}


@pytest.fixture(scope="module")
def cli(mip_build_exe):
    """{verb: set of field names its flags and positionals stand for}."""
    global_flags, _, verbs = parse_help(help_of(mip_build_exe))
    assert verbs == {"prepare", "compile", "bundle", "test", "upload", "index", "publish"}
    out = {}
    for verb in sorted(verbs):
        flags, positionals, _ = parse_help(help_of(mip_build_exe, verb))
        names = (flags | global_flags | positionals) - CLI_ONLY
        out[verb] = {n.replace("-", "_") for n in names}
    return out


def owners(verb, field):
    """The sections of PipelineOptions (or "" for itself) that have `field`, for `verb`."""
    found = [""] if field in properties(m.PipelineOptions) else []
    found += [s for s in m.PipelineOptions.sections_of(verb)
              if field in properties(getattr(m, SECTIONS[s]))]
    return found


def a_value_unlike(default, field):
    """A value of the field's type that differs from its default."""
    if field == "shard":
        return m.Shard(1, 2)
    if field == "test":
        return m.TestMode.skip
    if field == "source_date_epoch":
        return 1700000000
    if field == "source_mirror":
        return [m.SourceMirror("https://a.example/", "file:///mirror/")]
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, list):
        return ["x"]
    if isinstance(default, pathlib.PurePath):
        return pathlib.Path("/somewhere/else")
    if isinstance(default, str):
        return default + "x"
    raise AssertionError(f"{field}: no test value for {default!r}")


def test_every_flag_of_every_verb_is_a_field_of_the_same_name(cli):
    for verb, fields in cli.items():
        for field in sorted(fields):
            where = owners(verb, field)
            assert len(where) == 1, f"mip-build {verb} --{field.replace('_', '-')}: field " \
                                    f"{field!r} found in {where or 'no section'} of {verb}'s " \
                                    f"{['PipelineOptions', *m.PipelineOptions.sections_of(verb)]}"
            section = where[0]
            default_owner = m.PipelineOptions() if not section else getattr(m.PipelineOptions(), section)
            value = a_value_unlike(getattr(default_owner, field), field)
            # The Python verb takes the flag's name as a keyword and sets that very field.
            o = m.PipelineOptions.for_verb(verb, **{field: value})
            got = getattr(o if not section else getattr(o, section), field)
            assert got == value, f"mip_native.{verb}({field}=...) did not set {section}.{field}"


def test_every_field_is_a_flag_of_some_verb(cli):
    all_flags = set().union(*cli.values())
    fields = {("", f) for f in properties(m.PipelineOptions) if f not in SECTIONS}
    for section, cls in SECTIONS.items():
        fields |= {(section, f) for f in properties(getattr(m, cls))}
    missing = sorted(f"{s or 'PipelineOptions'}.{f}" for s, f in fields
                     if f not in all_flags and (s, f) not in NOT_FLAGS)
    assert not missing, f"fields with no mip-build flag (add one, or a reason to NOT_FLAGS): {missing}"
    stale = sorted(f"{s}.{f}" for s, f in NOT_FLAGS if (s, f) not in fields or f in all_flags)
    assert not stale, f"NOT_FLAGS entries that are gone or have a flag now: {stale}"


def test_the_verbs_read_the_sections_their_flags_fill(cli):
    for verb in cli:
        sections = m.PipelineOptions.sections_of(verb)
        assert set(sections) <= set(SECTIONS), sections
        assert "run" in sections
    with pytest.raises(ValueError):
        m.PipelineOptions.sections_of("nonsense")
    with pytest.raises(TypeError, match="unknown option 'recipes'"):
        m.PipelineOptions.for_verb("compile", recipes="x")  # a prepare flag, not a compile one
    with pytest.raises(TypeError, match="output_dir"):
        m.PipelineOptions(output_dir="x")  # prepare, bundle and index all have one


def stub_fields(stub_text):
    tree = ast.parse(stub_text)
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names = set()
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
                elif isinstance(item, ast.FunctionDef) and any(
                        isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list):
                    names.add(item.name)
            out[node.name] = names
    return out


def test_the_stub_declares_exactly_the_bound_fields(source_dir):
    stub = stub_fields((source_dir / "bindings" / "mip_native.pyi").read_text())
    for cls in STUB_CLASSES:
        bound = properties(getattr(m, cls))
        declared = stub.get(cls)
        assert declared is not None, f"{cls} is missing from mip_native.pyi"
        assert declared == bound, (f"{cls}: stub only {sorted(declared - bound)}, "
                                   f"bound only {sorted(bound - declared)}")


def without_templates(text):
    out, depth = [], 0
    for c in text:
        if c == "<":
            depth += 1
        elif c == ">" and depth:
            depth -= 1
        elif depth == 0:
            out.append(c)
    return "".join(out)


def cpp_members(header_text, struct):
    """The data members of `struct` in a header (functions, aliases and statics left out)."""
    body = re.search(r"\nstruct " + struct + r" \{\n(.*?)\n\};", header_text, re.S)
    assert body, f"struct {struct} not found"
    code = re.sub(r"//[^\n]*", "", body.group(1))
    statements, depth, current = [], 0, []
    for c in code:
        depth += c == "{"
        depth -= c == "}"
        if c == ";" and depth == 0:
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(c)
    members = set()
    for statement in statements:
        if statement.startswith(("using", "static", "friend", "[[")):
            continue
        head = re.split(r"[={]", without_templates(statement))[0]
        if "(" in head:  # a function
            continue
        members.add(head.split()[-1].lstrip("*&"))
    return members


def test_the_cpp_structs_have_exactly_the_bound_fields(source_dir):
    include = source_dir / "libmip" / "include" / "mip"
    for cls, header in HEADERS.items():
        members = cpp_members((include / header).read_text(), cls)
        bound = properties(getattr(m, cls))
        unbound = {name for c, name in NOT_BOUND if c == cls}
        assert members - unbound == bound, (f"{cls}: C++ only {sorted(members - unbound - bound)}, "
                                            f"Python only {sorted(bound - members)}")
