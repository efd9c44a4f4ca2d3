"""The run directory: atomic file writes, the resolved config, and a manifest of done stages.

Every file is written to a temporary name in the same directory, flushed, fsynced and
renamed over the target, so a kill leaves either the old file or the new one, never half.
The new file gets the permissions a plain ``open`` would give it: the replaced file's mode,
or ``0666`` less the umask for a new one (``mkstemp`` alone would leave it ``0600``).
Launched distributed, only rank 0 writes (``seal.distributed.on_main``) and the other ranks
wait until it has, so a shared run directory has one writer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from seal import distributed
from seal.data import json_limit
from seal.errors import SealError


def _mode_for(path: Path) -> int:
    """The mode ``path`` keeps (if it exists) or a new file gets under the current umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def usual_modes(root: Path) -> None:
    """Give ``root`` and everything below it the modes a new directory or file gets under the
    umask (0755 / 0644 under 022): ``mkdtemp`` makes 0700 directories, and transformers
    writes its weights 0600 (through a temporary file), which other users (a shared runs
    directory, a container's volume) could then not read."""
    umask = os.umask(0)
    os.umask(umask)
    for top, _, files in os.walk(root):
        os.chmod(top, 0o777 & ~umask)
        for name in files:
            os.chmod(os.path.join(top, name), 0o666 & ~umask)


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    distributed.on_main(lambda: _atomic_here(Path(path), write))


def _atomic_here(path: Path, write: Callable[[Path], None]) -> None:
    if path.is_dir():
        raise SealError(f"cannot write {path}: it is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as err:
        raise SealError(f"cannot write {path}: {err.strerror}") from None
    try:
        write(Path(tmp))
        os.chmod(tmp, _mode_for(path))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise SealError(f"cannot write {path}: {err.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> Any:
    if Path(path).exists() and not Path(path).is_file():
        raise SealError(f"{path} is not a regular file (a directory or a pipe); restore it")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SealError(f"{path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SealError(f"{path} is not valid JSON: {err}") from None
    except (ValueError, RecursionError) as err:
        raise SealError(f"{path} {json_limit(err)}") from None


def read_json_object(path: Path, required: dict[str, type] | None = None) -> dict[str, Any]:
    """A JSON file that must hold an object whose ``required`` keys have the given types;
    anything else is one line naming the file and what is wrong."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise SealError(f"{path} should hold a JSON object, got {type(data).__name__}")
    for key, kind in (required or {}).items():
        if not isinstance(data.get(key), kind):
            raise SealError(
                f"{path}: field {key!r} should be {kind.__name__}, got {data.get(key)!r:.60}"
            )
    return data


def check_run_name(name: str) -> str:
    """A run name is one path component: ``--name ../x`` must not write outside runs_dir."""
    if not name.strip() or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise SealError(f"--name {name!r} must be a plain directory name (no '/', not '..')")
    if name.startswith(("-", ".")):
        raise SealError(f"--name {name!r} must not start with '-' or '.'")
    return name


MANIFEST_SHAPE = {"kind": str, "stages": dict}


def count_rounds(stages: dict[str, Any]) -> int:
    """How many loop iterations (``iter-N`` stages) a manifest's stages hold."""
    return sum(bool(re.fullmatch(r"iter-\d+", k)) for k in stages)


def _start(path: Path, kind: str, config_yaml: str) -> Path:
    """A new run's ``config.yaml`` and an empty ``manifest.json`` in ``path``."""
    atomic_write_text(path / "config.yaml", config_yaml)
    atomic_write_json(path / "manifest.json", {"kind": kind, "stages": {}, "created": time.time()})
    return path


class RunDir:
    """``runs/<name>/``: ``config.yaml`` (what ran) and ``manifest.json`` (stages done)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, root: Path, name: str | None, kind: str, config_yaml: str) -> RunDir:
        """A new run directory under ``root``; an existing name is refused, never overwritten.
        Launched distributed, rank 0 makes it and every rank gets its path."""
        return cls(distributed.on_main(lambda: cls._create(root, name, kind, config_yaml)))

    @classmethod
    def _create(cls, root: Path, name: str | None, kind: str, config_yaml: str) -> Path:
        if not isinstance(config_yaml, str):
            raise SealError("a run's config is YAML text: seal.config.dump_config(config)")
        if Path(root).exists() and not Path(root).is_dir():
            raise SealError(f"runs_dir {root} is a file; give a directory for runs")
        if not name:  # a generated name is never refused: the next free suffix is taken
            stem = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
            return cls._claim(Path(root), stem, kind, config_yaml)
        path = Path(root) / check_run_name(name)
        suffix = 1
        base = path
        while path.exists() and not (path / "manifest.json").exists() and any(path.iterdir()):
            path = base.with_name(f"{base.name}-{suffix}")
            suffix += 1
        if (path / "manifest.json").exists():
            raise SealError(f"run directory {path} already exists; choose another --name")
        return _start(path, kind, config_yaml)

    @classmethod
    def _claim(cls, root: Path, stem: str, kind: str, config_yaml: str) -> Path:
        """``root/stem``, or ``stem-2``, ``stem-3``... when taken (two runs started in the same
        second); made with ``mkdir`` so two processes never get the same one."""
        root.mkdir(parents=True, exist_ok=True)
        for k in range(1, 10_000):
            path = root / (stem if k == 1 else f"{stem}-{k}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return _start(path, kind, config_yaml)
        raise SealError(f"no free run name {stem}-N in {root}; give --name")

    @property
    def manifest(self) -> dict[str, Any]:
        return read_json_object(self.path / "manifest.json", MANIFEST_SHAPE)

    def mark_done(self, stage: str, **info: Any) -> None:
        def mark() -> None:
            manifest = self.manifest
            manifest["stages"][stage] = {"done": time.time(), **info}
            atomic_write_json(self.path / "manifest.json", manifest)

        distributed.on_main(mark)

    def set_owner(self) -> None:
        """Record which process works on this run (``seal runs`` tells running from dead;
        launched distributed: rank 0), in the manifest and the heartbeat."""

        def own() -> None:
            manifest = self.manifest
            manifest["owner"] = owner_record()
            atomic_write_json(self.path / "manifest.json", manifest)
            atomic_write_json(self.path / HEARTBEAT, manifest["owner"])

        distributed.on_main(own)

    @contextmanager
    def owned(self) -> Iterator[None]:
        """This process works on the run while the block runs: its owner record in the
        manifest and, for hosts sharing the filesystem, ``HEARTBEAT`` (the record, its time
        renewed every ``HEARTBEAT_EVERY`` seconds and removed at the end; a killed owner's goes
        stale). Launched distributed: rank 0."""
        self.set_owner()  # writes the heartbeat: rank 0's file writes are collective
        if not distributed.is_main():
            yield
            return
        beat = self.path / HEARTBEAT
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(HEARTBEAT_EVERY):
                with suppress(OSError):  # unreachable for now: the next beat tries again
                    os.utime(beat)

        thread = threading.Thread(target=renew, name="seal-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            beat.unlink(missing_ok=True)

    def is_done(self, stage: str) -> bool:
        return stage in self.manifest["stages"]

    def rounds_done(self, manifest: dict[str, Any] | None = None) -> int:
        """How many loop iterations are done (``manifest``: one already read)."""
        return count_rounds((self.manifest if manifest is None else manifest)["stages"])

    def reopen(self, config_yaml: str) -> Path | None:
        """Continue a run under a new config (more rounds): its final test is copied to
        ``final-NN/`` (NN: the rounds it came after, ``summary.json`` with it) and forgotten,
        then the config is replaced, so resuming runs the further rounds and tests again.
        Each step is atomic and the old results are copied before anything is forgotten, so a
        kill at any point leaves a run that resumes (as before, or as reopened). Returns
        where the earlier final results went (None if the run had none)."""

        def reopen() -> Path | None:
            kept, manifest = None, self.manifest
            if "final" in manifest["stages"]:
                kept = self.path / f"final-{self.rounds_done(manifest):02d}"
                if not kept.exists():
                    tmp = kept.with_name(kept.name + ".tmp")
                    shutil.rmtree(tmp, ignore_errors=True)
                    if (self.path / "final").is_dir():
                        shutil.copytree(self.path / "final", tmp)
                    else:
                        tmp.mkdir()
                    if (self.path / "summary.json").exists():
                        shutil.copy2(self.path / "summary.json", tmp / "summary.json")
                    os.replace(tmp, kept)
                manifest["stages"].pop("final")
                atomic_write_json(self.path / "manifest.json", manifest)
            atomic_write_text(self.path / "config.yaml", config_yaml)
            return kept

        return distributed.on_main(reopen)


def _stat(pid: int) -> list[str] | None:
    """``/proc/PID/stat``'s fields after the command name (state first), where ``/proc`` is."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _started(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot, ``/proc/PID/stat``'s 22nd
    field), where ``/proc`` says; tells a live owner from a later process given its pid."""
    try:
        return int((_stat(pid) or [])[19])
    except (IndexError, ValueError):
        return None


def _ended(pid: int) -> bool:
    """A killed process its parent has not reaped yet (state Z or X): signal 0 still reaches
    it, but it writes nothing more."""
    fields = _stat(pid)
    return bool(fields) and fields[0] in ("Z", "X")


def owner_record() -> dict[str, Any]:
    """This process as a run's owner: pid, host and (where /proc says) its start."""
    record: dict[str, Any] = {"pid": os.getpid(), "host": socket.gethostname()}
    started = _started(os.getpid())
    if started is not None:
        record["started"] = started
    return record


HEARTBEAT = "owner.heartbeat"
HEARTBEAT_EVERY = 30.0
HEARTBEAT_STALE = 120.0
"""A heartbeat older than this (seconds) is a dead owner's: four beats missed."""


def heartbeat_age(run: Path, owner: dict[str, Any]) -> float | None:
    """Seconds since ``owner`` (on any host) last renewed ``run``'s heartbeat; None when the
    run has none of this owner's."""
    beat = Path(run) / HEARTBEAT
    try:
        record = json.loads(beat.read_text())
        age = time.time() - beat.stat().st_mtime
    except (OSError, ValueError, RecursionError):
        return None
    same = isinstance(record, dict) and all(
        record.get(k) == owner.get(k) for k in ("host", "pid", "started")
    )
    return max(age, 0.0) if same else None


def owner_alive(owner: object, run: Path | None = None) -> bool:
    """Whether a manifest's ``owner`` is a process still running. On this host: the same pid,
    alive, and (where recorded) started when the owner did, not a later process that was
    given the dead owner's pid. On another host sharing the filesystem: ``run``'s heartbeat
    renewed by that owner within ``HEARTBEAT_STALE`` seconds."""
    if not isinstance(owner, dict):
        return False
    pid = owner.get("pid")
    if type(pid) is not int or pid <= 1:  # kill(-1 / 0, 0) asks about many processes
        return False
    if owner.get("host") != socket.gethostname():
        age = None if run is None else heartbeat_age(run, owner)
        return age is not None and age < HEARTBEAT_STALE
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError, ValueError, OverflowError):
        return False
    if _ended(pid):
        return False
    started = owner.get("started")
    return type(started) is not int or _started(pid) in (None, started)


def check_not_running(path: Path, manifest: dict[str, Any]) -> None:
    """One line when another live process works on the run at ``path``: two writers would
    interleave its files."""
    owner = manifest.get("owner")
    if not owner_alive(owner, path):
        return
    pid, host = owner["pid"], owner.get("host")
    if host != socket.gethostname():
        age = heartbeat_age(path, owner) or 0.0
        raise SealError(
            f"{path} is being run by process {pid} on host {host} (its heartbeat {age:.0f} s "
            f"ago); wait for it to end, or stop it there (kill {pid}) and resume once its "
            f"heartbeat is {HEARTBEAT_STALE:.0f} s old"
        )
    if pid != os.getpid():
        raise SealError(
            f"{path} is being run by process {pid} (`seal runs` lists it as running); wait "
            f"for it to end, or stop it (kill {pid}) and then resume"
        )
