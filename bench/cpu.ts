// CPU time, to read the speed figures on a shared machine: when other processes compete
// for the cores, wall time grows but the CPU time a job needs grows much less, so the
// ratio of CPU times is the steadier comparison between the daemon and the ceiling.
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Linux's USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on every mainstream build). */
const CLOCK_TICKS_PER_S = 100;

/** User + system CPU milliseconds of a process, all its threads included. */
export function processCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_S;
}

/** This process's CPU milliseconds (every thread, onnxruntime's pool included). */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** One-minute load average: above the core count, other work competed for the CPU. */
export function loadAverage(): number {
  return os.loadavg()[0] ?? 0;
}

export function coreCount(): number {
  return os.availableParallelism();
}
