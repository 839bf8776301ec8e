import type {
  CertificateValidationContext,
  CommonTlsContext,
  DataSource,
  DownstreamTlsContext,
  Secret,
  StringMatcher,
  TlsCertificate,
  UpstreamTlsContext,
} from '../model/tls.js';
import { camelCaseKeys, FieldReader } from './field-reader.js';
import { readRegexMatcher } from './regex-matcher-reader.js';

/** Reads Envoy's StringMatcher: exactly one of exact / prefix / suffix / contains / safeRegex; `matchesWireBytes` as in readRegexMatcher. */
export function readStringMatcher(r: FieldReader, matchesWireBytes = false): StringMatcher {
  const m: StringMatcher = {
    exact: r.optStr('exact'),
    prefix: r.optStr('prefix'),
    suffix: r.optStr('suffix'),
    contains: r.optStr('contains'),
    ignoreCase: r.bool('ignoreCase', false),
  };
  const re = r.optObj('safeRegex');
  if (re) m.safeRegex = readRegexMatcher(re, matchesWireBytes);
  const set = [m.exact, m.prefix, m.suffix, m.contains, m.safeRegex].filter((v) => v !== undefined).length;
  r.done();
  if (set !== 1) r.fail('', 'exactly one of exact, prefix, suffix, contains, safeRegex is required');
  return m;
}

function readDataSource(r: FieldReader): DataSource {
  const ds: DataSource = { filename: r.optStr('filename'), inlineString: r.optStr('inlineString') };
  r.done();
  if ((ds.filename === undefined) === (ds.inlineString === undefined)) r.fail('', 'exactly one of filename, inlineString is required');
  return ds;
}

function readTlsCertificate(r: FieldReader): TlsCertificate {
  const cert: TlsCertificate = { certificateChain: readDataSource(r.obj('certificateChain')) };
  const pk = r.optObj('privateKey');
  if (pk) cert.privateKey = readDataSource(pk);
  const provider = r.optObj('privateKeyProvider');
  if (provider) {
    const typed = provider.optObj('typedConfig');
    cert.privateKeyProvider = { providerName: provider.nonEmptyStr('providerName'), typedConfig: typed ? camelCaseKeys(provider.raw('typedConfig') as Record<string, unknown>) : {} };
    provider.done();
  }
  r.done();
  if ((cert.privateKey === undefined) === (cert.privateKeyProvider === undefined)) {
    r.fail('', 'exactly one of privateKey, privateKeyProvider is required');
  }
  return cert;
}

/** The SAN types Envoy's deprecated matchSubjectAltNames checks a matcher against: every one it knows. */
const DEPRECATED_SAN_TYPES = ['DNS', 'URI', 'EMAIL', 'IP_ADDRESS'] as const;

function readValidationContext(r: FieldReader): CertificateValidationContext {
  const trusted = r.optObj('trustedCa');
  const typed = r.list('matchTypedSubjectAltNames', (m) => {
    const san = {
      sanType: m.oneOf('sanType', ['DNS', 'URI', 'EMAIL', 'IP_ADDRESS'] as const, 'URI'),
      matcher: readStringMatcher(m.obj('matcher')),
    };
    m.done();
    return san;
  });
  // The deprecated field, still common in configs: each matcher against a SAN of any type, as Envoy expands it.
  const untyped = r.list('matchSubjectAltNames', (m) => readStringMatcher(m));
  if (typed.length > 0 && untyped.length > 0) {
    r.fail('matchSubjectAltNames', 'SAN-based verification using both matchTypedSubjectAltNames and the deprecated matchSubjectAltNames is not allowed');
  }
  const vc: CertificateValidationContext = {
    trustedCa: trusted ? readDataSource(trusted) : undefined,
    matchTypedSubjectAltNames: [...typed, ...untyped.flatMap((matcher) => DEPRECATED_SAN_TYPES.map((sanType) => ({ sanType, matcher })))],
  };
  // Without a CA nothing proves the names belong to the peer: Envoy refuses this for the same reason.
  if ((vc.matchTypedSubjectAltNames?.length ?? 0) > 0 && !vc.trustedCa) {
    r.fail(untyped.length > 0 ? 'matchSubjectAltNames' : 'matchTypedSubjectAltNames', 'SAN-based verification of peer certificates without trustedCa is insecure and not allowed');
  }
  r.done();
  return vc;
}

function readCommonTlsContext(r: FieldReader): CommonTlsContext {
  const params = r.optObj('tlsParams');
  const ctx: CommonTlsContext = {
    tlsCertificates: r.list('tlsCertificates', readTlsCertificate),
    tlsCertificateSdsSecretConfigs: r.list('tlsCertificateSdsSecretConfigs', (s) => {
      s.ignore('sdsConfig');
      const out = { name: s.nonEmptyStr('name') };
      s.done();
      return out;
    }),
    // Envoy joins the list with commas and splits it again, so its edge example's ["h2,http/1.1"] offers both.
    alpnProtocols: r.strList('alpnProtocols').flatMap((p) => p.split(',')).map((p) => p.trim()).filter((p) => p !== ''),
  };
  // Envoy picks among several certificates by server name and key type; one context serves one here.
  if (ctx.tlsCertificates.length + ctx.tlsCertificateSdsSecretConfigs.length > 1) {
    r.fail(ctx.tlsCertificates.length > 1 ? 'tlsCertificates' : 'tlsCertificateSdsSecretConfigs', 'one certificate per TLS context is supported: serve others from filter chains matched by serverNames');
  }
  if (params) {
    const versions = ['TLSv1_2', 'TLSv1_3'] as const;
    ctx.tlsParams = {
      tlsMinimumProtocolVersion: params.oneOf('tlsMinimumProtocolVersion', versions, 'TLSv1_2'),
      tlsMaximumProtocolVersion: params.oneOf('tlsMaximumProtocolVersion', versions, 'TLSv1_3'),
      cipherSuites: params.has('cipherSuites') ? params.strList('cipherSuites') : undefined,
      ecdhCurves: params.has('ecdhCurves') ? params.strList('ecdhCurves') : undefined,
    };
    params.done();
  }
  const vc = r.optObj('validationContext');
  if (vc) ctx.validationContext = readValidationContext(vc);
  const vcSds = r.optObj('validationContextSdsSecretConfig');
  if (vcSds) {
    vcSds.ignore('sdsConfig');
    ctx.validationContextSdsSecretConfig = { name: vcSds.nonEmptyStr('name') };
    vcSds.done();
  }
  r.done();
  return ctx;
}

/** Reads a listener's transport socket: `{ name, typedConfig: DownstreamTlsContext }`. */
export function readDownstreamTls(r: FieldReader): DownstreamTlsContext {
  r.ignore('name');
  const t = r.obj('typedConfig');
  t.ignore('@type');
  const ctx: DownstreamTlsContext = {
    commonTlsContext: readCommonTlsContext(t.obj('commonTlsContext')),
    requireClientCertificate: t.bool('requireClientCertificate', false),
    sessionTimeout: t.optDuration('sessionTimeout'),
  };
  const c = ctx.commonTlsContext;
  if (c.tlsCertificates.length + c.tlsCertificateSdsSecretConfigs.length === 0) {
    t.fail('commonTlsContext', 'a TLS listener needs tlsCertificates or tlsCertificateSdsSecretConfigs');
  }
  if (ctx.requireClientCertificate && !c.validationContext && !c.validationContextSdsSecretConfig) {
    t.fail('requireClientCertificate', 'needs a validationContext to verify client certificates against');
  }
  t.done();
  r.done();
  return ctx;
}

/** Reads a cluster's transport socket: `{ name, typedConfig: UpstreamTlsContext }`. */
export function readUpstreamTls(r: FieldReader): UpstreamTlsContext {
  r.ignore('name');
  const t = r.obj('typedConfig');
  t.ignore('@type');
  const ctx: UpstreamTlsContext = {
    commonTlsContext: t.has('commonTlsContext')
      ? readCommonTlsContext(t.obj('commonTlsContext'))
      : { tlsCertificates: [], tlsCertificateSdsSecretConfigs: [], alpnProtocols: [] },
    sni: t.optStr('sni'),
  };
  t.done();
  r.done();
  return ctx;
}

/** Reads a static secret (SDS shape). */
export function readSecret(r: FieldReader): Secret {
  const tc = r.optObj('tlsCertificate');
  const vc = r.optObj('validationContext');
  const secret: Secret = {
    name: r.nonEmptyStr('name'),
    tlsCertificate: tc ? readTlsCertificate(tc) : undefined,
    validationContext: vc ? readValidationContext(vc) : undefined,
  };
  r.done();
  if (!secret.tlsCertificate === !secret.validationContext) r.fail('', 'exactly one of tlsCertificate, validationContext is required');
  return secret;
}
