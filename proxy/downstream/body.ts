// Reads a request body into memory, refusing more than `limit` bytes (413) without buffering them.
import type { IncomingMessage } from 'node:http';
import { McpmuxError } from '../../shared/errors.ts';

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // discard it, so the 413 can be delivered
    return Promise.reject(tooLarge(limit));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        // Stop holding the bytes but keep reading (and discarding) so the 413 can be delivered.
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function tooLarge(limit: number): McpmuxError {
  return new McpmuxError('MCPMUX_BODY_TOO_LARGE', `Request body exceeds ${limit} bytes`);
}
