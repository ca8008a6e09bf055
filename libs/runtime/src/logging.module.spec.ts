import { parseAppConfig } from '@app/config';
import { prettyLogs, redactUrl } from './logging.module';

describe('redactUrl', () => {
  it('hides tokens in the query string and keeps the rest', () => {
    expect(redactUrl('/ws/notifications/?token=abc.def.ghi&since=4')).toBe(
      '/ws/notifications/?token=[REDACTED]&since=4',
    );
    expect(redactUrl('/x?a=1&access_token=secret')).toBe('/x?a=1&access_token=[REDACTED]');
    expect(redactUrl('/api/tasks?status=SUCCESS')).toBe('/api/tasks?status=SUCCESS');
  });
});

describe('prettyLogs', () => {
  it('is on for a developer at a terminal only', () => {
    expect(prettyLogs(parseAppConfig({}), { isTTY: true })).toBe(true);
    expect(prettyLogs(parseAppConfig({}), { isTTY: false })).toBe(false);
    expect(prettyLogs(parseAppConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }), { isTTY: true })).toBe(
      false,
    );
  });
});
