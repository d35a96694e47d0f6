import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A throwaway git repository for change-detection tests. */
export interface TempRepo {
  readonly dir: string;
  write(file: string, content: string): void;
  /** Commits everything and returns the new commit's SHA. */
  commit(message: string): string;
}

export function createTempRepo(dir: string): TempRepo {
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=modelfleet-test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  git('init', '--quiet', '--initial-branch=main');
  return {
    dir,
    write(file, content) {
      const target = path.join(dir, file);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, content);
    },
    commit(message) {
      git('add', '--all');
      git('commit', '--quiet', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
  };
}
