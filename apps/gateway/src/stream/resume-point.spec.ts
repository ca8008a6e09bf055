import { resumePointOf } from './resume-point';

describe('resumePointOf', () => {
  it('takes Last-Event-ID over since, and neither as the end of the inbox', () => {
    expect(resumePointOf('42', '7')).toEqual({ since: 42 });
    expect(resumePointOf(' 42 ', undefined)).toEqual({ since: 42 });
    expect(resumePointOf(undefined, '7')).toEqual({ since: 7 });
    expect(resumePointOf('', '7')).toEqual({ since: 7 });
    expect(resumePointOf(undefined, undefined)).toEqual({ since: null });
    expect(resumePointOf('0', undefined)).toEqual({ since: 0 });
  });

  it.each(['abc', '-1', '1.5', '1e3', '0x10', '12345678901234567', '9007199254740993', '4 2'])(
    'refuses Last-Event-ID %j, naming the header',
    (value) => {
      expect(resumePointOf(value, undefined)).toEqual({
        error: expect.stringMatching(/^Last-Event-ID must be a notification id/),
      });
    },
  );

  it('refuses a since that is not one id', () => {
    expect(resumePointOf(undefined, 'x')).toEqual({ error: expect.stringMatching(/^since must be a notification id/) });
    expect(resumePointOf(undefined, ['1', '2'])).toEqual({ error: 'since must be given once' });
  });
});
