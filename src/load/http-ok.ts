/** Fortio's OK for an HTTP call (codeIsOK): a 2xx status or 418. */
export function httpOk(status: number): boolean {
  return (status >= 200 && status < 300) || status === 418;
}
