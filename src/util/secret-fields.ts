/**
 * Config field names whose values are secrets rather than references to them: a PIN, a password, a
 * passphrase, a secret, a private key, inline key or certificate material. `pinFile` and the like name a file and
 * are not secrets. Admin output hides these values, and error messages never echo them.
 */
const SECRET_FIELD = /^(?:pin|[a-z]*(?:Pin|PIN)|[a-z]*(?:password|Password|passphrase|Passphrase|secret|Secret)|privateKey|private_key|inlineString|inlineBytes|inline_string|inline_bytes)$/;

export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}
