/** Configs of the peers, each with one worker and keep-alive to the upstream, logging like Bulwark does. */

export function upstreamNginx(port: number, dir: string): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/upstream.pid;
error_log ${dir}/upstream-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/ub; proxy_temp_path ${dir}/up; fastcgi_temp_path ${dir}/uf; uwsgi_temp_path ${dir}/uu; scgi_temp_path ${dir}/us;
  server {
    listen 127.0.0.1:${port};
    location / { default_type application/json; return 200 '{"service":"upstream","ok":true,"padding":"0123456789abcdef0123456789abcdef"}'; }
  }
}
`;
}

export function proxyNginx(port: number, upstreamPort: number, dir: string): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/proxy.pid;
error_log ${dir}/proxy-error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/nginx-access.log;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/pb; proxy_temp_path ${dir}/pp; fastcgi_temp_path ${dir}/pf; uwsgi_temp_path ${dir}/pu; scgi_temp_path ${dir}/ps;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
}

export function proxyHaproxy(port: number, upstreamPort: number, dir: string): string {
  return `global
  nbthread 1
  maxconn 4096
  log stdout format raw local0 info
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server s1 127.0.0.1:${upstreamPort}
# state dir: ${dir}
`;
}

export function bulwarkConfig(port: number, upstreamPort: number, adminPort: number, dir: string): string {
  return JSON.stringify({
    node: { id: 'bench-gateway', cluster: 'bench' },
    admin: { address: { socketAddress: { address: '127.0.0.1', portValue: adminPort } } },
    staticResources: {
      listeners: [
        {
          name: 'ingress',
          address: { socketAddress: { address: '127.0.0.1', portValue: port } },
          filterChains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typedConfig: {
                    statPrefix: 'ingress',
                    accessLog: [{ typedConfig: { path: `${dir}/bulwark-access.log` } }],
                    routeConfig: {
                      name: 'bench',
                      virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'upstream' } }] }],
                    },
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'upstream',
          connectTimeout: '1s',
          loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: upstreamPort } } } }] }] },
        },
      ],
    },
  });
}
