/** Every CLI command module, each exporting `register(program)`. One line per command. */
import type { Command } from 'commander';

export const commands: { register(program: Command): void }[] = [
];
