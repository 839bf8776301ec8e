import { execFile } from 'node:child_process';

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  httpVersion: string;
}

/** Runs the real curl; the response head and body are parsed from its output. */
export function curl(args: string[], timeoutMs = 10_000): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-i', '--max-time', String(timeoutMs / 1000), ...args], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && !stdout) return reject(new Error(`curl failed: ${stderr || err.message}`));
      // Skip interim 1xx heads (100 Continue).
      let rest = stdout;
      for (;;) {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) return reject(new Error(`unexpected curl output: ${stdout.slice(0, 200)}`));
        const head = rest.slice(0, end).split('\r\n');
        const m = /^HTTP\/([\d.]+) (\d+)/.exec(head[0]!);
        if (!m) return reject(new Error(`unexpected status line: ${head[0]}`));
        const status = Number(m[2]);
        rest = rest.slice(end + 4);
        if (status >= 100 && status < 200 && status !== 101) continue;
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const i = line.indexOf(':');
          const name = line.slice(0, i).toLowerCase();
          const value = line.slice(i + 1).trim();
          headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
        }
        return resolve({ status, headers, body: rest, httpVersion: m[1]! });
      }
    });
  });
}
