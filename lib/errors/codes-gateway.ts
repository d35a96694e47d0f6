import type { ErrorCodeInfo } from './error-code-info.js';

export const gatewayErrors = {
  GATEWAY_ROUTES_INVALID: {
    summary: 'The gateway route table (routes.json) is not valid JSON or breaks a rule: duplicate routes, weights that do not add up to 100, an upstream that is not an http(s) URL, a route that shadows a gateway endpoint.',
    fix: 'Regenerate the file from models.yaml (`modelfleet gateway routes --fleet models.yaml --out routes.json`) instead of editing it by hand, or fix the entry the message names.',
  },
  GATEWAY_OPTION_INVALID: {
    summary: 'A gateway option (flag or environment variable such as PORT or UPSTREAM_TIMEOUT_MS) has a value the gateway cannot use.',
    fix: 'Pass a whole number in the range the message gives, e.g. `--port 8000` or `UPSTREAM_TIMEOUT_MS=5000`.',
  },
  GATEWAY_NGINX_UNSUPPORTED: {
    summary: '`modelfleet gateway nginx-config` met something in the route table that the nginx configuration cannot express: an https:// upstream, a sticky header whose name nginx does not read (only lower-case letters, digits and "-"), or a name or path with other characters.',
    fix: 'Serve those routes with the modelfleet gateway, or change models.yaml (plain http:// upstreams, a sticky header such as x-user-id), then generate the config again.',
  },
  GATEWAY_LISTEN_FAILED: {
    summary: 'The gateway could not listen on its host and port (the port is taken, or the address is not local).',
    fix: 'Stop whatever holds the port (`ss -ltnp`), or pick another one with `--port` / `PORT`.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
