import { urlWithoutCredentials } from './service-url';

describe('urlWithoutCredentials', () => {
  it('drops the user and password and keeps host, port, path and query', () => {
    expect(urlWithoutCredentials('amqp://guest:s3cret@rabbit.internal:5671/prod?heartbeat=10')).toBe(
      'amqp://rabbit.internal:5671/prod?heartbeat=10',
    );
    expect(urlWithoutCredentials('postgres://root:pw@127.0.0.1:5432/notifications')).toBe(
      'postgres://127.0.0.1:5432/notifications',
    );
    expect(urlWithoutCredentials('redis://:only-a-password@[::1]:6379')).toBe('redis://[::1]:6379');
  });

  it('echoes nothing of a value that is not a URL', () => {
    expect(urlWithoutCredentials('guest:s3cret')).toBe('(not a URL)');
  });
});
