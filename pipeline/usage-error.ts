/**
 * A mistake in how sglrp was called (an option's value, a path that is a file where a folder is
 * needed): the CLI prints the message and exits 2 (docs/PROTOCOL.md §9), since rerunning the same
 * command cannot help.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
