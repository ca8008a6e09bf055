import { describeServedRoutes } from './served-routes';

describe('describeServedRoutes', () => {
  it('lists the socket, the APIs, the pages and the probes, and whether the demo mint is on', () => {
    const served = describeServedRoutes({ DEMO_TOKEN_MINT: false, PUBLISH_API_TOKENS: [] }, true);
    for (const route of [
      '/ws/notifications/',
      '/api/tasks',
      '/api/publish',
      '/api/broadcast',
      '/docs',
      '/admin/',
      '/metrics',
      '/health/ready',
    ])
      expect(served).toContain(route);
    expect(served).toContain('demo token mint off');
    expect(describeServedRoutes({ DEMO_TOKEN_MINT: true, PUBLISH_API_TOKENS: ['x'.repeat(32)] }, true)).toMatch(
      /1 service tokens.*demo token mint ON/,
    );
  });

  it('says so when the pages are not built', () => {
    expect(describeServedRoutes({ DEMO_TOKEN_MINT: false, PUBLISH_API_TOKENS: [] }, false)).toContain(
      'no pages (dist/public missing)',
    );
  });
});
