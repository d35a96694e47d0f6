import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a fake model server saw: one entry per /invocations request. */
export interface SeenRequest {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface FakeUpstream {
  readonly url: string;
  readonly name: string;
  readonly seen: SeenRequest[];
  /** Answer delay in ms (applies to requests arriving after the change). */
  delayMs: number;
  /** Stops listening and cuts every open connection: the model server "dies". */
  kill(): Promise<void>;
}

/**
 * A tiny model server speaking MLflow's /invocations: answers `{"predictions": [...], "served_by": name}`
 * with the headers a real model server sends (model name, version, digest).
 */
export async function startFakeUpstream(name: string, delayMs = 0): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const state = { delayMs };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ path: req.url ?? '', contentType: req.headers['content-type'], body, headers: req.headers });
      const answer = (): void => {
        if (req.url !== '/invocations') {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{"error":"not found"}');
          return;
        }
        const text = JSON.stringify({ predictions: [0.25], served_by: name, echo: body });
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-model-name': name,
          'x-model-version': `${name}-v1`,
          'x-model-digest': `sha256:${name}`,
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      if (state.delayMs > 0) setTimeout(answer, state.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    name,
    seen,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value: number) {
      state.delayMs = value;
    },
    kill: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
