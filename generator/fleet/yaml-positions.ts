import { EVENT_ID, constructFromEvents, getScalarValue, parseEvents, type Event } from 'js-yaml';
import type { SourceLocation } from './types.js';

/** A key path inside the document, as zod reports it: `['models', 2, 'ab']`. */
export type KeyPath = readonly (string | number)[];

export interface LocatedYaml {
  readonly value: unknown;
  /** Where each key (for mapping entries) or item (for sequence entries) starts; keyed by `formatKeyPath`. */
  readonly positions: ReadonlyMap<string, SourceLocation>;
  /** Key paths that hold an alias (`*name`); the fleet loader rejects them. */
  readonly aliases: readonly KeyPath[];
  /** Number of YAML documents (`---` separated) in the source. */
  readonly documents: number;
}

/** `models[2].ab.variants[1].weight`: the form error messages use. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** Maps character offsets to 1-based line and column. */
export function createLocator(source: string): (offset: number) => SourceLocation {
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) lineStarts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (lineStarts[lo] ?? 0) + 1 };
  };
}

function startOf(event: Event): number {
  switch (event.type) {
    case EVENT_ID.SCALAR:
      // An empty plain scalar (`key:` with nothing after) has no text; its anchor or tag may.
      return firstPresent(event.anchorStart, event.tagStart, event.valueStart);
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return firstPresent(event.anchorStart, event.tagStart, event.start);
    case EVENT_ID.ALIAS:
      return event.anchorStart - 1;
    default:
      return -1;
  }
}

function firstPresent(...offsets: number[]): number {
  const present = offsets.filter((o) => o >= 0);
  return present.length === 0 ? -1 : Math.min(...present);
}

/**
 * Parses one YAML document and records where every key and sequence item starts, so that a
 * problem found later (by zod, or by a cross-model check) can name `models.yaml:LINE:COL`.
 * js-yaml 5 exposes its parser as an event stream with source offsets (`parseEvents`); the
 * value itself is then built from the same events (`constructFromEvents`), so both agree.
 * Throws js-yaml's `YAMLException` (with a mark) on syntax errors.
 */
export function parseLocatedYaml(source: string, filename: string): LocatedYaml {
  const events = parseEvents(source, { filename, maxDepth: 64 });
  const locate = createLocator(source);
  const positions = new Map<string, SourceLocation>();
  const aliases: KeyPath[] = [];

  // A small stack machine over the flat event stream.
  interface Frame {
    kind: 'map' | 'seq' | 'skip';
    path: (string | number)[];
    index: number;
    expectKey: boolean;
    key: string | number;
    depth: number;
  }
  const stack: Frame[] = [];
  let skipDepth = 0;
  let documents = 0;

  const childPath = (frame: Frame | undefined): (string | number)[] | undefined => {
    if (!frame) return [];
    if (frame.kind === 'seq') return [...frame.path, frame.index];
    if (frame.kind === 'map') return [...frame.path, frame.key];
    return undefined;
  };

  for (const event of events) {
    if (event.type === EVENT_ID.DOCUMENT) {
      documents++;
      continue;
    }
    if (skipDepth > 0) {
      // Inside a complex mapping key: nothing there is addressable by a key path.
      if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) skipDepth++;
      else if (event.type === EVENT_ID.POP) skipDepth--;
      if (skipDepth === 0) {
        const top = stack[stack.length - 1];
        if (top && top.kind === 'map') {
          top.key = '?';
          top.expectKey = false;
        }
      }
      continue;
    }
    const top = stack[stack.length - 1];
    if (event.type === EVENT_ID.POP) {
      if (stack.length > 0) {
        stack.pop();
        afterValue(stack[stack.length - 1]);
      }
      continue;
    }
    if (top && top.kind === 'map' && top.expectKey) {
      if (event.type === EVENT_ID.SCALAR) {
        top.key = getScalarValue(source, event);
        top.expectKey = false;
        positions.set(formatKeyPath([...top.path, top.key]), locate(startOf(event)));
      } else if (event.type === EVENT_ID.ALIAS) {
        top.key = '?';
        top.expectKey = false;
      } else {
        skipDepth = 1;
      }
      continue;
    }
    const path = childPath(top);
    if (path === undefined) continue;
    if (top && top.kind === 'seq') positions.set(formatKeyPath(path), locate(startOf(event)));
    if (stack.length === 0 && documents <= 1) positions.set(formatKeyPath([]), locate(Math.max(0, startOf(event))));
    if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) {
      stack.push({ kind: event.type === EVENT_ID.MAPPING ? 'map' : 'seq', path, index: 0, expectKey: true, key: '', depth: stack.length });
      continue;
    }
    if (event.type === EVENT_ID.ALIAS) aliases.push(path);
    afterValue(top);
  }

  function afterValue(frame: Frame | undefined): void {
    if (!frame) return;
    if (frame.kind === 'seq') frame.index++;
    else if (frame.kind === 'map') frame.expectKey = true;
  }

  // Aliases and extra documents are refused by the caller; constructing them is not needed then.
  const value = aliases.length > 0 || documents !== 1 ? undefined : constructFromEvents(events, { source, filename, maxAliases: 0 })[0];
  return { value, positions, aliases, documents };
}
