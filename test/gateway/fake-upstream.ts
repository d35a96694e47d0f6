import { createServer, type Server } from 'node:http';
import { listenOnLoopback } from '../support/listen-on-loopback.js';

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
  /**
   * Holds every answer from now on until the returned function is called: a model server that
   * has the request and has not answered, for as long as a test needs, whatever the machine's speed.
   */
  hold(): () => void;
  /** Requests received and held, not yet answered. */
  readonly held: number;
  /** Stops listening and cuts every open connection: the model server "dies". */
  kill(): Promise<void>;
}

/**
 * A tiny model server speaking MLflow's /invocations: answers `{"predictions": [...], "served_by": name}`
 * with the headers a real model server sends (model name, version, digest).
 */
export async function startFakeUpstream(name: string, delayMs = 0): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const state: { delayMs: number; gate: Promise<void> | undefined; held: number } = { delayMs, gate: undefined, held: 0 };
  let release = (): void => undefined;
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
      const delayed = (): void => {
        if (state.delayMs > 0) setTimeout(answer, state.delayMs);
        else answer();
      };
      if (!state.gate) return delayed();
      state.held++;
      void state.gate.then(() => {
        state.held--;
        delayed();
      });
    });
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    name,
    seen,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value: number) {
      state.delayMs = value;
    },
    hold() {
      state.gate ??= new Promise<void>((resolve) => {
        release = () => {
          state.gate = undefined;
          resolve();
        };
      });
      return () => release();
    },
    get held() {
      return state.held;
    },
    // Held answers stay held: their connections are cut here, there is nothing left to answer.
    kill: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
