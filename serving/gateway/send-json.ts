import { httpDate, type Exchange } from '../../lib/http1/front-server.js';

/** Answers with a JSON body. `headerLines` are extra `name: value\r\n` lines. */
export function sendJson(exchange: Exchange, status: number, body: unknown, headerLines = ''): void {
  exchange.respond(status, `date: ${httpDate()}\r\ncontent-type: application/json; charset=utf-8\r\n${headerLines}`, JSON.stringify(body));
}

export function sendText(exchange: Exchange, status: number, contentType: string, text: string): void {
  exchange.respond(status, `date: ${httpDate()}\r\ncontent-type: ${contentType}\r\n`, text);
}
