import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/**
 * Node's own HTTP/1.1 parser: the llhttp binding behind `node:http`, reached through the
 * `_http_common` built-in (listed in `module.builtinModules`). The gateway and the model server parse requests and
 * answers with it directly instead of going through `node:http`'s IncomingMessage/ServerResponse
 * streams and undici's WebAssembly copy of the same parser: the parsing (and its strictness and
 * security fixes) stays Node's, the per-request stream machinery goes (docs/gateway.md, "Performance").
 *
 * The binding is undocumented, so its shape is checked once when this module loads: a Node.js
 * whose parser differs stops the process at start-up with a message, never mid-request.
 */

/** Flat list of header names and values as they arrived: [name0, value0, name1, value1, ...] (latin1 strings). */
export type RawHeaders = string[];

export interface ParseError extends Error {
  /** llhttp's error name, e.g. HPE_INVALID_METHOD, HPE_HEADER_OVERFLOW. */
  readonly code: string;
  readonly reason?: string;
  readonly bytesParsed?: number;
}

export interface NodeHttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Reads straight from a socket's native handle; results arrive through kOnExecute. */
  consume(handle: ConsumedHandle): void;
  unconsume(): void;
  /** Milliseconds since the current message's first byte; 0 between messages (after the first). */
  duration(): number;
  /** The current message's head is complete. */
  headersCompleted(): boolean;
  /** Bytes parsed, or the error that stopped parsing. */
  execute(data: Buffer): number | ParseError;
  /** Tells the parser the peer closed: ends a close-delimited body; an error if a message was cut short. */
  finish(): undefined | ParseError;
  close(): void;
  free(): void;
  [callback: number]: unknown;
}

interface ParserConstructor {
  new (): NodeHttpParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kLenientNone: number;
}

/** kOnHeadersComplete(versionMajor, versionMinor, headers, method, url, statusCode, statusMessage, upgrade, shouldKeepAlive). */
export type OnHeadersComplete = (
  versionMajor: number,
  versionMinor: number,
  headers: RawHeaders | undefined,
  method: number | undefined,
  url: string | undefined,
  statusCode: number | undefined,
  statusMessage: string | undefined,
  upgrade: boolean,
  shouldKeepAlive: boolean,
) => number;

const common = createRequire(import.meta.url)('_http_common') as { HTTPParser?: ParserConstructor; methods?: readonly string[] };

function checked(): { Parser: ParserConstructor; methods: readonly string[] } {
  const Parser = common.HTTPParser;
  const methods = common.methods;
  const ok = typeof Parser === 'function' && Array.isArray(methods) && methods.includes('POST')
    && [Parser.REQUEST, Parser.RESPONSE, Parser.kOnHeaders, Parser.kOnHeadersComplete, Parser.kOnBody, Parser.kOnMessageComplete, Parser.kLenientNone]
      .every((n) => typeof n === 'number')
    && ['initialize', 'execute', 'finish', 'close', 'free', 'duration', 'headersCompleted'].every((m) => typeof (Parser.prototype as unknown as Record<string, unknown>)[m] === 'function');
  if (!ok) {
    throw new Error(`the HTTP/1.1 front (gateway, model server) needs Node.js's built-in HTTP parser (_http_common.HTTPParser), which this Node.js ${process.version} does not offer in the expected shape; run on Node.js 20 or 22`);
  }
  return { Parser: Parser as ParserConstructor, methods: methods as readonly string[] };
}

const { Parser, methods } = checked();

export const HTTPParser = Parser;

/** Method names by the number the parser reports (`methods[3] === 'POST'`). */
export const METHODS: readonly string[] = methods;

/** Header names and values a message's kOnHeaders calls handed over before kOnHeadersComplete (more than 32 lines). */
export interface HeaderAccumulator {
  headers: RawHeaders;
  url: string;
}

/**
 * A parser for one connection. `accumulator` collects what the parser flushes early (messages with
 * many header lines); the kOnHeadersComplete handler reads it when its own arguments are undefined.
 */
export function createParser(type: 'request' | 'response', maxHeaderSize: number, accumulator: HeaderAccumulator): NodeHttpParser {
  const parser = new Parser();
  parser.initialize(type === 'request' ? Parser.REQUEST : Parser.RESPONSE, {}, maxHeaderSize, Parser.kLenientNone);
  parser[Parser.kOnHeaders] = (headers: RawHeaders, url: string): void => {
    for (const item of headers) accumulator.headers.push(item);
    accumulator.url += url;
  };
  return parser;
}

/** A socket's native stream handle (TCPWrap), as `consume` takes it. */
export interface ConsumedHandle {
  readonly isStreamBase?: boolean;
  _consumed?: boolean;
  readStart(): number;
  readStop(): number;
}

/** kOnExecute: called after the parser consumed one read from the socket handle. */
const K_ON_EXECUTE = 5;

/**
 * Lets the parser read from the socket's native handle directly, as node:http's server does: each
 * read is parsed in C++ without passing through the socket's Readable stream, and `afterRead`
 * gets the result (bytes parsed or the parse error). This saved about a fifth of the gateway's CPU
 * time per request. Returns the handle, or undefined (and changes nothing) when the socket has no
 * consumable handle; the caller then feeds `execute()` from 'data' events. The socket still emits
 * 'end', 'error' and 'close'.
 */
export function consumeSocket(parser: NodeHttpParser, socket: Socket, afterRead: (result: number | ParseError) => void): ConsumedHandle | undefined {
  const handle = (socket as unknown as { _handle?: ConsumedHandle })._handle;
  if (handle?.isStreamBase !== true || handle._consumed === true || typeof parser.consume !== 'function') return undefined;
  handle._consumed = true;
  parser[K_ON_EXECUTE] = afterRead;
  parser.consume(handle);
  return handle;
}

/**
 * Frees the parser's native half. Deferred until the stack has unwound (as node:http's freeParser
 * does): the parser may be in the middle of `execute()`, calling back into the code that closes it.
 */
export function closeParser(parser: NodeHttpParser, consumed = false): void {
  setImmediate(() => {
    if (consumed) parser.unconsume();
    parser.close();
  });
}

/** Sets the parser's callbacks (each called with the parser as `this`; use closures or bound functions). */
export function onParserEvents(
  parser: NodeHttpParser,
  events: { headersComplete: OnHeadersComplete; body: (chunk: Buffer) => void; messageComplete: () => void },
): void {
  parser[Parser.kOnHeadersComplete] = events.headersComplete;
  parser[Parser.kOnBody] = events.body;
  parser[Parser.kOnMessageComplete] = events.messageComplete;
}

/** The value of the first header named `lowerName` (lower case), or undefined. */
export function firstHeader(raw: RawHeaders, lowerName: string): string | undefined {
  const length = lowerName.length;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === length && name.toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}
