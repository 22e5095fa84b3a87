import type { Command } from 'commander';

// Simulators live in runtime/dev/simulators/<name>.ts and export register(cmd); `dataset` writes the camera's images as
// training data; `fleet` runs many simulated edge agents against a flow repository.
const SIMULATORS = ['plc', 'camera', 'dataset', 'fleet'];

export function register(program: Command): void {
  const sim = program.command('simulate').description('simulated line equipment: a PLC (Modbus TCP / OPC UA), a vision camera (gRPC), training datasets of its images, and a fleet of edge agents');
  for (const name of SIMULATORS) {
    let mod: { register(cmd: Command): void } | undefined;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(`../../dev/simulators/${name}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    }
    if (mod) mod.register(sim);
  }
}
