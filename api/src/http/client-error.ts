import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from './error-shape.js';

export interface ClientErrorAnswer {
  status: 400 | 408 | 431;
  code: string;
  message: string;
}

const REASONS: Record<ClientErrorAnswer['status'], string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** The answer to a request Node's parser refused, or one not received within its time. */
export function clientErrorAnswer(errorCode: string | undefined): ClientErrorAnswer {
  switch (errorCode) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'headers_too_large', message: 'request headers are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'request_timeout',
        message: 'the request was not received in time (HTTP_REQUEST_TIMEOUT_MS)',
      };
    case 'HPE_INVALID_METHOD':
      return { status: 400, code: 'bad_request', message: 'malformed HTTP request: unknown method' };
    default:
      return { status: 400, code: 'bad_request', message: 'malformed HTTP request' };
  }
}

/**
 * The server's `clientError` listener: what Node would answer (400, 408, 431), in the one
 * error shape instead of an empty body, and only where Node would (the socket writable, no
 * answer begun on it); then the connection ends, since the stream can no longer be trusted.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code !== 'ECONNRESET' && socket.writable && inFlight?.headersSent !== true) {
    const a = clientErrorAnswer(err.code);
    const body = JSON.stringify(errorBody(a.code, a.message));
    socket.write(
      `HTTP/1.1 ${a.status} ${REASONS[a.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/**
 * The server's `checkExpectation` listener: an `Expect` other than `100-continue`, which no
 * route can meet. Node's own answer is a 417 with an empty body; this one is in the one
 * error shape, and the request is not handled.
 */
export function answerUnmetExpectation(req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify(
    errorBody('expectation_failed', 'the Expect header can only be 100-continue', [
      { path: 'headers.expect', code: 'invalid_value', message: 'only 100-continue is supported' },
    ]),
  );
  res.writeHead(417, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(body);
  req.resume();
}
