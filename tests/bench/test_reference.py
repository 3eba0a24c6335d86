"""Reference tables (bounds.csv, OR-Library optima, instance metadata) and the gap."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import schedforge as sf
from schedforge.bench.reference import gap, load_reference, reference_for
from tests.conftest import bundled_path


def test_gap_convention():
    assert gap(110, 100) == pytest.approx(10 / 110)  # as Result.gap: divide by the objective
    assert gap(0, 0) == 0.0
    assert gap(5, 0) == 1.0  # finite where the optimum is 0
    assert gap(90, 100) == pytest.approx(-0.1)  # beats a best-known value
    assert gap(None, 3) is None and gap(3, None) is None


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_gap_is_bounded_and_signed(objective, reference):
    value = gap(objective, reference)
    assert -1.0 <= value <= 1.0
    assert math.copysign(1, value) == math.copysign(1, objective - reference) or value == 0


def test_psplib_bounds_table():
    table = load_reference(bundled_path("psplib", "tables", "bounds.csv"))
    value, where = table.lookup("j301_1")
    assert value == 43 and where == "bounds.csv:ub (optimum)"
    # Another column on request.
    cpm = load_reference(f"{bundled_path('psplib', 'tables', 'bounds.csv')}:cpm_lb")
    assert cpm.lookup("j301_1")[0] == 38


def test_fjsp_bounds_table_tells_same_named_files_apart():
    table = load_reference(bundled_path("fjsp", "bounds.csv"))
    assert table.lookup("Mk01")[0] == 40  # by name, case-insensitive
    edata = table.lookup("la01", "/x/fjsp/hurink/edata/la01.fjs")
    rdata = table.lookup("la01", "/x/fjsp/hurink/rdata/la01.fjs")
    assert (edata[0], rdata[0]) == (609, 570)
    assert table.lookup("la01") is None  # ambiguous by name alone


def test_orlib_optimum_file_matches_the_multi_instance_file():
    table = load_reference(bundled_path("orlib-wt", "wtopt40.txt"))
    instances = list(sf.read_all("orlib:wt40"))
    for inst in instances[:10]:
        value, where = table.lookup(inst.name)
        assert value == inst.metadata.get("optimum", inst.metadata.get("best_known"))
        assert where == "wtopt40.txt (optimum)"
    best = load_reference(bundled_path("orlib-wt", "wtbest100b.txt"))
    assert best.lookup("wt100_001") == (5988.0, "wtbest100b.txt (best known)")


def test_smtt_optima_csv():
    table = load_reference(bundled_path("smtt", "optima.csv"))
    assert table.lookup("cetinkaya2025_n20_uniform_R0.2_T0.2_1")[0] == 256


def test_reference_order_table_then_metadata(tmp_path):
    csv_file = tmp_path / "ref.csv"
    csv_file.write_text("instance,best_known\nalpha,12\n")
    table = load_reference(csv_file)
    plain = sf.generate("smtt", jobs=4, seed=0, name="alpha")
    assert reference_for(plain, None, [table]) == (12.0, "ref.csv:best_known")
    with_meta = plain.replace(name="beta", metadata={"optimum": 7})
    assert reference_for(with_meta, None, [table]) == (7.0, "metadata:optimum")
    assert reference_for(plain.replace(name="gamma"), None, [table]) == (None, None)


@pytest.mark.parametrize(
    ("content", "spec_suffix", "message"),
    [
        ("instance,foo\na,1\n", "", "no reference column"),
        ("label,ub\na,1\n", "", "no instance column"),
        ("instance,ub\na,1\n", ":nope", "no column 'nope'"),
    ],
)
def test_bad_reference_files_are_explained(tmp_path, content, spec_suffix, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(sf.SchedforgeError, match=message):
        load_reference(f"{path}{spec_suffix}")


def test_missing_reference_file(tmp_path):
    with pytest.raises(sf.SchedforgeError, match="no such file"):
        load_reference(tmp_path / "none.csv")


def test_a_reference_table_that_matches_no_instance_is_named_in_a_warning(tmp_path, instance_dir):
    from schedforge.bench.batch import BenchConfig, run_batch
    from schedforge.bench.grid import MethodSpec

    table = tmp_path / "optima.csv"
    table.write_text("instance,optimum\nsomething_else,5\n")
    warnings: list[str] = []
    config = BenchConfig(
        instances=[str(instance_dir / "i0.json")],
        methods=[MethodSpec.parse("rule:edd")],
        time_limit=1.0,
        out=tmp_path / "out",
        references=[str(table)],
        warmup=False,
    )
    outcome = run_batch(config, warn=warnings.append)
    assert outcome.done == 1
    assert any("no row matches" in w and str(table) in w for w in warnings), warnings
