import { realpathSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../lib/errors/user-error.js';
import { isUserError } from '../lib/errors/user-error.js';
import { parseFleet } from './fleet/load-fleet.js';
import type { FleetSpec } from './fleet/types.js';
import type { GitSeam } from './git/git-seam.js';
import { selectAll, selectChanges, type ChangeSet } from './plan/select-changes.js';

export interface DetectOptions {
  /** `--all`: every deployable, no git needed. */
  readonly all: boolean;
  /** `--since REV`: an explicit revision; failures to use it are errors. */
  readonly since?: string;
  /** `CI_COMMIT_BEFORE_SHA` from GitLab; failures to use it fall back to all deployables. */
  readonly ciBeforeSha?: string;
}

/** Revisions go to git as arguments; refuse anything that could read as an option. */
const REVISION = /^[A-Za-z0-9_][A-Za-z0-9_./~^@{}-]*$/;

/**
 * Decides which deployables get jobs. The thin shell around the pure `selectChanges`: it asks
 * git (through the seam) for the previous models.yaml and the changed files.
 */
export function detectChanges(fleet: FleetSpec, options: DetectOptions, openGit: () => GitSeam): ChangeSet {
  if (options.all) return selectAll(fleet, 'forced with --all');
  const explicit = options.since !== undefined;
  const since = options.since ?? options.ciBeforeSha;
  if (since === undefined || since === '') return selectAll(fleet, 'no previous commit given (--since REV or CI_COMMIT_BEFORE_SHA)');
  // GitLab sets CI_COMMIT_BEFORE_SHA to forty zeros on the first push of a branch and in
  // merge request and scheduled pipelines (https://docs.gitlab.com/ci/variables/predefined_variables/).
  if (/^0+$/.test(since)) return selectAll(fleet, 'first push of this branch (no previous commit)');
  if (!REVISION.test(since)) {
    throw new UserError('USAGE', `--since ${JSON.stringify(since)} is not a git revision`, 'pass a commit SHA, a branch or a tag, e.g. --since HEAD~1');
  }
  const giveUp = (reason: string, fix: string): ChangeSet => {
    if (explicit) throw new UserError('GIT_FAILED', reason, fix);
    return selectAll(fleet, `${reason}; generating everything`);
  };
  const git = openGit();
  const top = git.topLevel();
  if (top === undefined) return giveUp('not inside a git repository', 'run from the repository, or use --all');
  const sha = git.resolveCommit(since);
  if (sha === undefined) {
    return giveUp(`revision ${since} is not in this clone`, 'fetch it (in GitLab: GIT_DEPTH: 0 or a larger depth), or use --all');
  }
  const fleetRepoPath = path.relative(realpathSync(top), realpathSync(fleet.file)).split(path.sep).join('/');
  if (fleetRepoPath.startsWith('..')) return giveUp(`${fleet.file} is outside the repository at ${top}`, 'keep models.yaml inside the repository, or use --all');

  const previousText = git.showFile(sha, fleetRepoPath);
  let previous: FleetSpec | undefined;
  if (previousText !== undefined) {
    try {
      previous = parseFleet(previousText, fleet.file);
    } catch (err) {
      if (!isUserError(err)) throw err;
      return selectAll(fleet, `${fleetRepoPath} at ${sha.slice(0, 12)} was not valid, so nothing can be compared`);
    }
  }
  const fleetDir = path.posix.dirname(fleetRepoPath);
  return selectChanges({ fleet, previous, changedFiles: git.changedFiles(sha), fleetDir: fleetDir === '.' ? '' : fleetDir, since: sha });
}
