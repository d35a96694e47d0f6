import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import type { GenerationPlan } from '../plan/plan-generation.js';

/** Lists the files the last full `generate` wrote, so the next one can remove stale ones (and nothing else). */
export const GENERATED_LIST_FILE = '.modelfleet-generated.json';

export interface WriteResult {
  /** Files whose content changed (or that are new). */
  readonly written: number;
  /** Files that already held exactly the planned content. */
  readonly unchanged: number;
  readonly removed: number;
}

/**
 * The one place `generate` touches the disk. Every file is first written into a staging folder
 * inside `outDir` (same file system); only when all of them are complete are they renamed into
 * place, each rename atomic. A failure while rendering or staging leaves the previous output
 * exactly as it was. Files that later jobs add to a model folder (image.json, sizing.json,
 * k8s/, report/) are never touched: folders new to `outDir` move whole, existing ones file by file.
 */
export function writePlan(plan: GenerationPlan, outDir: string): WriteResult {
  let staging: string | undefined;
  try {
    mkdirSync(outDir, { recursive: true });
    staging = mkdtempSync(path.join(outDir, '.staging-'));
    // Files whose content is already on disk are left alone (fewer writes, stable timestamps).
    const changed = plan.files.filter((f) => !hasContent(path.join(outDir, ...f.path.split('/')), f.content));
    const folders = [...new Set(changed.map((f) => path.posix.dirname(f.path)))];
    for (const folder of folders) mkdirSync(path.join(staging, ...folder.split('/')), { recursive: true });
    for (const file of changed) writeFileSync(path.join(staging, ...file.path.split('/')), file.content);
    const previous = readGeneratedList(outDir);
    moveInto(staging, outDir);
    const now = plan.files.map((f) => f.path);
    let removed = 0;
    if (plan.scope === 'full') {
      const keep = new Set(now);
      for (const stale of previous.filter((p) => !keep.has(p))) removed += removeGenerated(outDir, stale);
    }
    const list = plan.scope === 'full' ? now : [...new Set([...previous, ...now])].sort();
    const listTemp = path.join(staging, GENERATED_LIST_FILE);
    writeFileSync(listTemp, `${JSON.stringify(list, null, 2)}\n`);
    renameSync(listTemp, path.join(outDir, GENERATED_LIST_FILE));
    return { written: changed.length, unchanged: plan.files.length - changed.length, removed };
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError('OUTPUT_FAILED', `cannot write the generated files to ${outDir}: ${(err as Error).message}`, 'check that the --out folder is writable and the disk has room; the previous output was left as it was', { cause: err });
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Moves the staged tree into `to`: a folder that does not exist there yet moves with one
 * rename (a fresh output folder costs a handful of renames), an existing one file by file, so
 * files other jobs put there stay.
 */
function moveInto(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory() && existsSync(target)) moveInto(source, target);
    else if (!entry.isDirectory()) renameSync(source, target);
    else {
      try {
        renameSync(source, target);
      } catch (err) {
        // Another `generate --model` running next to this one created the folder meanwhile.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        moveInto(source, target);
      }
    }
  }
}

function hasContent(file: string, content: string): boolean {
  try {
    return readFileSync(file, 'utf8') === content;
  } catch {
    return false;
  }
}

function readGeneratedList(outDir: string): string[] {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path.join(outDir, GENERATED_LIST_FILE), 'utf8'));
    // Only plain relative paths from our own list are ever deleted.
    return Array.isArray(parsed) ? parsed.filter((p): p is string => typeof p === 'string' && isSafeRelative(p)) : [];
  } catch {
    return [];
  }
}

function isSafeRelative(p: string): boolean {
  return p !== '' && !p.startsWith('/') && !p.split('/').some((part) => part === '..' || part === '.' || part === '');
}

/** Deletes one stale generated file, then its folder if that became empty (a removed model). */
function removeGenerated(outDir: string, relative: string): number {
  const target = path.join(outDir, ...relative.split('/'));
  try {
    unlinkSync(target);
  } catch {
    return 0;
  }
  try {
    rmdirSync(path.dirname(target));
  } catch {
    // Not empty: later jobs' files (image.json, report/) stay until the folder is cleaned by hand.
  }
  return 1;
}
