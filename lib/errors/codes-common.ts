import type { ErrorCodeInfo } from './error-code-info.js';

export const commonErrors = {
  USAGE: {
    summary: 'The command line names an unknown option, or misses a required one.',
    fix: 'Run `modelfleet <command> --help` for the options of that command.',
  },
  FILE_NOT_FOUND: {
    summary: 'A file or directory the command needs does not exist.',
    fix: 'Check the path (relative paths are read from the current directory) and create the file, or pass the right one.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
