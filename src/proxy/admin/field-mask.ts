/**
 * Envoy's ?mask= on /config_dump: a google.protobuf.FieldMask ("a.b,c") that trims a message to the
 * fields it names, applied to proto3 JSON. A path may not go on through a repeated field (Envoy's
 * FieldMaskUtil refuses it). Envoy checks the names inside a resource against the resource's proto;
 * Bulwark carries no descriptors, so a name there that the proto lacks selects nothing instead.
 */
type Json = Record<string, unknown>;

const FIELD_NAME = /^[a-z_][a-z0-9_]*$/;

/** The mask's paths, as FieldMaskUtil::FromString reads them (empty ones skipped). */
export function maskPaths(mask: string): string[] {
  return mask.split(',').filter((p) => p !== '');
}

/** The mask as protobuf's DebugString prints it, for Envoy's error texts. */
export function maskDebugString(paths: string[]): string {
  return paths.map((p) => `paths: ${JSON.stringify(p)}\n`).join('');
}

/** Whether `path` names fields that exist as far as the JSON can tell: identifiers, never through a list. */
export function pathFitsJson(body: unknown, path: string[]): boolean {
  let at: unknown = body;
  for (let i = 0; i < path.length; i++) {
    if (!FIELD_NAME.test(path[i]!)) return false;
    if (at === undefined) continue;
    if (Array.isArray(at)) return false;
    at = (at as Json)[path[i]!];
    if (Array.isArray(at) && i < path.length - 1) return false;
  }
  return true;
}

/** The message with only the masked fields (an Any's '@type' stays with it). */
export function trimToMask(body: Json, paths: string[][]): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === '@type') {
      out[key] = value;
      continue;
    }
    const under = paths.filter((p) => p[0] === key);
    if (under.length === 0) continue;
    if (under.some((p) => p.length === 1)) out[key] = value;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) out[key] = trimToMask(value as Json, under.map((p) => p.slice(1)));
  }
  return out;
}
