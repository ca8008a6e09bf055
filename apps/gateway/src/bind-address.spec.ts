import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeBindAddress } from './bind-address';

describe('describeBindAddress', () => {
  it('says every interface for the unspecified addresses, not [::1]', () => {
    expect(describeBindAddress({ address: '::', family: 'IPv6', port: 3000 })).toEqual({
      description: 'every interface, IPv4 and IPv6 ([::]:3000)',
      localUrl: 'http://127.0.0.1:3000',
    });
    expect(describeBindAddress({ address: '0.0.0.0', family: 'IPv4', port: 80 }).description).toBe(
      'every IPv4 interface (0.0.0.0:80)',
    );
  });

  it('names one address when the server is bound to it', () => {
    expect(describeBindAddress({ address: '::1', family: 'IPv6', port: 3000 })).toEqual({
      description: '[::1]:3000 only',
      localUrl: 'http://[::1]:3000',
    });
    expect(describeBindAddress({ address: '10.1.2.3', family: 'IPv4', port: 3000 }).localUrl).toBe(
      'http://10.1.2.3:3000',
    );
  });

  it('describes what listen(port) really binds', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, resolve));
    try {
      const { description } = describeBindAddress(server.address() as AddressInfo);
      expect(description).toMatch(/^every (IPv4 )?interface/);
    } finally {
      server.close();
    }
  });
});
