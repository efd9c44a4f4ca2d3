"""A small seccomp filter for the jail (classic BPF, handed to bubblewrap's ``--seccomp``).

The namespaces already keep the program away from the host; this filter shrinks the
kernel surface it can reach from inside: no new namespaces (as root the jail has no user
namespace of its own, so bubblewrap's ``--disable-userns`` cannot be used), no mounts,
ptrace, BPF, perf, keyrings, io_uring, userfaultfd, module loading or kexec, no System V
IPC objects and no ``fallocate`` (each a way past the memory or file-size limit), and no
other syscall ABI (i386, x32). Those fail with EPERM; ``clone3`` says ENOSYS so that libc falls
back to ``clone``, whose flags the filter can read. Only x86_64 and aarch64 are covered;
elsewhere ``program`` returns None and the jail runs without the filter.
"""

from __future__ import annotations

import errno
import os
import struct

_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}  # AUDIT_ARCH_*
# name -> (x86_64, aarch64) syscall numbers
_DENY = {
    "unshare": (272, 97),
    "setns": (308, 268),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "open_by_handle_at": (304, 265),
    "name_to_handle_at": (303, 264),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    # System V IPC: a shared-memory segment detached but not removed belongs to no process,
    # so the watcher's sum of resident memory never saw it (32 MiB segments piled up past
    # any limit); message queues and semaphore sets hold kernel memory the same way
    "shmget": (29, 194),
    "shmat": (30, 196),
    "msgget": (68, 186),
    "semget": (64, 190),
    # FALLOC_FL_KEEP_SIZE reserves disk blocks past the file-size limit (which only checks
    # the size): 200 MiB behind a 0-byte stdout on our side
    "fallocate": (285, 47),
}
_CLONE, _CLONE3 = (56, 220), (435, 435)
_NEW_NAMESPACES = 0x7E020080  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME

_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program() -> bytes | None:
    """The filter for this machine, or None where it is not covered."""
    machine = os.uname().machine
    if machine not in _ARCH:
        return None
    i = 0 if machine == "x86_64" else 1
    eperm, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    ops = [
        _op(_LD_ABS, 4),  # seccomp_data.arch
        _op(_JEQ, _ARCH[machine], 1, 0),
        _op(_RET, _KILL),
        _op(_LD_ABS, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":
        ops += [_op(_JGE, 0x40000000, 0, 1), _op(_RET, eperm)]  # the x32 ABI
    for numbers in _DENY.values():
        ops += [_op(_JEQ, numbers[i], 0, 1), _op(_RET, eperm)]
    ops += [_op(_JEQ, _CLONE3[i], 0, 1), _op(_RET, enosys)]
    ops += [
        _op(_JEQ, _CLONE[i], 0, 3),
        _op(_LD_ABS, 16),  # low half of args[0]: clone's flags
        _op(_JSET, _NEW_NAMESPACES, 0, 1),
        _op(_RET, eperm),
        _op(_RET, _ALLOW),
    ]
    return b"".join(ops)


def memfd() -> int | None:
    """An inheritable fd holding the filter, for ``bwrap --seccomp FD`` (caller closes)."""
    prog = program()
    if prog is None:
        return None
    fd = os.memfd_create("seal-seccomp", 0)
    os.write(fd, prog)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
