import type { AddressInfo } from 'node:net';

/** Where the gateway's server listens, as the start-up log says it. */
export interface BindAddress {
  /** For people: the interfaces and the port. */
  description: string;
  /** A URL that reaches the gateway from this machine. */
  localUrl: string;
}

/**
 * Node's `listen(port)` binds every interface (`::`, which takes IPv4 too; `0.0.0.0` where IPv6 is
 * off), and Nest's `getUrl()` then says `[::1]`, which reads as loopback only: say what it is.
 */
export function describeBindAddress({ address, port }: AddressInfo): BindAddress {
  if (address === '::')
    return { description: `every interface, IPv4 and IPv6 ([::]:${port})`, localUrl: `http://127.0.0.1:${port}` };
  if (address === '0.0.0.0')
    return { description: `every IPv4 interface (0.0.0.0:${port})`, localUrl: `http://127.0.0.1:${port}` };
  const host = address.includes(':') ? `[${address}]` : address;
  return { description: `${host}:${port} only`, localUrl: `http://${host}:${port}` };
}
