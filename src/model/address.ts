/** Envoy's core.v3.SocketAddress subset: an IP and a TCP port. */
export interface SocketAddress {
  address: string;
  portValue: number;
}

export interface Address {
  socketAddress: SocketAddress;
}
