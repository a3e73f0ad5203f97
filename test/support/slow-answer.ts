// An HTTP answer sent slowly on purpose: the body in equal parts with a pause between them, as a modest link or a slow
// endpoint delivers it — for the tests of transfer deadlines (what must finish, and what must be cut off).
import type { ServerResponse } from "node:http";

/** Writes `body` to `res` in `parts` equal parts, `gapMs` apart, then ends it. Returns a cancel for the pending timer. */
export function sendInParts(res: ServerResponse, body: Uint8Array, parts: number, gapMs: number): () => void {
  const size = Math.ceil(body.length / parts);
  let timer: NodeJS.Timeout | undefined;
  const send = (k: number): void => {
    res.write(body.subarray(k * size, (k + 1) * size));
    if (k === parts - 1) res.end();
    else timer = setTimeout(() => send(k + 1), gapMs);
  };
  send(0);
  return () => clearTimeout(timer);
}
