"""Peak memory of running processes: the RSS high-water mark (``VmHWM`` of /proc/PID/status)."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def peak_rss_kib(pid: int) -> int:
    """The process's resident set high-water mark in KiB (``VmHWM``), 0 once it is gone."""
    try:
        status = (PROC / str(pid) / "status").read_text(encoding="ascii")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def group_pids(pgid: int) -> list[int]:
    """The live processes of process group ``pgid`` (a server and its workers)."""
    pids = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
        except OSError:
            continue
        # Fields after the command (which may hold spaces) start after the last ')'.
        fields = stat.rpartition(")")[2].split()
        if int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return sorted(pids)


def group_peaks_mib(pgid: int) -> list[float]:
    """Peak RSS in MiB of each process of the group, largest first."""
    return sorted((peak_rss_kib(pid) / 1024 for pid in group_pids(pgid)), reverse=True)
