/** Body framing of a request or response as the codecs must write it. */
export interface BodyFraming {
  /** -1 when unknown (streamed). */
  contentLength: number;
  /** No body at all: the message ends with its head. */
  endStream: boolean;
}

/**
 * One request's handle on an upstream connection or stream, whatever the protocol:
 * the router writes through it and hears back through UpstreamExchange.
 */
export interface UpstreamRequest {
  /** True when the connection carried earlier requests: a stale keep-alive may reset before any response. */
  readonly reused: boolean;
  /** "ip:port" of this proxy's end of the connection [%UPSTREAM_LOCAL_ADDRESS%], once connected. */
  readonly localEndpoint: string | undefined;
  sendHead(method: string, path: string, authority: string, scheme: string, headers: string[], framing: BodyFraming): void;
  /** Writes body bytes; false means congested: wait for the exchange's onUpstreamDrain. */
  sendBody(chunk: Buffer): boolean;
  sendEnd(trailers: string[] | undefined): void;
  pauseResponse(): void;
  resumeResponse(): void;
  /** Gives up on this request; the connection or stream is reset, never reused mid-message. */
  abandon(): void;
}
