// A CPU cap for one process, to measure scale-out on a small machine: a worker capped at a fraction of a
// core stands for a worker on a small machine of its own, so N capped workers show whether throughput
// grows with N (until the database or the machine is the limit) where N uncapped workers would only
// compete for the same two cores. Linux cgroups: v1's `cpu` controller (cfs quota) or v2's `cpu.max`;
// needs write access to /sys/fs/cgroup (root in a container or VM). Bench-only.
import fs from 'node:fs';
import path from 'node:path';

const PERIOD_US = 100_000;

interface Hierarchy {
  root: string;
  limit(dir: string, quotaUs: number): void;
}

function hierarchy(): Hierarchy | undefined {
  const v1 = '/sys/fs/cgroup/cpu';
  if (fs.existsSync(path.join(v1, 'cpu.cfs_quota_us'))) {
    return {
      root: v1,
      limit: (dir, quota) => {
        fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(quota));
      },
    };
  }
  const v2 = '/sys/fs/cgroup';
  try {
    if (fs.readFileSync(path.join(v2, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('cpu')) {
      return { root: v2, limit: (dir, quota) => fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`) };
    }
  } catch {
    // no cgroup v2 with the cpu controller delegated here
  }
  return undefined;
}

/** Why capping cannot work here, or undefined when it can. */
export function cpuCapUnavailable(): string | undefined {
  const h = hierarchy();
  if (!h) return 'no cgroup cpu controller (v1 cpu.cfs_quota_us or v2 cpu.max) on this machine';
  try {
    fs.accessSync(h.root, fs.constants.W_OK);
  } catch {
    return `${h.root} is not writable (needs root)`;
  }
  return undefined;
}

/** Caps process `pid` (all its threads) at `cores` of CPU time; returns the function that lifts the cap. */
export function capCpu(pid: number, cores: number): () => void {
  const h = hierarchy();
  const why = cpuCapUnavailable();
  if (!h || why) throw new Error(`cannot cap CPU: ${why}`);
  if (!(cores > 0 && cores <= 64)) throw new Error(`cores: a fraction of a core or more, not ${cores}`);
  const dir = path.join(h.root, `linesight-bench-${pid}`);
  fs.mkdirSync(dir, { recursive: true });
  h.limit(dir, Math.round(cores * PERIOD_US));
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  return () => {
    // A process still alive goes back to the root group; an empty group can then be removed.
    try {
      fs.writeFileSync(path.join(h.root, 'cgroup.procs'), String(pid));
    } catch {
      // it has exited
    }
    try {
      fs.rmdirSync(dir);
    } catch {
      // still busy: left for the next run to reuse
    }
  };
}
