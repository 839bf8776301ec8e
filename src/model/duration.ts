/** Durations in the model are plain milliseconds; the edges (YAML, xDS) convert from "1.5s" or {seconds, nanos}. */
export type Milliseconds = number;
