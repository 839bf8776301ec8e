/**
 * Envoy's GET /runtime: `{"entries": {...}, "layers": [...]}` with each key's value per layer and its
 * final value. Bulwark has no runtime layers (a bootstrap's layered_runtime is accepted and not read),
 * so both are empty: layers that change nothing would claim otherwise.
 */
export function renderRuntime(): string {
  // Envoy prints the Struct's fields sorted, with one-space indent and a final newline.
  return `${JSON.stringify({ entries: {}, layers: [] }, null, 1)}\n`;
}
