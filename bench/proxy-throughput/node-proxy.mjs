// The Node peer: http-proxy with a keep-alive agent, the common way to proxy in Node.
import http from 'node:http';
import httpProxy from 'http-proxy';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, agent, xfwd: true });
proxy.on('error', (_err, _req, res) => {
  if (res.writeHead) {
    res.writeHead(502);
    res.end();
  }
});
http.createServer((req, res) => proxy.web(req, res)).listen(listenPort, '127.0.0.1');
