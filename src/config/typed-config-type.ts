/**
 * The protobuf message a typed config is (`@type`, e.g. "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
 * → "envoy.extensions.filters.http.router.v3.Router"). A udpa/xds TypedStruct is a wrapper: the message
 * it carries is its own type_url. undefined when the config names no type.
 */
export function typedConfigMessage(typed: Record<string, unknown>): string | undefined {
  const url = typed['@type'];
  if (typeof url !== 'string' || url === '') return undefined;
  const message = messageOf(url);
  if (isTypedStructMessage(message)) {
    const inner = typed.typeUrl ?? typed.type_url;
    return typeof inner === 'string' && inner !== '' ? messageOf(inner) : message;
  }
  return message;
}

/** The config is a udpa/xds TypedStruct: the message's fields are under its `value`. */
export function isTypedStruct(typed: Record<string, unknown>): boolean {
  const url = typed['@type'];
  return typeof url === 'string' && isTypedStructMessage(messageOf(url));
}

function isTypedStructMessage(message: string): boolean {
  return message === 'udpa.type.v1.TypedStruct' || message === 'xds.type.v3.TypedStruct';
}

function messageOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}
