"""The public benchmark sets that ship with schedforge, read by name.

Each set is a :class:`Dataset` named ``FAMILY:SET`` (``orlib:wt40``,
``psplib:j30``, ``fjsp:brandimarte`` ...). Its files travel inside the package
as one ``.tar.xz`` archive per source folder (``schedforge/benchsets/``),
with the source's README and its tables of optima and bounds; the first use
unpacks an archive once into ``$SCHEDFORGE_HOME/datasets`` (default
``~/.schedforge/datasets``), after which the readers work on plain files and
attach the reference values from the tables beside them, exactly as for a
copy of the original folders.

A name is accepted wherever a path is (``sf.read_all("psplib:j30")``,
``schedforge bench psplib:j30``, ``schedforge solve``);
``NAME/INSTANCE`` picks one instance by file stem or instance name
(``psplib:j30/j301_1``, ``orlib:wt40/wt40_007``). A folder of instance files
with a reference table beside them (``bounds.csv``, ``optima.csv`` or
``reference.csv``, any table :func:`schedforge.bench.reference.load_reference`
reads) is a dataset too: :func:`dataset` accepts its path.

The archives are made by ``scripts/build_datasets.py`` from the public
folders described in each archive's README; a test checks them against those
folders byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from schedforge.core.errors import SchedforgeError, UnknownFormat

ARCHIVES = Path(__file__).resolve().parent
# Reference tables recognised beside a user's own folder of instances.
FOLDER_TABLES = ("bounds.csv", "optima.csv", "reference.csv")
_NAME = re.compile(r"^([a-z][a-z0-9]*):([A-Za-z0-9][A-Za-z0-9._-]*)(?:/(.+))?$")


@dataclass(frozen=True)
class Dataset:
    """One benchmark set: where its files are, what its reference values are, where it came from.

    Attributes
    ----------
    name
        ``FAMILY:SET`` for a bundled set, the folder path for a user's folder.
    problem
        The problem family (``smtt``, ``rcpsp``, ``fjsp``).
    files
        Globs of the instance files, relative to :meth:`root`.
    instances
        The number of instances the files hold.
    reference
        What the attached reference values are (optima, bounds, best known).
    source, citation, license
        Provenance of the files.
    archive
        The bundled archive holding the set (``None`` for a user's folder).
    table
        A reference table (relative to the root) whose values are attached to
        instances the reader leaves without one; ``rename`` maps an instance
        name to the table's name (``(pattern, replacement)`` of ``re.sub``).
    extras
        Files exported with the set so that a copy reads the same (tables, README).
    """

    name: str
    problem: str
    files: tuple[str, ...]
    instances: int
    reference: str
    source: str
    citation: str
    license: str
    description: str
    archive: str | None = None
    table: str | None = None
    rename: tuple[str, str] | None = None
    extras: tuple[str, ...] = ("README.md",)
    folder: Path | None = field(default=None, compare=False)

    def root(self) -> Path:
        """The folder holding the set's files (unpacks the bundled archive on first use)."""
        if self.folder is not None:
            return self.folder
        assert self.archive is not None
        return unpacked(self.archive)

    def paths(self) -> list[Path]:
        """The instance files, in natural order (``j301_1``, ``j301_2``, ..., ``j3010_1``)."""
        root = self.root()
        skip = {root / self.table} if self.table else set()
        found: set[Path] = set()
        for pattern in self.files:
            for path in root.glob(pattern):
                hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
                # A suite folder's manifest.json records how its files were made.
                manifest = path.name == "manifest.json"
                if path.is_file() and not hidden and not manifest and path not in skip:
                    found.add(path)
        return sorted(found, key=natural_key)

    def read_all(self, *, fmt: str | None = None, problem: str | None = None) -> Iterator[Any]:
        """Every instance of the set, reference values attached."""
        for _, instance in self.items(fmt=fmt, problem=problem):
            yield instance

    def items(
        self, *, fmt: str | None = None, problem: str | None = None, strict: bool = True
    ) -> Iterator[tuple[Path, Any]]:
        """``(file, instance)`` for every instance of the set.

        ``strict=False`` skips files whose extension or content no reader
        recognises, and empty files (a user's folder may hold notes and
        scripts beside the instances); a file a reader recognises but cannot
        read is an error all the same, never silently left out of a benchmark.
        """
        from schedforge.core.io import read_file
        from schedforge.core.registry import formats

        known = {ext for f in formats(problem or self.problem or None) for ext in f.extensions}
        table = self._table()
        for path in self.paths():
            if not strict and fmt is None and path.suffix.lower() not in known:
                continue  # notes.md, run.sh: no reader takes this extension
            try:
                instances = list(read_file(path, fmt=fmt, problem=problem or self.problem or None))
            except UnknownFormat:
                if strict:
                    raise
                continue
            except SchedforgeError:
                if strict or (path.stat().st_size > 0 and path.read_bytes().strip()):
                    raise
                continue
            for instance in instances:
                yield path, self._attach(instance, path, table)

    def _table(self) -> Any:
        if self.table is None:
            return None
        from schedforge.bench.reference import load_reference

        return load_reference(self.root() / self.table)

    def _attach(self, instance: Any, path: Path, table: Any) -> Any:
        meta = dict(instance.metadata)
        if self.archive is not None:
            meta["dataset"] = self.name
        if table is not None and instance.reference is None:
            key = instance.name
            if self.rename is not None:
                key = re.sub(self.rename[0], self.rename[1], key)
            found = table.lookup(key, str(path))
            if found is not None:
                value, where = found
                meta["optimum" if _proven(where) else "best_known"] = _number(value)
                meta["reference_source"] = where
        if meta == dict(instance.metadata):
            return instance
        return instance.replace(metadata=meta)

    def export(self, folder: str | Path) -> list[Path]:
        """Copy the set's files, its tables and README into ``folder``, same layout.

        The copy is itself a folder the readers attach the reference values in.
        """
        root = self.root()
        target = Path(folder)
        extras = [root / e for e in self.extras if (root / e).is_file()]
        if self.table is not None:
            extras.append(root / self.table)
        written = []
        for path in [*self.paths(), *extras]:
            out = target / path.relative_to(root)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
            written.append(out)
        return written


def natural_key(path: Path) -> list[Any]:
    """Sort key that orders the numbers inside names by value (``Mk2`` before ``Mk10``)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.as_posix())]


def _proven(where: str) -> bool:
    # A table marks optima in an optimal/status column, or by the name of its
    # value column (optima.csv: opt).
    column = where.partition(":")[2].split(" ")[0].lower()
    return "(optimum)" in where or column in ("opt", "optimum")


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# --------------------------------------------------------------------------
# The catalog

_ORLIB = dict(
    problem="smtt",
    archive="orlib-wt",
    source="OR-Library (J. E. Beasley), http://people.brunel.ac.uk/~mastjjb/jeb/orlib/wtinfo.html; "
    "copy from github.com/sepear/AntColony @ fcb161b, data/",
    citation="Crauwels, Potts & Van Wassenhove (1998), Local search heuristics for the single "
    "machine total weighted tardiness scheduling problem, INFORMS J. Computing 10(3):341-350",
    license="MIT (OR-Library)",
    extras=("README.md", "wtinfo.txt", "wtopt40.txt", "wtopt50.txt", "wtbest100b.txt"),
)
_CETINKAYA = dict(
    problem="smtt",
    archive="smtt",
    source="github.com/ibrahimoguzc/DiscoverHeuristics @ 2a3541b, testing/data/ "
    "(numpy object arrays, converted to JSON Lines)",
    citation="Çetinkaya, Büyüktahtakın, Shojaee & Reddy (2025), Discovering Heuristics with LLMs "
    "for MIPs: Single-Machine Scheduling, arXiv:2510.24013",
    license="not stated by the source repository",
    extras=("README.md", "optima.csv"),
)
_SHANG = dict(
    problem="smtt",
    archive="smtt",
    source="github.com/ibrahimoguzc/DiscoverHeuristics @ 2a3541b, testing/data/ (converted to "
    "JSON Lines); originals github.com/vtkindt/1-dj-Sum-Tj @ 78cf5b6",
    citation="Shang, T'kindt & Della Croce (2021), Branch & Memorize exact algorithms for "
    "sequencing problems, Computers & Operations Research 128:105171",
    license="not stated by the source repositories",
    extras=("README.md", "optima.csv"),
)
_PSPLIB = dict(
    problem="rcpsp",
    archive="psplib",
    source="PSPLIB, https://www.om-db.wi.tum.de/psplib/; copy from "
    "github.com/hft-rcpsp-scheduling/rcpsp-data-provider @ d367789; bounds from the PSPLIB "
    "tables and the OR&S RCPSP Solutions Update 2024 (tables/bounds.csv)",
    citation="Kolisch & Sprecher (1997), PSPLIB - A project scheduling problem library, "
    "European Journal of Operational Research 96:205-216",
    license="not stated by PSPLIB or the copy",
    extras=("README.md", "tables/bounds.csv"),
)
_FJSP_SOURCE = (
    "github.com/ai-for-decision-making-tue/Job_Shop_Scheduling_Benchmark_Environments_and_"
    "Instances @ eabe16a, data/fjsp/; bounds from github.com/ScheduleOpt/benchmarks @ 79f0edc "
    "(FJSPLib bks.json, CC BY-SA 4.0) in bounds.csv"
)
_FJSP = dict(
    problem="fjsp",
    archive="fjsp",
    license="MIT (instances); CC BY-SA 4.0 (bounds)",
    source=_FJSP_SOURCE,
    extras=("README.md", "bounds.csv"),
)
_HURINK = (
    "Hurink, Jurisch & Thole (1994), Tabu search for the job-shop scheduling problem with "
    "multi-purpose machines, OR Spektrum 15:205-215"
)

CATALOG: tuple[Dataset, ...] = (
    Dataset(
        name="orlib:wt40",
        files=("wt40.txt",),
        instances=125,
        reference="124 optima, 1 best known (wtopt40.txt)",
        description="weighted tardiness, 40 jobs",
        **_ORLIB,
    ),
    Dataset(
        name="orlib:wt50",
        files=("wt50.txt",),
        instances=125,
        reference="115 optima, 10 best known (wtopt50.txt)",
        description="weighted tardiness, 50 jobs",
        **_ORLIB,
    ),
    Dataset(
        name="orlib:wt100",
        files=("wt100.txt",),
        instances=125,
        reference="125 best known, believed optimal (wtbest100b.txt)",
        description="weighted tardiness, 100 jobs",
        **_ORLIB,
    ),
    Dataset(
        name="smtt:cetinkaya-n20",
        files=("cetinkaya2025_n20_uniform.jsonl",),
        instances=800,
        reference="800 optima (rechecked by dynamic programming)",
        description="total tardiness, 20 jobs (the paper's Table 2)",
        **_CETINKAYA,
    ),
    Dataset(
        name="smtt:cetinkaya-n20-alt",
        files=("cetinkaya2025_n20_uniform_alt.jsonl",),
        instances=800,
        reference="800 optima (rechecked by dynamic programming)",
        description="total tardiness, 20 jobs, same generator",
        **_CETINKAYA,
    ),
    Dataset(
        name="smtt:shang-n100",
        files=("shang2017_n100.jsonl",),
        instances=200,
        reference="200 optima (Branch & Memorize)",
        description="total tardiness, 100 jobs",
        **_SHANG,
    ),
    Dataset(
        name="smtt:shang-n200",
        files=("shang2017_n200.jsonl",),
        instances=200,
        reference="200 optima (Branch & Memorize)",
        description="total tardiness, 200 jobs",
        **_SHANG,
    ),
    Dataset(
        name="smtt:shang-n100-sdt",
        files=("shang_sdt_100/*.txt",),
        instances=200,
        reference="200 optima (optima.csv)",
        description="smtt:shang-n100 as the original 'p d' files",
        table="optima.csv",
        rename=(r"^SDT_(\d+)_([\d.]+)_([\d.]+)_(\d+)$", r"shang2017_n\1_R\2_T\3_\4"),
        **_SHANG,
    ),
    Dataset(
        name="psplib:j30",
        files=("j30/*.sm",),
        instances=480,
        reference="480 optima (tables/bounds.csv)",
        description="30 activities, 4 resources",
        **_PSPLIB,
    ),
    Dataset(
        name="psplib:j60",
        files=("j60/*.sm",),
        instances=480,
        reference="462 optima, 18 lower/upper bounds (tables/bounds.csv)",
        description="60 activities, 4 resources",
        **_PSPLIB,
    ),
    Dataset(
        name="psplib:j120",
        files=("j120/*.sm",),
        instances=600,
        reference="310 optima, 290 lower/upper bounds (tables/bounds.csv)",
        description="120 activities, 4 resources",
        **_PSPLIB,
    ),
    Dataset(
        name="fjsp:brandimarte",
        files=("brandimarte/*.fjs",),
        instances=15,
        reference="13 optima, 2 lower/upper bounds (bounds.csv)",
        description="Mk01-Mk15, 10-30 jobs x 4-15 machines",
        citation="Brandimarte (1993), Routing and scheduling in a flexible job shop by tabu "
        "search, Annals of Operations Research 41:157-183",
        **_FJSP,
    ),
    Dataset(
        name="fjsp:barnes",
        files=("barnes/*.fjs",),
        instances=21,
        reference="21 optima (bounds.csv)",
        description="10-15 jobs x 11-18 machines",
        citation="Barnes & Chambers (1996), Flexible job shop scheduling by tabu search, "
        "technical report ORP96-09, University of Texas at Austin",
        **_FJSP,
    ),
    Dataset(
        name="fjsp:fattahi",
        files=("fattahi/*.fjs",),
        instances=20,
        reference="20 optima (bounds.csv)",
        description="SFJS/MFJS, 2-12 jobs x 2-8 machines",
        citation="Fattahi, Saidi Mehrabad & Jolai (2007), Mathematical modeling and heuristic "
        "approaches to flexible job shop scheduling problems, J. Intelligent Manufacturing "
        "18:331-342",
        **_FJSP,
    ),
    Dataset(
        name="fjsp:hurink-edata",
        files=("hurink/edata/*.fjs",),
        instances=66,
        reference="64 optima, 2 lower/upper bounds (bounds.csv)",
        description="job shops with 1.1-1.2 machines per operation",
        citation=_HURINK,
        **_FJSP,
    ),
    Dataset(
        name="fjsp:hurink-rdata",
        files=("hurink/rdata/*.fjs",),
        instances=66,
        reference="54 optima, 12 lower/upper bounds (bounds.csv)",
        description="job shops with about 2 machines per operation",
        citation=_HURINK,
        **_FJSP,
    ),
    Dataset(
        name="fjsp:hurink-sdata",
        files=("hurink/sdata/*.fjs",),
        instances=66,
        reference="66 optima (bounds.csv)",
        description="classical job shops (la, mt, abz, orb)",
        citation=_HURINK,
        **_FJSP,
    ),
    Dataset(
        name="fjsp:kacem",
        files=("kacem/*.fjs",),
        instances=4,
        reference="4 optima (bounds.csv)",
        description="4-15 jobs x 5-10 machines, total flexibility",
        citation="Kacem, Hammadi & Borne (2002), Approach by localization and multiobjective "
        "evolutionary optimization for flexible job-shop scheduling problems, IEEE Trans. SMC "
        "Part C 32(1):1-13",
        **_FJSP,
    ),
)


def datasets(problem: str | None = None) -> list[Dataset]:
    """The bundled benchmark sets (of one problem family, if given).

    Examples
    --------
    >>> [d.name for d in datasets("rcpsp")]
    ['psplib:j30', 'psplib:j60', 'psplib:j120']
    """
    return [d for d in CATALOG if problem is None or d.problem == problem]


def is_dataset_name(text: str) -> bool:
    """Whether ``text`` names a bundled set (``psplib:j30`` or ``psplib:j30/j301_1``).

    Only the families of the catalog count, so a Windows path ``C:\\x`` or a
    ``suite:NAME`` is not taken for one.
    """
    match = _NAME.match(text)
    return match is not None and match.group(1) in {d.name.split(":")[0] for d in CATALOG}


def dataset(name: str | Path) -> Dataset:
    """The bundled set ``name``, or the dataset of a folder of instance files.

    A folder's instance files are every file under it a reader accepts; a
    ``bounds.csv``, ``optima.csv`` or ``reference.csv`` in the folder gives
    the reference values of instances the reader leaves without one.

    Raises
    ------
    SchedforgeError
        For an unknown name (the message lists the known ones) or a missing folder.
    """
    text = str(name)
    for entry in CATALOG:
        if entry.name == text:
            return entry
    folder = Path(text)
    if folder.is_dir():
        return _folder_dataset(folder)
    known = ", ".join(d.name for d in CATALOG)
    raise SchedforgeError(f"unknown dataset {text!r}; bundled: {known} (or give a folder)")


def _folder_dataset(folder: Path) -> Dataset:
    table = next((t for t in FOLDER_TABLES if (folder / t).is_file()), None)
    return Dataset(
        name=str(folder),
        problem="",
        files=("**/*",),
        instances=0,
        reference=f"from {table}" if table else "as the readers attach them",
        source=str(folder.resolve()),
        citation="",
        license="",
        description="a folder of instance files",
        table=table,
        extras=(),
        folder=folder,
    )


def read_named(text: str, *, fmt: str | None = None, problem: str | None = None) -> Iterator[Any]:
    """The instances named by ``NAME`` or ``NAME/INSTANCE`` (see the module docstring).

    Raises
    ------
    SchedforgeError
        For an unknown set, or an instance the set does not hold.
    """
    match = _NAME.match(text)
    if match is None:
        raise SchedforgeError(f"{text!r} is not a dataset name (FAMILY:SET[/INSTANCE])")
    found = dataset(f"{match.group(1)}:{match.group(2)}")
    member = match.group(3)
    if member is None:
        yield from found.read_all(fmt=fmt, problem=problem)
        return
    # A file of the set (by name or stem) first; else an instance name.
    stem = member.removesuffix("".join(Path(member).suffixes))
    table = found._table()
    for path in found.paths():
        if member in (path.name, path.relative_to(found.root()).as_posix()) or stem == path.stem:
            from schedforge.core.io import read_file

            for instance in read_file(path, fmt=fmt, problem=problem or found.problem or None):
                yield found._attach(instance, path, table)
            return
    names = []
    for instance in found.read_all(fmt=fmt, problem=problem):
        if instance.name == member:
            yield instance
            return
        names.append(instance.name)
    raise SchedforgeError(
        f"{found.name} holds no instance {member!r}; its instances are "
        f"{', '.join(names[:3])}, ... (schedforge datasets info {found.name})"
    )


# --------------------------------------------------------------------------
# Archives


def archive_path(archive: str) -> Path:
    """The bundled ``.tar.xz`` file of ``archive``."""
    path = ARCHIVES / f"{archive}.tar.xz"
    if not path.is_file():
        raise SchedforgeError(
            f"{path}: the bundled archive is missing (a broken install; reinstall schedforge)"
        )
    return path


def cache_dir() -> Path:
    """Where archives are unpacked: ``$SCHEDFORGE_HOME/datasets`` (default ``~/.schedforge``)."""
    env = os.environ.get("SCHEDFORGE_HOME")
    home = Path(env).expanduser() if env else Path.home() / ".schedforge"
    return home / "datasets"


@cache
def unpacked(archive: str) -> Path:
    """The folder holding the files of ``archive``, unpacked on first use.

    The folder name carries the archive's hash, so a new version of
    schedforge unpacks its own copy; unpacking goes to a temporary folder
    renamed into place, so concurrent processes never see half a set.
    """
    import tarfile

    source = archive_path(archive)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    target = cache_dir() / f"{archive}-{digest}"
    if target.is_dir():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: unpack into the temporary folder instead
        target = Path(tempfile.gettempdir()) / "schedforge-datasets" / target.name
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{archive}-", dir=target.parent))
    try:
        with tarfile.open(source, "r:xz") as tar:
            tar.extractall(scratch, filter="data")
        try:
            scratch.rename(target)
        except OSError:
            if not target.is_dir():  # not a concurrent unpack that won the race
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def archive_members(archive: str) -> dict[str, bytes]:
    """``{relative path: bytes}`` of every file in ``archive`` (for checks and the build)."""
    import tarfile

    with tarfile.open(archive_path(archive), "r:xz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }
