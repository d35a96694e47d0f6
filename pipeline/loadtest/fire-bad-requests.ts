import { connect } from 'node:net';
import type { BadRequest } from '../../serving/model-server/bad-request-corpus.js';

/** The outcome of one malformed request: it must get a 4xx, never a 2xx or a 5xx. */
export interface BadRequestOutcome {
  readonly name: string;
  readonly status: number | undefined;
  readonly answered4xx: boolean;
  /** Socket error, when there was no answer. */
  readonly error?: string;
}

const UPLOAD_CHUNK_BYTES = 64 * 1024;
const EARLY_ANSWER_WAIT_MS = 500;

/**
 * Sends each malformed request once, one after another (the corpus is small; the point is the
 * answer, not the load), each bounded by `timeoutMs`.
 */
export async function fireBadRequests(baseUrl: string, corpus: readonly BadRequest[], timeoutMs = 10_000): Promise<BadRequestOutcome[]> {
  const outcomes: BadRequestOutcome[] = [];
  for (const bad of corpus) {
    const answer = await send(new URL(bad.path, baseUrl), bad, timeoutMs);
    outcomes.push({
      name: bad.name,
      status: answer.status,
      answered4xx: answer.status !== undefined && answer.status >= 400 && answer.status <= 499,
      ...(answer.error ? { error: answer.error } : {}),
    });
  }
  return outcomes;
}

/**
 * A raw socket rather than fetch or node:http: a server may answer 413 and close the socket while
 * a too-large body is still being sent (as it should). The HTTP clients report the broken upload
 * (EPIPE) and drop the answer; here the answer is read whatever happens to the upload.
 */
function send(url: URL, bad: BadRequest, timeoutMs: number): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    let received = '';
    let writeError: string | undefined;
    let settled = false;
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const statusOf = (): number | undefined => {
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      return match ? Number(match[1]) : undefined;
    };
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const status = statusOf();
      resolve(status !== undefined ? { status } : { error: error ?? writeError ?? 'the connection closed without an answer' });
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (statusOf() !== undefined) finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      writeError = err.code ? `${err.code}: ${err.message}` : err.message;
    });
    socket.on('close', () => finish());
    const body = Buffer.from(bad.method === 'GET' ? '' : bad.body, 'utf8');
    const headers = { host: url.host, ...bad.headers, 'content-length': String(body.length), connection: 'close' };
    const head = `${bad.method} ${url.pathname}${url.search} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
    socket.write(head, 'latin1');
    // A server that refuses a body by its Content-Length answers at once and closes; writing
    // into the closed socket would reset it and lose the answer. So a large body waits a moment
    // for such an early answer, then goes in chunks, and stops as soon as an answer arrives.
    void (async () => {
      if (body.length > UPLOAD_CHUNK_BYTES) {
        await new Promise<void>((done) => {
          const wait = setTimeout(done, EARLY_ANSWER_WAIT_MS);
          socket.once('data', () => {
            clearTimeout(wait);
            done();
          });
        });
      }
      for (let offset = 0; offset < body.length && !settled && !socket.destroyed; offset += UPLOAD_CHUNK_BYTES) {
        if (!socket.write(body.subarray(offset, offset + UPLOAD_CHUNK_BYTES))) {
          await new Promise<void>((done) => {
            socket.once('drain', done);
            socket.once('close', done);
          });
        }
      }
      if (!settled && !socket.destroyed) socket.end();
    })();
  });
}

/**
 * The part of the corpus a bring-your-own server can be held to: malformed JSON bodies on its
 * predict path. Protocol details of modelfleet's own server (v2, CSV, size limits, 404/405) are left out.
 */
export function corpusForForeignServer(corpus: readonly BadRequest[], predictPath: string): BadRequest[] {
  return corpus
    .filter((r) => r.path === '/invocations' && r.method === 'POST' && r.headers['content-type'] === 'application/json' && r.expectStatus === 400)
    .map((r) => ({ ...r, path: predictPath }));
}
