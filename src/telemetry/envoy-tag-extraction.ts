/**
 * Envoy's default tag extraction (source/common/config/well_known_names.cc), the part that names
 * the stats Bulwark serves: a dotted stat name becomes a tag-extracted name and tags, which
 * /stats/prometheus prints as `envoy_<name>{<tag>="<value>"}`. As in Envoy's TagProducerImpl, the
 * extractors with no prefix word run first, then those of the name's first word, each in Envoy's
 * declaration order; each matches the full name, and what they captured is cut out at the end.
 */

/** A stat name with its tags taken out. */
export interface TagExtraction {
  /** The dotted name without the tag values, e.g. `cluster.upstream_rq` for `cluster.x.upstream_rq_200`. */
  name: string;
  /** Tags in extraction order: [tag name, value], e.g. ['envoy.response_code', '200']. */
  tags: Array<[string, string]>;
}

interface RegexExtractor {
  tag: string;
  /** Run only on names that contain it (Envoy's substr shortcut; it never changes the result). */
  substr: string;
  /** Group 1 is cut from the name; group 2, when present, is the value (else group 1). */
  regex: RegExp;
  /** A value that is not extracted (Envoy keeps `listener.admin.` in the name). */
  negative?: string;
}

// Envoy's <ADDRESS> and <TAG_VALUE> regex segments.
const ADDRESS = String.raw`(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`;
const TAG_VALUE = String.raw`[^\.]+`;

const WITHOUT_PREFIX: readonly RegexExtractor[] = [
  { tag: 'envoy.response_code', substr: '_rq_', regex: /_rq(_(\d{3}))$/d },
  { tag: 'envoy.response_code_class', substr: '_rq_', regex: /_rq_((\d))xx$/d },
  {
    tag: 'envoy.worker_id',
    substr: '',
    regex: new RegExp(String.raw`^(?:listener\.(?:${ADDRESS}|${TAG_VALUE})|server|listener_manager|thread_local_cluster_manager)\.worker_((\d+)\.)`, 'd'),
  },
];

/** Extractors by the first word of the name they apply to. */
const BY_PREFIX: ReadonlyMap<string, ReadonlyArray<RegexExtractor | string>> = new Map<string, ReadonlyArray<RegexExtractor | string>>([
  [
    'listener',
    [
      { tag: 'envoy.http_conn_manager_prefix', substr: '.http.', regex: new RegExp(String.raw`^listener\..*?\.http\.((${TAG_VALUE})\.)`, 'd') },
      { tag: 'envoy.listener_address', substr: '', regex: new RegExp(String.raw`^listener\.((${ADDRESS}|${TAG_VALUE})\.)`, 'd'), negative: 'admin' },
    ],
  ],
  // Envoy's tokenized `cluster.$.**` and `http.$.**`: the second word is the value.
  ['cluster', ['envoy.cluster_name']],
  ['http', ['envoy.http_conn_manager_prefix']],
]);

const cache = new Map<string, TagExtraction>();
const CACHE_LIMIT = 20_000;

/** The tag-extracted name and tags of a dotted stat name, as Envoy's default extractors produce them. */
export function extractTags(statName: string): TagExtraction {
  const cached = cache.get(statName);
  if (cached !== undefined) return cached;
  const tags: Array<[string, string]> = [];
  const cuts: Array<[number, number]> = [];
  for (const e of WITHOUT_PREFIX) applyRegex(e, statName, tags, cuts);
  const dot = statName.indexOf('.');
  for (const e of dot < 0 ? [] : (BY_PREFIX.get(statName.slice(0, dot)) ?? [])) {
    if (typeof e === 'string') applySecondWord(e, statName, dot, tags, cuts);
    else applyRegex(e, statName, tags, cuts);
  }
  const result = { name: cutOut(statName, cuts), tags };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(statName, result);
  return result;
}

/** The Prometheus name Envoy gives a tag-extracted name: `envoy_` and the name with every character but [a-zA-Z0-9_] as `_`. */
export function prometheusName(extractedName: string): string {
  return 'envoy_' + extractedName.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** A tag name as a Prometheus label name (`envoy.cluster_name` → `envoy_cluster_name`). */
export function prometheusLabel(tagName: string): string {
  return tagName.replace(/[^a-zA-Z0-9_]/g, '_');
}

function applyRegex(e: RegexExtractor, name: string, tags: Array<[string, string]>, cuts: Array<[number, number]>): void {
  if (e.substr !== '' && !name.includes(e.substr)) return;
  const m = e.regex.exec(name);
  if (m === null || m.indices === undefined) return;
  const value = m[2] ?? m[1]!;
  if (value === e.negative) return;
  tags.push([e.tag, value]);
  cuts.push(m.indices[1]!);
}

/** A tokenized `<prefix>.$.**` extractor: the word after the prefix, and its dot, when more words follow. */
function applySecondWord(tag: string, name: string, firstDot: number, tags: Array<[string, string]>, cuts: Array<[number, number]>): void {
  const start = firstDot + 1;
  const end = name.indexOf('.', start);
  if (end < 0 || end === name.length - 1) return;
  tags.push([tag, name.slice(start, end)]);
  cuts.push([start, end + 1]);
}

function cutOut(name: string, cuts: ReadonlyArray<[number, number]>): string {
  if (cuts.length === 0) return name;
  const keep = new Uint8Array(name.length).fill(1);
  for (const [from, to] of cuts) keep.fill(0, from, to);
  let out = '';
  for (let i = 0; i < name.length; i++) if (keep[i] === 1) out += name[i];
  return out;
}
