import { gatewayCommandFrame, parseGatewayCommand } from './gateway-command';

describe('GatewayCommand', () => {
  it.each([
    { type: 'disconnect', user_id: '42', reason: 'banned' },
    { type: 'disconnect', user_id: 'alice', reason: '' },
    { type: 'revoke_tokens', user_id: '7', cutoff: 1_800_000_000 },
  ] as const)('survives the trip: %j', (command) => {
    expect(parseGatewayCommand(gatewayCommandFrame(command))).toEqual(command);
  });

  it.each([
    ['not JSON', 'hello'],
    ['null', 'null'],
    ['an unknown type', '{"type":"reboot","user_id":"1"}'],
    ['no user', '{"type":"disconnect","reason":"x"}'],
    ['a user id that is no user id', '{"type":"disconnect","user_id":"1 OR *","reason":"x"}'],
    ['a reason over 123 bytes', JSON.stringify({ type: 'disconnect', user_id: '1', reason: 'é'.repeat(62) })],
    ['a string cut-off', '{"type":"revoke_tokens","user_id":"1","cutoff":"now"}'],
    ['a fractional cut-off', '{"type":"revoke_tokens","user_id":"1","cutoff":1.5}'],
  ])('refuses %s', (_, text) => {
    expect(parseGatewayCommand(text)).toBeNull();
  });
});
