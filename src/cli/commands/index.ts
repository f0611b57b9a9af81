/** Every CLI command module, each exporting `register(program)`. One line per command. */
import type { Command } from 'commander';
import * as convert from './convert.js';
import * as inspect from './inspect.js';
import * as repack from './repack.js';
import * as run from './run.js';

export const commands: { register(program: Command): void }[] = [
  convert,
  inspect,
  repack,
  run,
];
