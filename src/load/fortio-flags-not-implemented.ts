/**
 * Flags `fortio load` takes that `bulwark load` does not implement: its profiling flag, its
 * logger's, gRPC compression, and the flags of
 * its servers and other commands, which `fortio load` accepts as they share one flag set
 * (cli/fortio_main.go, bincommon/commonflags.go, fortio.org/scli). A run given one says so rather
 * than calling it undefined, as Go's flag package would a misspelling.
 */
export const FORTIO_FLAGS_NOT_IMPLEMENTED = new Set([
  // Client and load tuning.
  'profile',
  // Fortio passes its gzip call option to the warm-up ping of each connection alone (fgrpc
  // RunGRPCTest), the counted calls going uncompressed; grpc-js compresses per channel, not per call,
  // so one connection cannot carry that one compressed call among the others.
  'grpc-compression',
  // Logger and dynamic flags.
  'logger-force-color', 'logger-no-color', 'logger-json', 'logger-timestamp', 'logger-file-line', 'logger-goroutine', 'config-dir', 'config-port',
  // Servers, proxies and other commands.
  'mtls', 'http-port', 'tcp-port', 'udp-port', 'udp-async', 'grpc-port', 'grpc-max-streams', 'echo-debug-path', 'ui-path', 'redirect-port',
  'maxpayloadsizekb', 'static-dir', 'sync', 'sync-interval', 'base-url', 'multi-mirror-origin', 'multi-serial-mode', 'echo-server-default-params',
  'proxy-all-headers', 'server-idle-timeout', 'max-echo-delay', 'pprof', 'P', 'M', 'nc-dont-stop-on-eof', 'health', 'init',
]);
