"""Build the bundled benchmark archives ``schedforge/benchsets/*.tar.xz``.

Run once from the repository, beside the public folders::

    python scripts/build_datasets.py [--source ../shared/instances]

Each archive holds one source folder byte for byte (instance files, README,
tables of optima and bounds), minus any file listed in ``EXCLUDED``. The
archives are reproducible: members sorted, owner and times zeroed, so the
same folder gives the same bytes. Beside the archives it writes
``SHA256SUMS``, the digest of every source file as it was read, so that
``tests/test_benchsets.py`` checks the shipped bytes against the source in
any clone, and against the folder itself wherever it is present.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "instances"
TARGET = ROOT / "schedforge" / "benchsets"
MANIFEST = TARGET / "SHA256SUMS"

# archive name -> source folder (under the source root)
ARCHIVES = {"orlib-wt": "orlib-wt", "smtt": "smtt", "psplib": "psplib", "fjsp": "fjsp"}
# Files of the source folders that are not shipped (relative to the source root).
# Everything ships today: cetinkaya2025_n20_normal.jsonl has no dataset name
# (134 non-positive processing times, no reader accepts the whole file), but
# the exact solver's tests read its valid instances from the raw file.
EXCLUDED: set[str] = set()


def shipped_files(source: Path, folder: str) -> list[Path]:
    """The files of ``source/folder`` that go into its archive, sorted."""
    base = source / folder
    return sorted(
        p
        for p in base.rglob("*")
        if p.is_file() and f"{folder}/{p.relative_to(base).as_posix()}" not in EXCLUDED
    )


def build(source: Path, folder: str) -> bytes:
    """The reproducible ``.tar.xz`` bytes of one source folder."""
    base = source / folder
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path in shipped_files(source, folder):
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(base).as_posix())
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return lzma.compress(raw.getvalue(), preset=9 | lzma.PRESET_EXTREME)


def manifest(source: Path) -> str:
    """``sha256  archive/member`` lines for every shipped file, sorted."""
    lines = []
    for archive, folder in ARCHIVES.items():
        base = source / folder
        for path in shipped_files(source, folder):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {archive}/{path.relative_to(base).as_posix()}")
    return "\n".join(sorted(lines, key=lambda line: line.split("  ", 1)[1])) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"{args.source}: no such folder")
    total = 0
    for archive, folder in ARCHIVES.items():
        data = build(args.source, folder)
        out = TARGET / f"{archive}.tar.xz"
        out.write_bytes(data)
        count = len(shipped_files(args.source, folder))
        total += len(data)
        print(f"{out.relative_to(ROOT)}: {count} files, {len(data) / 1e6:.2f} MB")
    MANIFEST.write_text(manifest(args.source))
    print(f"total {total / 1e6:.2f} MB; digests in {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
