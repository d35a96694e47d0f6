import { execFileSync } from 'node:child_process';
import { UserError } from '../../lib/errors/user-error.js';

/** The little of git that change detection needs; tests can stand in for it. */
export interface GitSeam {
  /** Absolute path of the repository's top folder, or undefined outside a repository. */
  topLevel(): string | undefined;
  /** The full SHA of `rev` when the clone has that commit, else undefined. */
  resolveCommit(rev: string): string | undefined;
  /** Files that differ between `rev` and the working tree, plus untracked files; repository-relative, `/`-separated. */
  changedFiles(rev: string): string[];
  /** A file's content at `rev`, or undefined when it did not exist there. */
  showFile(rev: string, repoPath: string): string | undefined;
}

export function openGit(cwd: string): GitSeam {
  const run = (args: readonly string[]): string =>
    execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  const fail = (what: string, err: unknown): never => {
    const stderr = (err as { stderr?: unknown }).stderr;
    const detail = typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim().split('\n')[0] : (err as Error).message;
    throw new UserError('GIT_FAILED', `git ${what} failed: ${detail}`, 'run inside a git clone with the previous commit fetched (GIT_DEPTH: 0), or use --all', { cause: err });
  };
  return {
    topLevel() {
      try {
        return run(['rev-parse', '--show-toplevel']).trim();
      } catch {
        return undefined;
      }
    },
    resolveCommit(rev) {
      try {
        return run(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).trim() || undefined;
      } catch {
        return undefined;
      }
    },
    changedFiles(rev) {
      try {
        const diff = run(['diff', '--name-only', '--no-renames', '-z', rev, '--']);
        const untracked = run(['ls-files', '--others', '--exclude-standard', '-z']);
        return [...new Set([...diff.split('\0'), ...untracked.split('\0')].filter((f) => f !== ''))].sort();
      } catch (err) {
        return fail(`diff against ${rev}`, err);
      }
    },
    showFile(rev, repoPath) {
      try {
        return run(['show', `${rev}:${repoPath}`]);
      } catch {
        return undefined;
      }
    },
  };
}
