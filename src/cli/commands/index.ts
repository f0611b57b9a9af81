/** Every CLI command module, each exporting `register(program)`. One line per command. */
import type { Command } from 'commander';
import * as convert from './convert.js';
import * as diff from './diff.js';
import * as inspect from './inspect.js';
import * as repack from './repack.js';
import * as run from './run.js';
import * as trainCheck from './train-check.js';

export const commands: { register(program: Command): void }[] = [convert, diff, inspect, repack, run, trainCheck];
