// Where a field of a YAML document is in its text: the line and column a problem with it is reported at.
import { LineCounter, isMap, isPair, isScalar, isSeq, type Document, type Node as YamlNode } from "yaml";

export interface Position {
  line: number;
  col: number;
}

/**
 * The position of the field at `path` (property names and list indices), or of the deepest part of the path the
 * document has (a missing field is reported at the mapping that lacks it). A mapping is reported at its key
 * (`service:`), a scalar at its value, and at its key when `atKey` (an unknown or badly named field).
 */
export function locateInYaml(doc: Document, lc: LineCounter, path: readonly (string | number)[], atKey: boolean): Position | undefined {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const seg of path) {
    if (isSeq(node) && typeof seg === "number" && seg < node.items.length) {
      keyNode = undefined;
      node = node.items[seg];
      continue;
    }
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
    if (pair === undefined) break;
    keyNode = pair.key;
    node = pair.value;
  }
  const useKey = keyNode !== undefined && (atKey || isMap(node) || node === null || node === undefined);
  const target = (useKey ? keyNode : node) as YamlNode | undefined;
  const offset = target?.range?.[0];
  if (offset === undefined) return undefined;
  return lc.linePos(offset);
}
