/**
 * The one error type the library throws for bad input. The CLI prints `amp-convert: <file>: <message>` on
 * one line and exits with `exitCode` (2 for bad input); anything else is a bug and keeps its stack.
 */
import { printable } from './text.js';

/**
 * Bad input: the one error type the library throws for problems with a file, a model or an option (exit code 2
 * in the CLI).
 */
export class AmpError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'AmpError';
  }
  /** The same kind of error with another message or file (callers add the node or the file it happened in). */
  reissue(message: string, file = this.file): AmpError {
    const e = new AmpError(message, file, this.exitCode);
    Object.setPrototypeOf(e, Object.getPrototypeOf(this));
    Object.assign(e, { ...this, message, file });
    return e;
  }
  /** The one-line form the CLI prints. */
  oneLine(): string {
    return printable(this.file ? `${this.file}: ${this.message}` : this.message, 600);
  }
}

/**
 * A model the executor cannot run because it has no kernel for an op (`ops`): not bad input — the model may be
 * fine — so a verifying conversion falls back to the static rules with a note instead of refusing it.
 */
export class UnsupportedOpError extends AmpError {
  constructor(
    message: string,
    readonly ops: string[],
    file?: string,
  ) {
    super(message, file);
    this.name = 'UnsupportedOpError';
  }
}

/**
 * A model its runtime would refuse — an attribute of the wrong type, a subgraph whose signature does not fit its
 * node: bad input whatever the inputs are, so verification never proves it (exit 2 naming the node).
 */
export class InvalidModelError extends AmpError {
  constructor(message: string, file?: string) {
    super(message, file);
    this.name = 'InvalidModelError';
  }
}
