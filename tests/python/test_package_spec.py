"""PackageSpec and WheelName from Python: dict/JSON round trips, unknown keys kept, equality,
repr, wheel-name parsing from the right, the cache comparison, Shard."""
import copy
import json

import pytest

import mip_native as m

SAMPLE = {
    "name": "gui-layout-toolbox",
    "description": "Layout manager for MATLAB graphical user interfaces",
    "version": "2.4.2",
    "build_number": 3,
    "dependencies": ["chebfun"],
    "homepage": "https://example.org/glt",
    "repository": "https://github.com/example/glt",
    "license": "BSD-2-Clause",
    "matlab_tag": "any",
    "abi_tag": "none",
    "platform_tag": "any",
    "usage_examples": ["uix.HBox()", "f = figure;\nuix.VBox('Parent', f)"],
    "exposed_symbols": ["layoutRoot", "uix"],
    "timestamp": "2025-01-02T03:04:05Z",
    "prepare_duration": 1.25,
    "compile_duration": 0,
    "source": {"type": "zip", "url": "https://example.org/glt.zip", "sha256": "ab" * 32},
    "future_field": {"nested": [1, 2, "é"]},
}


def test_dict_round_trip_keeps_values_and_unknown_keys():
    spec = m.PackageSpec.from_dict(SAMPLE)
    assert spec.name == "gui-layout-toolbox"
    assert spec.build_number == 3
    assert spec.dependencies == ["chebfun"]
    assert spec.source == SAMPLE["source"]
    assert spec.extra_fields == [("future_field", '{"nested":[1,2,"é"]}')]
    back = spec.to_dict()
    assert back["future_field"] == SAMPLE["future_field"]
    assert list(back)[-1] == "future_field"  # unknown keys after the known ones
    assert m.PackageSpec.from_dict(back) == spec


def test_to_json_is_the_spec_writer():
    text = m.PackageSpec.from_dict(SAMPLE).to_json()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert '\n  "name": "gui-layout-toolbox",\n' in text
    assert "é" in text  # non-ASCII unescaped
    assert json.loads(text)["usage_examples"][1] == "f = figure;\nuix.VBox('Parent', f)"
    again = m.PackageSpec.from_json(text)
    assert again.to_json() == text


def test_equality_and_copy():
    a = m.PackageSpec.from_dict(SAMPLE)
    b = copy.deepcopy(a)
    assert a == b and not (a != b)
    b.build_number = 4
    assert a != b
    c = copy.copy(a)
    c.dependencies = []
    assert a.dependencies == ["chebfun"]


def test_repr_and_wheel_name():
    spec = m.PackageSpec(name="FLAM", version="unspecified")
    assert repr(spec).startswith("PackageSpec(name='FLAM', version='unspecified'")
    assert spec.wheel_name == "FLAM-unspecified-any-none-any"
    assert spec.wheel() == m.WheelName("FLAM", "unspecified")


def test_keyword_constructor_rejects_unknown_fields():
    with pytest.raises(TypeError, match="colour"):
        m.PackageSpec(name="x", colour="blue")


def test_integral_floats_accepted_for_integers():
    data = dict(SAMPLE, build_number=3.0)
    assert m.PackageSpec.from_dict(data).build_number == 3


def test_wrong_types_are_spec_errors_listing_fields():
    data = dict(SAMPLE, build_number="three", dependencies="chebfun")
    with pytest.raises(m.SpecError) as info:
        m.PackageSpec.from_dict(data, "broken.json")
    fields = {f for f, _ in info.value.issues}
    assert {"build_number", "dependencies"} <= fields


def test_validate_returns_issues_without_raising():
    spec = m.PackageSpec(name="ok", version="1-0")
    issues = spec.validate()
    assert any(f == "version" for f, _ in issues)
    assert m.PackageSpec(name="ok", version="1.0").validate() == []


@pytest.mark.parametrize("text,expected", [
    ("gui-layout-toolbox-2.4.2-any-none-any.mhl",
     ("gui-layout-toolbox", "2.4.2", "any", "none", "any")),
    ("chebfun-1.0.0-R2023b-mip1-any.mhl.mip.json", ("chebfun", "1.0.0", "R2023b", "mip1", "any")),
    ("fmm2d-unspecified-any-none-linux_x86_64.dir",
     ("fmm2d", "unspecified", "any", "none", "linux_x86_64")),
])
def test_wheel_names_split_from_the_right(text, expected):
    w = m.WheelName.parse(text)
    assert (w.name, w.version, w.matlab_tag, w.abi_tag, w.platform_tag) == expected
    assert str(w) == m.strip_wheel_suffix(text)
    assert repr(w) == f"WheelName('{m.strip_wheel_suffix(text)}')"


def test_wheel_name_validation():
    assert m.WheelName("a", "1.0").validate() == []
    assert m.WheelName("a", "1-0").validate() != []
    with pytest.raises(m.SpecError):
        m.WheelName.parse("x-1.0-any-none")


def test_name_helpers():
    assert m.normalize_package_name("GUI-Layout") == "gui_layout"
    assert m.check_package_name("a/b") != ""
    assert m.check_version("1.2.3") == ""
    assert m.check_tag("a-b") != ""
    assert "source" in m.cached_field_names()


def test_cache_comparison_normalises_missing_and_empty():
    a = m.PackageSpec.from_dict({"name": "p", "version": "1.0"})
    b = m.PackageSpec.from_dict({"name": "p", "version": "1.0", "usage_examples": [],
                                 "source": None})
    assert m.compare_cached_fields(a, b)
    c = m.PackageSpec.from_dict({"name": "p", "version": "1.0", "description": "changed"})
    result = m.compare_cached_fields(a, c)
    assert not result and result.first_difference == "description"
    # Fields that are not cached do not count.
    d = m.PackageSpec.from_dict({"name": "p", "version": "1.0", "timestamp": "2020-01-01T00:00:00Z"})
    assert m.compare_cached_fields(a, d).equal


def test_load_accepts_pathlike(tmp_path):
    p = tmp_path / "mip.json"
    p.write_text(json.dumps(SAMPLE))
    assert m.PackageSpec.load(p) == m.PackageSpec.from_dict(SAMPLE)
    assert m.PackageSpec.load(str(p)).name == "gui-layout-toolbox"


def test_shard_parse_and_conversion():
    s = m.Shard("2/3")
    assert (s.index, s.count) == (2, 3)
    assert repr(s) == "Shard('2/3')"
    names = [f"pkg{i}" for i in range(30)]
    owners = [[k for k in (1, 2, 3) if m.Shard(f"{k}/3").contains(n)] for n in names]
    assert all(len(o) == 1 for o in owners)
    assert m.RunOptions(shard="1/2").shard == m.Shard(1, 2)
    with pytest.raises(m.SpecError):
        m.Shard("4/3")
