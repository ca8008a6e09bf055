import { SocketErrorCode } from '@app/contracts';
import { INVALID_FRAME_EVENT, decodeClientFrame } from './client-frame.decoder';

describe('decodeClientFrame', () => {
  it('routes a known event with its data', () => {
    expect(decodeClientFrame('{"event":"ping","data":{"n":1}}')).toEqual({ event: 'ping', data: { n: 1 } });
  });

  it('keeps a ref for the answer, also on an unknown event', () => {
    expect(decodeClientFrame('{"event":"ping","data":1,"ref":"a"}')).toEqual({ event: 'ping', data: 1, ref: 'a' });
    expect(decodeClientFrame('{"event":"nope","ref":9}')).toMatchObject({ event: INVALID_FRAME_EVENT, ref: 9 });
  });

  it('refuses a ref that is not a short string or an integer', () => {
    expect(decodeClientFrame('{"event":"ping","ref":true}')).toEqual({
      event: INVALID_FRAME_EVENT,
      data: { code: SocketErrorCode.InvalidFrame, message: 'ref must be a string of 1-64 characters or an integer' },
    });
  });

  it.each([
    ['invalid JSON', '{"event":', SocketErrorCode.InvalidJson],
    ['a JSON string', '"ping"', SocketErrorCode.InvalidFrame],
    ['an array', '[{"event":"ping"}]', SocketErrorCode.InvalidFrame],
    ['null', 'null', SocketErrorCode.InvalidFrame],
    ['a non-string event', '{"event":1}', SocketErrorCode.InvalidFrame],
    ['an unknown event', '{"event":"subscribe","data":"Notifications_2"}', SocketErrorCode.UnknownEvent],
    ['the internal error event', `{"event":"${INVALID_FRAME_EVENT}","data":{}}`, SocketErrorCode.UnknownEvent],
    ['an inherited property name', '{"event":"constructor"}', SocketErrorCode.UnknownEvent],
  ])('answers %s with an error', (_, raw, code) => {
    const decoded = decodeClientFrame(raw);
    expect(decoded.event).toBe(INVALID_FRAME_EVENT);
    expect(decoded.data).toEqual({ code, message: expect.any(String) });
  });

  it('refuses frames nested deeper than the limit, counting only real brackets', () => {
    const deep = `{"event":"ping","data":${'['.repeat(40)}${']'.repeat(40)}}`;
    expect(decodeClientFrame(deep).data).toMatchObject({
      code: SocketErrorCode.InvalidFrame,
      message: expect.stringContaining('nests deeper'),
    });
    const bracketsInString = `{"event":"ping","data":"${'[{'.repeat(100)}"}`;
    expect(decodeClientFrame(bracketsInString)).toEqual({ event: 'ping', data: '[{'.repeat(100) });
  });

  it('refuses binary frames', () => {
    expect(decodeClientFrame(Buffer.from('{"event":"ping"}'))).toEqual({
      event: INVALID_FRAME_EVENT,
      data: { code: SocketErrorCode.BinaryNotSupported, message: expect.any(String) },
    });
  });
});
