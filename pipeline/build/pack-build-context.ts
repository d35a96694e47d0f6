import { Readable } from 'node:stream';
import type { Headers, Pack } from 'tar-fs';
import tarFs from 'tar-fs';

/** One folder of the build context: files under `from` appear under `to` in the context. */
export interface ContextPart {
  readonly from: string;
  readonly to: string;
  /** Paths relative to `from` to include (folders are walked); default: everything. */
  readonly entries?: readonly string[];
}

/** A fixed timestamp for every entry, so the same files always give the same layer bytes. */
const FIXED_MTIME = new Date('2020-01-01T00:00:00Z');

/**
 * Packs several folders into one build-context tar stream, in order, without copying them
 * first. Headers are normalised (owner root, fixed mtime, modes 0755/0644) so that a layer's
 * bytes depend only on file contents, and so the non-root user in the image can read every file
 * whatever the permissions on disk were.
 */
export function packBuildContext(parts: readonly ContextPart[], extraFile?: { name: string; content: string }): NodeJS.ReadableStream {
  const packNext = (index: number, into: Pack | undefined): Pack => {
    const part = parts[index];
    if (!part) throw new Error('packBuildContext needs at least one part');
    const isLast = index === parts.length - 1;
    return tarFs.pack(part.from, {
      ...(into ? { pack: into } : {}),
      ...(part.entries ? { entries: [...part.entries] } : {}),
      dereference: true,
      sort: true,
      finalize: isLast,
      finish: isLast ? undefined : (pack: Pack) => {
        packNext(index + 1, pack);
      },
      map: (header: Headers) => normaliseHeader(header, part.to),
    } as tarFs.PackOptions & { sort: boolean });
  };
  const pack = packNext(0, undefined);
  // Written before tar-fs stats its first file, so it is the archive's first entry.
  if (extraFile) pack.entry({ name: extraFile.name, mode: 0o644, mtime: FIXED_MTIME, uid: 0, gid: 0 }, extraFile.content);
  // tar-fs packs into a streamx stream; hand the Docker client a plain Node stream.
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

function normaliseHeader(header: Headers, prefix: string): Headers {
  const name = header.name === '.' || header.name === '' ? prefix : `${prefix}/${header.name}`;
  const executable = header.type === 'directory' || (header.mode & 0o111) !== 0;
  return {
    ...header,
    name,
    mode: executable ? 0o755 : 0o644,
    mtime: FIXED_MTIME,
    uid: 0,
    gid: 0,
  };
}
