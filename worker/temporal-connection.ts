// Where Temporal is: flags first, then the usual TEMPORAL_* environment variables. One message for every way of
// not reaching it, saying how to point unprune at a server.
import { readFileSync } from 'node:fs';

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer } | true;
  /** The Temporal UI base URL, for links. */
  uiUrl: string;
  /** True when neither a flag nor TEMPORAL_ADDRESS named a server. */
  defaulted: boolean;
}

export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  apiKey?: string;
  tls?: boolean;
  /** The Temporal UI's base URL, for the links submit prints. */
  uiUrl?: string;
}

export function temporalSettings(flags: ConnectionFlags = {}, env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = flags.address || env.TEMPORAL_ADDRESS || undefined;
  const apiKey = flags.apiKey ?? env.TEMPORAL_API_KEY;
  const cert = env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const key = env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  const ca = env.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  const wantTls = flags.tls || env.TEMPORAL_TLS === 'true' || !!cert || !!apiKey;
  const tls = wantTls
    ? cert || ca
      ? {
          clientCertPair: cert && key ? { crt: readFileSync(cert), key: readFileSync(key) } : undefined,
          serverRootCACertificate: ca ? readFileSync(ca) : undefined,
        }
      : (true as const)
    : undefined;
  return {
    address: address ?? 'localhost:7233',
    namespace: flags.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    apiKey,
    tls,
    // The compose stack's UI (infra/docker-compose.yml); `temporal server start-dev` serves one on 8233.
    uiUrl: (flags.uiUrl ?? env.UNPRUNE_TEMPORAL_UI ?? 'http://localhost:8080').replace(/\/+$/, ''),
    defaulted: !address,
  };
}

export const HOW_TO_CONNECT =
  'point unprune at a Temporal server with TEMPORAL_ADDRESS (or --address), start one with ' +
  '`temporal server start-dev`, or bring up the stack in infra/ (docker-compose -f infra/docker-compose.yml up)';

export class TemporalUnavailableError extends Error {
  constructor(what: string, cause?: unknown) {
    super(`${what}; ${HOW_TO_CONNECT}`, { cause });
    this.name = 'TemporalUnavailableError';
  }
}
